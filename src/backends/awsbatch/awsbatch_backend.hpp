#pragma once
// The AWS Batch backend's row in the backend table: submit reads qecloud.toml's [aws]; every later call
// opens the AWS APIs in the region the job's record names (credentials and endpoints from the standard
// chain).
#include "backends/backend.hpp"

namespace qecloud::backends::awsbatch {

Submitted submit_job(const JobOptions& o, const RunObserver& obs, const Notes& notes);
JobStatus refresh_job(JobDb& db, const JobRecord& job);
int job_logs(JobDb& db, const JobRecord& job, std::optional<int> node, LogCursor& cursor,
             const LogLine& line);
void cancel_job(JobDb& db, const JobRecord& job, const std::string& reason);
std::vector<std::string> fetch_job(JobDb& db, const JobRecord& job, const std::string& dir);

}  // namespace qecloud::backends::awsbatch
