#pragma once
// The job's report (output/agent.json): how a multi-node job ended, written once by the main node and read
// by every backend (`run --nodes`, AWS Batch's `status`/`fetch`, Slurm) — one type, one writer, one reader,
// one set of defaults. JSON:
//   {"state": "succeeded", "exit_code": 0, "message": "", "layout": {"nodes", "ranks", "pools"},
//    "results": {…qe/results.hpp…}, "restart": {"files", "bytes", "complete", "note"[, "nodes": [{"node",
//    "files": [{"name", "bytes"}]}, …]]}, "history": ["…", …], "node_list": [{"node", "address", "hostname",
//    "slots"}, …]}
// "history" (the main node's recoveries, job/recovery.hpp) is absent from older reports: read as empty.
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/error.hpp"
#include "job/state.hpp"
#include "qe/results.hpp"

namespace qecloud {

struct ReportNode {
  int node = 0;
  std::string address;
  std::string hostname;
  int slots = 1;
};

struct AgentReport {
  JobState state = JobState::kFailed;
  int exit_code = kExitFailure;  // the job's exit code (core/error.hpp)
  std::string message;           // why it failed, for people
  int nodes = 0, ranks = 0, pools = 0;
  std::vector<ReportNode> node_list;
  qe::Results results;
  // What of pw.x's restart data reached the store (job/restart_set.hpp): {"files", "bytes", "complete",
  // "note"}, and on several nodes "nodes": every node's files with their sizes; null when pw.x wrote none.
  nlohmann::json restart;
  std::vector<std::string> history;  // each recovery's RecoveryStep::history(), in order: the backend
                                     // records them as the job's transitions
};

// Writes the report, streaming the node list one node at a time: for a thousand nodes a whole JSON tree
// would cost the main node about 1 MiB, a tenth of its memory. Throws qecloud::Error when it cannot write.
void write_report(const AgentReport& r, const std::string& path);
// Parses a report; nullopt when the text is not one. Missing fields keep AgentReport's defaults (a report
// without an exit code is a failure, never a success).
std::optional<AgentReport> parse_report(const std::string& text);

}  // namespace qecloud
