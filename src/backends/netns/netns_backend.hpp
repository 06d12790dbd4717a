#pragma once
// The netns backend: `qecloud run --nodes N`, a multi-node job rehearsed on this machine. The input goes to
// the store, N network-namespace "hosts" (NetnsCluster) each run a real `qecloud agent` with exactly the
// environment AWS Batch gives a multi-node job's containers plus the node contract, and the main agent's
// exit code is the job's. Node logs are kept in the store next to the outputs the main agent put there.
#include "backends/backend.hpp"

namespace qecloud::backends::netns {

RunResult run(const JobOptions& o, const RunObserver& obs);
JobStatus refresh(JobDb& db, const JobRecord& job);
int logs(JobDb& db, const JobRecord& job, std::optional<int> node, LogCursor& cursor, const LogLine& line);
void cancel(JobDb& db, const JobRecord& job, const std::string& reason);
std::vector<std::string> fetch(JobDb& db, const JobRecord& job, const std::string& dir);

}  // namespace qecloud::backends::netns
