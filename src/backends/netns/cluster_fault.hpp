#pragma once
// Fault injection for multi-node rehearsals and their tests (flux-core style knobs): what to do to which
// node, and when.
#include <string>

namespace qecloud::backends::netns {

struct ClusterFault {
  // kTerminate: AWS Batch's stop (a timeout, TerminateJob) — SIGTERM to every node's agent at once, SIGKILL
  // to everything on every node the launch's kill window later.
  enum class Kind { kNoStart, kWrongSecret, kKillAgent, kLinkDown, kTerminate } kind;
  int node = 1;        // kTerminate: -1, every node
  double after_s = 0;  // for kill/link/terminate faults: seconds after the main started mpirun
};

// Parses "no-start:2", "wrong-secret:1", "kill-agent:1:2.5", "link-down:2:1", "terminate:all:5". Throws
// UsageError.
ClusterFault parse_cluster_fault(const std::string& text);

}  // namespace qecloud::backends::netns
