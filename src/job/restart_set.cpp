#include "job/restart_set.hpp"

#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>

#include <fmt/format.h>

#include "core/error.hpp"
#include "core/json_text.hpp"
#include "core/text.hpp"
#include "job/outputs.hpp"

namespace fs = std::filesystem;

namespace qecloud {
namespace {

constexpr const char* kManifest = "restart.json";

bool restart_name(const std::string& name, const std::string& prefix) {
  return name.rfind(prefix + ".", 0) == 0 && name != prefix + ".EXIT";
}

// "node-<i>/<name>" → i and name; node 0's files are at the top of output/.
std::pair<int, std::string> split_node(const std::string& rel) {
  if (rel.rfind("node-", 0) != 0) return {0, rel};
  const auto slash = rel.find('/');
  if (slash == std::string::npos) return {-1, rel};
  int node = 0;
  for (std::size_t i = 5; i < slash; ++i) {
    if (!std::isdigit(static_cast<unsigned char>(rel[i]))) return {-1, rel};
    node = node * 10 + (rel[i] - '0');
  }
  return {node, rel.substr(slash + 1)};
}

}  // namespace

std::vector<RestartFile> find_restart_files(const std::string& outdir, const std::string& prefix) {
  std::vector<RestartFile> out;
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(outdir, ec)) {
    const std::string name = e.path().filename().string();
    if (!restart_name(name, prefix)) continue;
    if (e.is_regular_file(ec)) {
      out.push_back({e.path().string(), name, e.file_size(ec)});
    } else if (e.is_directory(ec) && name == prefix + ".save") {
      for (auto it = fs::recursive_directory_iterator(e.path(), ec);
           !ec && it != fs::recursive_directory_iterator(); it.increment(ec))
        if (it->is_regular_file())
          out.push_back({it->path().string(),
                         (fs::path(name) / it->path().lexically_relative(e.path())).string(),
                         it->file_size()});
    }
  }
  std::sort(out.begin(), out.end(), [](const auto& a, const auto& b) { return a.name < b.name; });
  return out;
}

std::string restart_key(const JobLocation& loc, int node, const std::string& name) {
  return loc.output_key(node == 0 ? name : fmt::format("node-{}/{}", node, name));
}

std::uintmax_t RestartManifest::bytes() const {
  std::uintmax_t b = 0;
  for (const auto& p : parts)
    for (const auto& f : p.files) b += f.second;
  return b;
}

int RestartManifest::file_count() const {
  int n = 0;
  for (const auto& p : parts) n += static_cast<int>(p.files.size());
  return n;
}

std::string RestartManifest::summary() const {
  std::string s =
      fmt::format("{} file{}, {:.1f} MB from {} node{}", file_count(), file_count() == 1 ? "" : "s",
                  static_cast<double>(bytes()) / 1e6, parts.size(), parts.size() == 1 ? "" : "s");
  return complete ? s + ", whole" : s + ", NOT whole" + (note.empty() ? "" : ": " + note);
}

nlohmann::json files_json(const RestartManifest::Node& n) {
  nlohmann::json files = nlohmann::json::array();
  for (const auto& [name, bytes] : n.files) files.push_back({{"name", name}, {"bytes", bytes}});
  return files;
}

RestartManifest::Node::Files files_of(const nlohmann::json& files) {
  RestartManifest::Node::Files out;
  for (const auto& f : files)
    out.emplace_back(f.at("name").get<std::string>(), f.at("bytes").get<std::uintmax_t>());
  return out;
}

nlohmann::json summary_json(const RestartManifest& m) {
  return {{"files", m.file_count()}, {"bytes", m.bytes()}, {"complete", m.complete}, {"note", m.note}};
}

nlohmann::json to_json(const RestartManifest& m) {
  nlohmann::json parts = nlohmann::json::array();
  for (const auto& p : m.parts) parts.push_back({{"node", p.node}, {"files", files_json(p)}});
  return {{"prefix", m.prefix}, {"complete", m.complete},
          {"note", m.note},     {"layout", {{"nodes", m.nodes}, {"ranks", m.ranks}, {"pools", m.pools}}},
          {"bytes", m.bytes()}, {"parts", parts}};
}

std::optional<RestartManifest> restart_manifest_of(const nlohmann::json& j) {
  if (!j.is_object() || !j.contains("parts")) return std::nullopt;
  try {
    RestartManifest m;
    m.prefix = j.value("prefix", std::string());
    m.complete = j.value("complete", false);
    m.note = j.value("note", std::string());
    const auto layout = j.value("layout", nlohmann::json::object());
    m.nodes = layout.value("nodes", 1), m.ranks = layout.value("ranks", 1),
    m.pools = layout.value("pools", 1);
    for (const auto& p : j.at("parts")) m.parts.push_back({p.value("node", 0), files_of(p.at("files"))});
    return m;
  } catch (const nlohmann::json::exception&) {
    return std::nullopt;
  }
}

StoredPart store_restart_files(storage::ObjectStore& store, const JobLocation& loc, int node,
                               const std::vector<RestartFile>& files) {
  std::vector<PutFile> puts;
  for (const auto& f : files) puts.push_back({f.path, restart_key(loc, node, f.name), f.name});
  const StoreReport r = put_files(store, puts);
  StoredPart out{{node, {}}, r.failed};
  for (const auto& f : files)
    if (std::find(r.stored.begin(), r.stored.end(), f.name) != r.stored.end())
      out.part.files.emplace_back(f.name, f.bytes);
  return out;
}

RestartManifest store_restart_set(storage::ObjectStore& store, const JobLocation& loc,
                                  const std::string& outdir, const std::string& prefix, int ranks, int pools,
                                  const std::string& untrusted) {
  RestartManifest m;
  m.prefix = prefix, m.nodes = 1, m.ranks = ranks, m.pools = pools;
  const auto files = find_restart_files(outdir, prefix);
  if (files.empty()) return m;
  StoredPart part = store_restart_files(store, loc, 0, files);
  m.complete = part.failed.empty();
  for (const auto& f : part.failed) m.note += (m.note.empty() ? "not stored: " : "; ") + f;
  m.parts.push_back(std::move(part.part));
  distrust(m, untrusted);
  try {
    write_restart_manifest(store, loc, m);
  } catch (const std::exception& e) {  // a full store: the set cannot be trusted without its manifest
    m.complete = false;
    m.note += fmt::format("{}the manifest was not stored ({})", m.note.empty() ? "" : "; ", e.what());
  }
  return m;
}

std::string untrusted_restart(bool killed, const std::optional<std::string>& lost, bool job_done) {
  if (killed) return "pw.x was killed after its grace period: its restart files may be torn";
  if (lost) return "a node was lost while pw.x ran (" + *lost + "): its restart files may be torn";
  if (!job_done) return "pw.x did not end cleanly (no JOB DONE): its restart files may be torn";
  return {};
}

void distrust(RestartManifest& m, const std::string& why) {
  if (why.empty()) return;
  m.complete = false;
  m.note = why + (m.note.empty() ? "" : "; " + m.note);
}

void write_restart_manifest(storage::ObjectStore& store, const JobLocation& loc, const RestartManifest& m) {
  const fs::path tmp =
      fs::temp_directory_path() / fmt::format("qecloud-restart-{}-{}.json", loc.id, ::getpid());
  {
    std::ofstream out(tmp);
    out << json_text(to_json(m)) << '\n';
    out.flush();
    if (!out) throw Error(fmt::format("{}: cannot write the restart manifest", tmp.string()));
  }
  try {
    store.put_file(tmp.string(), loc.output_key(kManifest));
  } catch (...) {
    std::error_code ec;
    fs::remove(tmp, ec);
    throw;
  }
  std::error_code ec;
  fs::remove(tmp, ec);
}

std::optional<RestartManifest> read_restart_manifest(storage::ObjectStore& store, const JobLocation& loc) {
  const auto text = read_stored_output(store, loc, kManifest);
  return text ? restart_manifest_of(nlohmann::json::parse(*text, nullptr, false)) : std::nullopt;
}

RestoredSet fetch_restart_files(storage::ObjectStore& store, const JobLocation& from,
                                const std::string& prefix, const std::string& outdir) {
  const std::string root = from.output_prefix();
  std::vector<std::pair<int, std::string>> keys;  // node, key
  for (const auto& obj : store.list(root)) {
    const auto [node, name] = split_node(obj.key.substr(root.size()));
    if (node >= 0 && restart_name(name.substr(0, name.find('/')), prefix)) keys.emplace_back(node, obj.key);
  }
  if (keys.empty())
    throw Error(
        fmt::format("job {} has no restart data for prefix '{}' in {}", from.id, prefix, store.url(root)));
  // Node 0's last: where two nodes wrote the same file (the .save's XML), the main's stands.
  std::stable_sort(keys.begin(), keys.end(), [](const auto& a, const auto& b) { return a.first > b.first; });
  RestoredSet r;
  std::error_code ec;
  fs::remove(fs::path(outdir) / (prefix + ".EXIT"), ec);  // a stale one would stop pw.x at once
  for (const auto& [node, key] : keys) {
    const std::string name = split_node(key.substr(root.size())).second;
    const fs::path dest = fs::path(outdir) / name;
    fs::create_directories(dest.parent_path());
    store.get_file(key, dest.string());
    ++r.files;
    r.bytes += fs::file_size(dest, ec);
  }
  return r;
}

}  // namespace qecloud
