#pragma once
// Jobs a scheduler runs (AWS Batch, Slurm): qecloud on this machine only submitted them, so their end is
// learned later, by `status`, from two sources — the scheduler's final word and the main agent's report in
// the job's store (job/report.hpp). The report says what really happened (converged or not, stopped
// cleanly with restart data, which node was lost) and wins; the scheduler's word is the fallback and the
// reason shown beside it.
#include <string>

#include "job/database.hpp"

namespace qecloud {

// Records the end of `job` (unless it has ended already): the report's state, exit code, results and
// message when the store holds one, else `fallback` and `fallback_exit` with `reason` ("the main node left
// no report" when the scheduler gave none). A store that cannot be read is named in the message.
void record_scheduled_end(JobDb& db, const JobRecord& job, JobState fallback, int fallback_exit,
                          const std::string& reason);

}  // namespace qecloud
