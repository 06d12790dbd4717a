// The job's secret, when the scheduler would publish the environment (AWS Batch's DescribeJobs shows a job's
// environment to anyone allowed to describe jobs): the nodes read it from the job's store, where only the
// job's role may read.
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include <fmt/format.h>

#include "agent/agent.hpp"
#include "core/error.hpp"
#include "job/store_layout.hpp"
#include "storage/object_store.hpp"

namespace fs = std::filesystem;

namespace qecloud::agent {

void read_secret_from_store(NodeContract& c) {
  if (!c.secret.empty() || !c.secret_in_store) return;
  if (c.store_url.empty() || c.store_job.empty())
    throw UsageError(fmt::format("{} is set but {} and {} are not: nowhere to read the job's secret from",
                                 node_var::kSecretInStore, node_var::kStore, node_var::kStoreJob));
  const JobLocation loc = JobLocation::of_key(c.store_url, c.store_job);
  auto store = storage::open_store(c.store_url, {c.store_region});
  fs::create_directories(c.work_root);
  const fs::path tmp = fs::path(c.work_root) / fmt::format(".secret-{}", ::getpid());
  const mode_t old = ::umask(077);
  try {
    store->get_file(loc.secret_key(), tmp.string());
  } catch (const std::exception& e) {
    ::umask(old);
    throw Error(
        fmt::format("cannot read the job's secret from {}: {}", store->url(loc.secret_key()), e.what()));
  }
  ::umask(old);
  std::ifstream in(tmp);
  std::getline(in, c.secret);
  std::error_code ec;
  fs::remove(tmp, ec);
  c.check_secret();
}

std::string write_secret_file(const NodeContract& c, const std::string& dir) {
  const fs::path path = fs::path(dir) / ".job-secret";
  const mode_t old = ::umask(077);
  std::ofstream(path, std::ios::trunc) << c.secret << '\n';
  ::umask(old);
  ::chmod(path.c_str(), 0600);
  return path.string();
}

}  // namespace qecloud::agent
