#include "job/foreground.hpp"

#include <unistd.h>

#include <cerrno>
#include <csignal>
#include <cstring>
#include <filesystem>
#include <fstream>

#include <fmt/format.h>

#include "core/error.hpp"
#include "job/outputs.hpp"
#include "job/store_layout.hpp"

namespace fs = std::filesystem;

namespace qecloud {
namespace {

// The bytes of `path` from `offset` on, whole lines only (a line still being written waits for next time).
int print_new_lines(const std::string& path, int node, std::string& position,
                    const std::function<void(int, const std::string&)>& line) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return 0;
  const std::streamoff offset = position.empty() ? 0 : std::stoll(position);
  in.seekg(offset);
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  const auto last = text.rfind('\n');
  if (last == std::string::npos) return 0;
  int n = 0;
  for (std::size_t start = 0; start <= last;) {
    const auto nl = text.find('\n', start);
    line(node, text.substr(start, nl - start));
    ++n;
    start = nl + 1;
  }
  position = std::to_string(offset + static_cast<std::streamoff>(last + 1));
  return n;
}

}  // namespace

int read_job_logs(const JobRecord& job, const std::vector<LogFile>& logs,
                  std::map<std::string, std::string>& position,
                  const std::function<void(int, const std::string&)>& line) {
  const std::string work = job.remote.value("work_dir", std::string());
  int fresh = 0;
  std::unique_ptr<storage::ObjectStore> store;
  for (const auto& log : logs) {
    std::string& pos = position[log.name];
    const fs::path local = fs::path(work) / log.name;
    if (!work.empty() && fs::exists(local)) {
      fresh += print_new_lines(local.string(), log.node, pos, line);
      continue;
    }
    // The work directory is gone (or on another machine): the stored copy.
    const JobLocation loc = JobLocation::of_job_url(job.store_url, job.id);
    if (!store) store = open_job_store(job);
    if (!store->exists(loc.output_key(log.name))) continue;
    const fs::path tmp = fs::temp_directory_path() / fmt::format("qecloud-log-{}-{}", ::getpid(), log.name);
    store->get_file(loc.output_key(log.name), tmp.string());
    fresh += print_new_lines(tmp.string(), log.node, pos, line);
    std::error_code ec;
    fs::remove(tmp, ec);
  }
  return fresh;
}

void stop_owner(const JobRecord& job) {
  if (is_final(job.state))
    throw Error(fmt::format("job {} is not running: it ended {} ({})", job.id, to_string(job.state),
                            job.finished_at));
  if (job.owner.empty() || job.owner.host != this_host())
    throw Error(
        fmt::format("job {} is run by {} on {}: cancel it there", job.id,
                    job.owner.empty() ? std::string("no process") : fmt::format("pid {}", job.owner.pid),
                    job.owner.host.empty() ? std::string("an unknown host") : job.owner.host));
  if (owner_gone(job.owner).value_or(false))
    throw Error(fmt::format("job {}'s qecloud process (pid {}) is gone", job.id, job.owner.pid));
  if (::kill(job.owner.pid, SIGTERM) != 0)
    throw Error(fmt::format("cannot signal pid {}: {}", job.owner.pid, std::strerror(errno)));
}

std::vector<std::string> fetch_job_outputs(JobDb& db, const JobRecord& job, const std::string& dir) {
  const JobLocation loc = JobLocation::of_job_url(job.store_url, job.id);
  auto store = open_job_store(job);
  std::vector<std::string> written = fetch_outputs(*store, loc, dir);
  if (written.empty())
    throw Error(
        fmt::format("nothing under {}/output/ yet: the job has not stored its outputs (see `qecloud "
                    "status {}`)",
                    job.store_url, job.id));
  const fs::path report_path = fs::path(dir) / output_name::kReport;
  if (fs::exists(report_path) && (job.results.empty() || !is_final(job.state))) {
    std::ifstream in(report_path);
    std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    if (auto r = parse_report(text))
      db.finish(job.id, r->state, r->exit_code, qe::to_json(r->results),
                r->message.empty() ? job.message : r->message);
  }
  return written;
}

}  // namespace qecloud
