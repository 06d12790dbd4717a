#pragma once
// Jobs that a qecloud process on this machine carries through to the end (local runs, netns rehearsals):
// what `status`, `logs`, `cancel` and `fetch` do for them, whichever backend ran them. Their state is the
// reconciled record (job/reconcile.hpp); their logs are files in the work directory while the job runs and
// in the store afterwards; cancelling one asks its owner to stop it as Ctrl-C would (SIGTERM → pw.x's EXIT
// file → a clean stop with restart data stored).
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "job/database.hpp"

namespace qecloud {

struct LogFile {
  int node = 0;
  std::string name;  // an output name (job/store_layout.hpp): "pw.out", "node-1.log"
};

// Prints the lines of `logs` past `position` (keyed by name: bytes already printed); returns how many.
int read_job_logs(const JobRecord& job, const std::vector<LogFile>& logs,
                  std::map<std::string, std::string>& position,
                  const std::function<void(int node, const std::string& text)>& line);

// SIGTERM to the job's owner. Throws qecloud::Error when the job is not running here (finished, owned by a
// process on another host, or its owner is gone).
void stop_owner(const JobRecord& job);

// Downloads the job's outputs from its store into `dir`; when the record has no results yet and the job
// left a report, records the report's outcome. Throws qecloud::Error when nothing is stored yet.
std::vector<std::string> fetch_job_outputs(JobDb& db, const JobRecord& job, const std::string& dir);

}  // namespace qecloud
