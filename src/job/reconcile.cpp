#include "job/reconcile.hpp"

#include <ctime>
#include <filesystem>

#include <fmt/format.h>

#include "job/outputs.hpp"
#include "job/store_layout.hpp"
#include "qe/output_parser.hpp"

namespace fs = std::filesystem;

namespace qecloud {
namespace {

// Seconds since an ISO 8601 UTC time written by now_utc_iso8601(); nullopt when unreadable.
std::optional<double> age_s(const std::string& iso) {
  std::tm tm{};
  if (iso.size() < 19 || !strptime(iso.substr(0, 19).c_str(), "%Y-%m-%dT%H:%M:%S", &tm)) return std::nullopt;
  return std::difftime(std::time(nullptr), timegm(&tm));
}

std::string owner_text(const Owner& o) {
  return fmt::format("pid {} on {}", o.pid, o.host);
}

// What the store or the work directory says about a job whose owner is gone.
void what_is_known(const JobRecord& job, JobRecord& out) {
  try {
    auto store = storage::open_store(JobLocation::of_job_url(job.store_url, job.id).root_url);
    if (auto report = read_stored_report(*store, JobLocation::of_job_url(job.store_url, job.id))) {
      out.state = report->state;
      out.exit_code = report->exit_code;
      out.results = qe::to_json(report->results);
      out.message = fmt::format("its qecloud process ({}) is gone; the job's own report says {}{}",
                                owner_text(job.owner), to_string(report->state),
                                report->message.empty() ? "" : ": " + report->message);
      return;
    }
  } catch (const std::exception&) {  // the store may be gone too; what follows still holds
  }
  out.state = JobState::kLost;
  out.exit_code = kExitFailure;
  out.message =
      fmt::format("its qecloud process ({}) is gone (killed?) and left no report", owner_text(job.owner));
  const std::string work = job.remote.value("work_dir", std::string());
  const fs::path pw_out = fs::path(work) / output_name::kPwOut;
  if (work.empty() || !fs::exists(pw_out)) return;
  try {
    qe::Results r = qe::parse_output_file(pw_out.string());
    out.results = qe::to_json(r);
    out.message += fmt::format("; {} shows {} SCF iteration{}{}", pw_out.string(), r.scf_iterations,
                               r.scf_iterations == 1 ? "" : "s",
                               r.steps.size() > 1 ? fmt::format(" over {} ionic steps", r.steps.size()) : "");
  } catch (const std::exception&) {
  }
}

}  // namespace

void Heartbeat::tick() {
  const auto now = std::chrono::steady_clock::now();
  if (now - last_ < kHeartbeatInterval) return;
  last_ = now;
  try {
    db_.heartbeat(id_);
  } catch (const std::exception&) {
  }
}

JobRecord reconcile(JobDb& db, const JobRecord& job) {
  if (is_final(job.state) || job.owner.empty()) return job;
  bool gone = false;
  if (auto certain = owner_gone(job.owner)) {
    gone = *certain;
  } else if (auto age = age_s(job.heartbeat_at)) {
    gone = *age > static_cast<double>(kLostAfter.count());
  }
  if (!gone) return job;
  JobRecord out = job;
  what_is_known(job, out);
  // Another process may have reconciled it, or the owner finished meanwhile: only an active record changes.
  if (!db.read_only()) {
    db.finish_if_active(job.id, out.state, out.exit_code.value_or(kExitFailure), out.results, out.message);
    if (auto now = db.find(job.id)) return *now;
  }
  return out;
}

}  // namespace qecloud
