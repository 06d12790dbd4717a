#include "job/reconcile.hpp"

#include <ctime>
#include <filesystem>

#include <fmt/format.h>

#include "core/error.hpp"
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
  return o.empty() ? std::string("its qecloud process")
                   : fmt::format("its qecloud process (pid {} on {})", o.pid, o.host);
}

// The job's report in its store, when it left one (the main node of a multi-node job writes it).
std::optional<AgentReport> stored_report(const JobRecord& job) {
  try {
    const JobLocation loc = JobLocation::of_job_url(job.store_url, job.id);
    auto store = open_job_store(job);
    return read_stored_report(*store, loc);
  } catch (const std::exception&) {  // the store may be gone too; the job is then lost
    return std::nullopt;
  }
}

void adopt(const JobRecord& job, const AgentReport& report, JobRecord& out) {
  out.state = report.state;
  out.exit_code = report.exit_code;
  out.results = qe::to_json(report.results);
  out.message = fmt::format("the job's own report says {}{} ({} was gone)", to_string(report.state),
                            report.message.empty() ? "" : ": " + report.message, owner_text(job.owner));
}

// What the store or the work directory says about a job whose owner is gone.
void what_is_known(const JobRecord& job, JobRecord& out) {
  if (auto report = stored_report(job)) return adopt(job, *report, out);
  out.state = JobState::kLost;
  out.exit_code = kExitFailure;
  out.message = fmt::format("{} is gone (killed?) and left no report", owner_text(job.owner));
  const std::string work = job.remote.value("work_dir", std::string());
  const fs::path pw_out = fs::path(work) / output_name::kPwOut;
  if (work.empty() || !fs::exists(pw_out)) return;
  try {
    qe::Results r = qe::parse_output_file(pw_out.string());
    out.results = qe::to_json(r);
    // A run cut inside the SCF loop has printed its iterations' accuracies but not their count.
    const auto iterations =
        std::max<std::size_t>(static_cast<std::size_t>(r.scf_iterations), r.scf_accuracy_ry.size());
    out.message += fmt::format("; {} shows {} SCF iteration{}{}", pw_out.string(), iterations,
                               iterations == 1 ? "" : "s",
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
  // A lost multi-node job may still be finishing on its nodes: once its report is in the store, it says.
  if (job.state == JobState::kLost && job.remote.contains("nodes")) {
    auto report = stored_report(job);
    if (!report) return job;
    JobRecord out = job;
    adopt(job, *report, out);
    try {
      if (!db.read_only() && db.finish_if(job.id, {JobState::kLost}, out.state,
                                          out.exit_code.value_or(kExitFailure), out.results, out.message))
        return *db.find(job.id);
    } catch (const Error&) {  // not writable now: shown, recorded next time
    }
    return out;
  }
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
  // A database that cannot be written (read-only, a full disk) still shows what is true.
  if (!db.read_only()) {
    try {
      db.finish_if_active(job.id, out.state, out.exit_code.value_or(kExitFailure), out.results, out.message);
      if (auto now = db.find(job.id)) return *now;
    } catch (const Error&) {
    }
  }
  return out;
}

}  // namespace qecloud
