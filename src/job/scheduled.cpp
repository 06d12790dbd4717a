#include "job/scheduled.hpp"

#include <fmt/format.h>

#include "job/outputs.hpp"
#include "qe/results.hpp"

namespace qecloud {

void record_scheduled_end(JobDb& db, const JobRecord& job, JobState fallback, int fallback_exit,
                          const std::string& reason) {
  JobState state = fallback;
  int exit_code = fallback_exit;
  std::string message = reason;
  nlohmann::json results = nlohmann::json::object();
  try {
    const JobLocation loc = JobLocation::of_job_url(job.store_url, job.id);
    auto store = open_job_store(job);  // in the bucket's region when the record names one
    if (auto a = read_stored_report(*store, loc)) {
      state = a->state;
      exit_code = a->exit_code;
      if (!a->message.empty())
        message = reason.empty() ? a->message : fmt::format("{} ({})", a->message, reason);
      results = qe::to_json(a->results);
      if (!is_final(job.state))  // the main node's recoveries, each a transition as a local run records them
        for (const auto& h : a->history) db.set_state(job.id, JobState::kRunning, h);
    } else if (message.empty()) {
      message = "the main node left no report";
    }
  } catch (const std::exception& e) {
    message += fmt::format(" (the job's report could not be read: {})", e.what());
  }
  db.finish_if_active(job.id, state, exit_code, results, message);
}

}  // namespace qecloud
