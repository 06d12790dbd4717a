#pragma once
// The local backend: one pw.x job on this machine, in the foreground. Validate (nothing runs when the
// input is invalid) → take cores from the machine's ledger (waiting in line when other runs hold them) →
// plan ranks and pools → stage the input bundle into $QECLOUD_HOME/work/<job>/ and the store → run pw.x
// under job/pw_run (live progress, EXIT file on SIGINT/SIGTERM, grace, kill) → store the outputs → record
// the outcome. Every step is in the job record, and the record never outlives its owner as `running`.
#include "backends/backend.hpp"
#include "core/process.hpp"

namespace qecloud::backends::local {

RunResult run(const JobOptions& o, const RunObserver& obs);
// The same, with the program runner given (tests drive the whole local backend with a fake pw.x).
RunResult run_with(const JobOptions& o, const RunObserver& obs, const ProgramRunner& runner);
JobStatus refresh(JobDb& db, const JobRecord& job);
int logs(JobDb& db, const JobRecord& job, std::optional<int> node, LogCursor& cursor, const LogLine& line);
void cancel(JobDb& db, const JobRecord& job, const std::string& reason);
std::vector<std::string> fetch(JobDb& db, const JobRecord& job, const std::string& dir);

}  // namespace qecloud::backends::local
