// `qecloud store ls|cp|rm URL…`: look at and move what jobs left in a store (file:// or s3://), with the
// same code the runs and the agent use to write it.
#include <unistd.h>

#include <chrono>
#include <filesystem>

#include <fmt/format.h>
#include <CLI/CLI.hpp>

#include "cli/commands.hpp"
#include "core/error.hpp"
#include "core/json_text.hpp"
#include "storage/object_store.hpp"
#include "storage/s3_store.hpp"

namespace qecloud::cli {
namespace {
namespace fs = std::filesystem;

bool is_url(const std::string& s) {
  return s.rfind("s3://", 0) == 0 || s.rfind("file://", 0) == 0;
}

// A store and a key within it, from "s3://bucket/key…" or "file:///path…".
struct Located {
  std::unique_ptr<storage::ObjectStore> store;
  std::string key;
};

Located locate(const std::string& url) {
  if (url.rfind("s3://", 0) == 0) {
    const std::string rest = url.substr(5);
    const auto slash = rest.find('/');
    return {storage::open_store("s3://" + rest.substr(0, slash)),
            slash == std::string::npos ? "" : rest.substr(slash + 1)};
  }
  std::string path = url.substr(7);
  if (path.empty() || path[0] != '/')
    throw UsageError(fmt::format("'{}': a file:// URL needs an absolute path", url));
  return {storage::open_store("file:///"), path.substr(1)};
}

std::string basename_of(const std::string& key) {
  auto k = key;
  while (!k.empty() && k.back() == '/') k.pop_back();
  return k.substr(k.rfind('/') == std::string::npos ? 0 : k.rfind('/') + 1);
}

std::string join_key(const std::string& dir, const std::string& name) {
  if (dir.empty()) return name;
  return dir.back() == '/' ? dir + name : dir + "/" + name;
}

struct Tally {
  int files = 0;
  std::uint64_t bytes = 0;
  nlohmann::json items = nlohmann::json::array();
};

class Reporter {
 public:
  explicit Reporter(bool quiet) : quiet_(quiet) {}
  void done(Tally& t, const std::string& from, const std::string& to, std::uint64_t bytes,
            std::chrono::steady_clock::time_point start) {
    const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    ++t.files;
    t.bytes += bytes;
    t.items.push_back({{"from", from}, {"to", to}, {"bytes", bytes}, {"seconds", s}});
    if (!quiet_)
      fmt::print(stderr, "copied {} → {} ({:.1f} MiB in {:.2f} s, {:.0f} MiB/s)\n", from, to,
                 bytes / 1048576.0, s, s > 0 ? bytes / 1048576.0 / s : 0.0);
  }

 private:
  bool quiet_;
};

void copy_one(const std::string& src, const std::string& dst, Tally& t, Reporter& rep) {
  const auto start = std::chrono::steady_clock::now();
  if (!is_url(src) && is_url(dst)) {
    auto d = locate(dst);
    d.store->put_file(src, d.key);
    rep.done(t, src, d.store->url(d.key), fs::file_size(src), start);
  } else if (is_url(src) && !is_url(dst)) {
    auto s = locate(src);
    s.store->get_file(s.key, dst);
    rep.done(t, s.store->url(s.key), dst, fs::file_size(dst), start);
  } else if (is_url(src) && is_url(dst)) {
    auto s = locate(src);
    auto d = locate(dst);
    const std::string tmp = fmt::format("{}/qecloud-cp-{}", fs::temp_directory_path().string(), ::getpid());
    try {
      s.store->get_file(s.key, tmp);
      d.store->put_file(tmp, d.key);
    } catch (...) {
      fs::remove(tmp);
      throw;
    }
    const auto bytes = fs::file_size(tmp);
    fs::remove(tmp);
    rep.done(t, s.store->url(s.key), d.store->url(d.key), bytes, start);
  } else {
    throw UsageError(
        "one of SRC and DST must be a store URL (s3://… or file://…); use cp(1) for local files");
  }
}

int store_ls(const std::string& url, bool json) {
  auto l = locate(url);
  auto objects = l.store->list(l.key);
  if (json) {
    nlohmann::json a = nlohmann::json::array();
    for (const auto& o : objects)
      a.push_back({{"url", l.store->url(o.key)}, {"key", o.key}, {"size", o.size}});
    fmt::print("{}\n", json_text(a));
    return kExitOk;
  }
  std::uint64_t total = 0;
  for (const auto& o : objects) {
    fmt::print("{:>14}  {}\n", o.size, l.store->url(o.key));
    total += o.size;
  }
  fmt::print(stderr, "{} objects, {} bytes\n", objects.size(), total);
  return kExitOk;
}

int store_cp(const std::string& src, const std::string& dst, bool recursive, bool quiet, bool json) {
  Tally t;
  Reporter rep(quiet || json);
  if (!recursive) {
    std::string to = dst;
    if (!is_url(src) && fs::is_directory(src))
      throw UsageError(fmt::format("{} is a directory (use --recursive)", src));
    if (is_url(dst) && dst.back() == '/') to = dst + basename_of(is_url(src) ? locate(src).key : src);
    if (!is_url(dst) && fs::is_directory(dst)) to = (fs::path(dst) / basename_of(locate(src).key)).string();
    copy_one(src, to, t, rep);
  } else if (!is_url(src)) {
    if (!fs::is_directory(src)) throw UsageError(fmt::format("{} is not a directory", src));
    for (const auto& e : fs::recursive_directory_iterator(src)) {
      if (!e.is_regular_file()) continue;
      copy_one(e.path().string(), join_key(dst, fs::relative(e.path(), src).generic_string()), t, rep);
    }
  } else {
    auto s = locate(src);
    std::string prefix = s.key;
    if (!prefix.empty() && prefix.back() != '/') prefix += '/';
    auto objects = s.store->list(prefix);
    if (objects.empty()) throw Error(fmt::format("nothing under {}", src));
    for (const auto& o : objects) {
      const std::string rel = o.key.substr(prefix.size());
      if (is_url(dst)) {
        copy_one(s.store->url(o.key), join_key(dst, rel), t, rep);
      } else {
        fs::path local = fs::path(dst) / rel;
        fs::create_directories(local.parent_path());
        copy_one(s.store->url(o.key), local.string(), t, rep);
      }
    }
  }
  if (json) fmt::print("{}\n", json_text({{"files", t.files}, {"bytes", t.bytes}, {"copies", t.items}}));
  return kExitOk;
}

int store_rm(const std::vector<std::string>& urls, bool recursive, bool quiet) {
  for (const auto& url : urls) {
    auto l = locate(url);
    std::vector<std::string> keys;
    if (recursive) {
      std::string prefix = l.key;
      if (!prefix.empty() && prefix.back() != '/') prefix += '/';
      for (const auto& o : l.store->list(prefix)) keys.push_back(o.key);
    } else {
      if (!l.store->exists(l.key))
        throw Error(fmt::format("{}: no such object (use --recursive for a prefix)", url));
      keys.push_back(l.key);
    }
    for (const auto& k : keys) {
      l.store->remove(k);
      if (!quiet) fmt::print(stderr, "removed {}\n", l.store->url(k));
    }
  }
  return kExitOk;
}

}  // namespace

int cmd_store(std::vector<std::string> args) {
  CLI::App app{
      "Look at and copy what jobs left in a store: s3://bucket/key or file:///path.\n"
      "S3: credentials, region and endpoint from the standard AWS environment and ~/.aws files\n"
      "(AWS_ENDPOINT_URL_S3 points at any S3-compatible server).",
      args[0]};
  app.require_subcommand(1);
  bool json = false, recursive = false, quiet = false;
  std::string ls_url, src, dst;
  std::vector<std::string> rm_urls;
  auto* ls = app.add_subcommand("ls", "list the objects under a URL (recursively), with their sizes");
  ls->add_option("URL", ls_url, "s3://bucket[/prefix] or file:///dir")->required();
  ls->add_flag("--json", json, "print a JSON array");
  auto* cp = app.add_subcommand("cp", "copy between the local disk and a store, checksums verified");
  cp->add_option("SRC", src, "a local path or a URL")->required();
  cp->add_option("DST", dst, "a local path or a URL (ending in / for 'into')")->required();
  cp->add_flag("-r,--recursive", recursive, "copy a directory or a whole prefix");
  cp->add_flag("-q,--quiet", quiet, "no per-file lines on stderr");
  cp->add_flag("--json", json, "print a JSON summary");
  auto* rm = app.add_subcommand("rm", "delete objects");
  rm->add_option("URL", rm_urls, "one or more URLs")->required();
  rm->add_flag("-r,--recursive", recursive, "delete everything under each URL's prefix");
  rm->add_flag("-q,--quiet", quiet, "no per-object lines on stderr");
  if (auto rc = parse_command_line(app, args)) return *rc;
  if (ls->parsed()) {
    if (!is_url(ls_url))
      throw UsageError(fmt::format("'{}' is not a store URL (s3://… or file://…)", ls_url));
    return store_ls(ls_url, json);
  }
  if (cp->parsed()) return store_cp(src, dst, recursive, quiet, json);
  for (const auto& u : rm_urls)
    if (!is_url(u)) throw UsageError(fmt::format("'{}' is not a store URL (s3://… or file://…)", u));
  return store_rm(rm_urls, recursive, quiet);
}

}  // namespace qecloud::cli
