#include "agent/restart_collect.hpp"

#include <algorithm>
#include <set>

#include <fmt/format.h>

namespace fs = std::filesystem;

namespace qecloud::agent {
namespace {

// Files per round of store_restart_files (it stores them a few at a time); the deadline is checked between
// rounds, so a round is what may overrun it.
constexpr std::size_t kFilesPerRound = 8;

bool leaves_work_dir(const fs::path& rel) {
  int depth = 0;
  for (const auto& part : rel.lexically_normal()) {
    if (part == "..")
      --depth;
    else if (part != "." && !part.empty())
      ++depth;
    if (depth < 0) return true;
  }
  return false;
}

}  // namespace

nlohmann::json to_json(const StoreRequest& r) {
  return {{"outdir", r.outdir}, {"prefix", r.prefix}, {"seconds", r.seconds}};
}

std::optional<StoreRequest> store_request_of(const nlohmann::json& j, std::string& why) {
  StoreRequest r;
  try {
    r.outdir = j.at("outdir").get<std::string>();
    r.prefix = j.at("prefix").get<std::string>();
    r.seconds = j.value("seconds", 0.0);
  } catch (const nlohmann::json::exception& e) {
    why = std::string("malformed store request: ") + e.what();
    return std::nullopt;
  }
  if (r.prefix.empty() || r.prefix.find('/') != std::string::npos || r.prefix == "." || r.prefix == "..")
    why = fmt::format("the prefix '{}' is not a file name", r.prefix);
  else if (r.outdir.empty() || (fs::path(r.outdir).is_relative() && leaves_work_dir(r.outdir)))
    why = fmt::format("the outdir '{}' is not inside the job's work directory", r.outdir);
  else if (!(r.seconds >= 0))
    why = fmt::format("a negative time ({} s)", r.seconds);
  if (!why.empty()) return std::nullopt;
  return r;
}

nlohmann::json to_json(const StoredPart& p) {
  return {{"files", files_json(p.part)}, {"failed", p.failed}};
}

std::optional<StoredPart> stored_part_of(const nlohmann::json& j, int node) {
  try {
    return StoredPart{{node, files_of(j.at("files"))}, j.at("failed").get<std::vector<std::string>>()};
  } catch (const nlohmann::json::exception&) {
    return std::nullopt;
  }
}

NodeFiles node_restart_files(const std::string& outdir, const std::string& prefix, fs::file_time_type since) {
  NodeFiles out;
  for (auto& f : find_restart_files(outdir, prefix)) {
    std::error_code ec;
    const auto written = fs::last_write_time(f.path, ec);
    (!ec && written <= since ? out.stale : out.fresh).push_back(std::move(f));
  }
  return out;
}

StoredPart store_part_until(storage::ObjectStore& store, const JobLocation& loc, int node,
                            const std::vector<RestartFile>& files, const Deadline& deadline) {
  StoredPart out{{node, {}}, {}};
  for (std::size_t i = 0; i < files.size(); i += kFilesPerRound) {
    const auto end = files.begin() + static_cast<long>(std::min(files.size(), i + kFilesPerRound));
    if (const auto by = deadline ? deadline() : std::nullopt; by && SteadyClock::now() >= *by) {
      for (auto it = files.begin() + static_cast<long>(i); it != files.end(); ++it)
        out.failed.push_back(it->name + " (the SIGKILL window closed first)");
      break;
    }
    StoredPart round = store_restart_files(store, loc, node, {files.begin() + static_cast<long>(i), end});
    for (auto& f : round.part.files) out.part.files.push_back(std::move(f));
    for (auto& f : round.failed) out.failed.push_back(std::move(f));
  }
  return out;
}

RestartManifest merge_restart_parts(const std::string& prefix, int nodes, int ranks, int pools,
                                    const StoredPart& main, const std::vector<ChildAnswer>& children) {
  RestartManifest m;
  m.prefix = prefix, m.nodes = nodes, m.ranks = ranks, m.pools = pools;
  std::vector<std::string> problems;
  auto take = [&](const StoredPart& p) {
    if (!p.part.files.empty()) m.parts.push_back(p.part);
    if (!p.failed.empty()) {
      std::string list;
      for (const auto& f : p.failed) list += (list.empty() ? "" : ", ") + f;
      problems.push_back(fmt::format("node {}: not stored: {}", p.part.node, list));
    }
  };
  take(main);
  std::vector<ChildAnswer> sorted = children;
  std::sort(sorted.begin(), sorted.end(), [](const auto& a, const auto& b) { return a.node < b.node; });
  for (const auto& c : sorted) {
    if (c.stored)
      take(*c.stored);
    else
      problems.push_back(fmt::format("node {} {}: its part is missing", c.node, c.missing));
  }
  for (const auto& p : problems) m.note += (m.note.empty() ? "" : "; ") + p;
  m.complete = problems.empty() && !m.parts.empty();
  return m;
}

nlohmann::json report_json(const RestartManifest& m) {
  nlohmann::json j = summary_json(m);
  j["nodes"] = to_json(m).at("parts");  // the manifest's own list
  return j;
}

}  // namespace qecloud::agent
