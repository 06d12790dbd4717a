#include "job/store_layout.hpp"

#include <filesystem>

#include <fmt/format.h>

#include "core/error.hpp"
#include "core/paths.hpp"

namespace fs = std::filesystem;

namespace qecloud {
namespace {
constexpr const char* kJobs = "jobs/";
}

std::string output_name::node_log(int node) {
  return fmt::format("node-{}.log", node);
}

std::string JobLocation::key() const {
  return kJobs + id;
}
std::string JobLocation::url() const {
  return root_url + "/" + key();
}
std::string JobLocation::input_prefix() const {
  return key() + "/input/";
}
std::string JobLocation::input_key(const std::string& rel) const {
  return input_prefix() + rel;
}
std::string JobLocation::output_prefix() const {
  return key() + "/output/";
}
std::string JobLocation::output_key(const std::string& name) const {
  return output_prefix() + name;
}

std::string JobLocation::secret_key() const {
  return key() + "/secret";
}

JobLocation JobLocation::of_job_url(const std::string& job_url, const std::string& id) {
  const std::string tail = "/" + std::string(kJobs) + id;
  if (id.empty() || job_url.size() <= tail.size() ||
      job_url.compare(job_url.size() - tail.size(), tail.size(), tail) != 0)
    throw Error(fmt::format("the job record's store URL '{}' does not end in {}", job_url, tail));
  return {job_url.substr(0, job_url.size() - tail.size()), id};
}

JobLocation JobLocation::of_key(const std::string& root_url, const std::string& key) {
  if (key.rfind(kJobs, 0) != 0 || key.size() == std::string(kJobs).size() ||
      key.find('/', std::string(kJobs).size()) != std::string::npos)
    throw Error(fmt::format("'{}' is not a job's key in a store (jobs/<id>)", key));
  std::string root = root_url;
  while (!root.empty() && root.back() == '/') root.pop_back();
  return {root, key.substr(std::string(kJobs).size())};
}

std::string default_store_url() {
  return "file://" + qecloud_home() + "/store";
}

std::string local_work_dir(const std::string& id) {
  return (fs::path(qecloud_home()) / "work" / id).string();
}

std::string InputBundle::run_dir_rel() const {
  return fs::path(input_rel).parent_path().string();
}

InputBundle input_bundle(const std::string& input_path, const qe::JobNeeds& needs) {
  const fs::path input = fs::absolute(input_path).lexically_normal();
  const fs::path dir = input.parent_path();
  const bool bundle_pseudos = !needs.pseudo_dir.empty() && fs::path(needs.pseudo_dir).is_relative();
  const fs::path pseudo_dir = (dir / needs.pseudo_dir).lexically_normal();
  // The deepest directory holding both the input and its pseudo_dir.
  fs::path root = dir;
  if (bundle_pseudos) {
    fs::path common;
    auto a = dir.begin(), b = pseudo_dir.begin();
    for (; a != dir.end() && b != pseudo_dir.end() && *a == *b && !a->empty(); ++a, ++b) common /= *a;
    root = common.empty() ? fs::path("/") : common;
  }
  InputBundle out;
  out.input_rel = input.lexically_relative(root).string();
  out.files.push_back({input.string(), out.input_rel});
  if (bundle_pseudos)
    for (const auto& p : needs.pseudos) {
      if (p.path.empty()) continue;
      const fs::path at = (pseudo_dir / p.file).lexically_normal();
      out.files.push_back(
          {fs::absolute(p.path).lexically_normal().string(), at.lexically_relative(root).string()});
    }
  return out;
}

}  // namespace qecloud
