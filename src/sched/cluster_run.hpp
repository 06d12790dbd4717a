#pragma once
// `qecloud run --nodes N`: a multi-node job rehearsed on this machine. The input goes to the store, N
// network-namespace "hosts" (NetnsCluster) each run a real `qecloud agent` with exactly the environment AWS
// Batch gives a multi-node job, and the main agent's exit code is the job's. Node logs are kept in the
// store next to the outputs the main agent put there.
#include <string>
#include <vector>

#include "sched/local_run.hpp"

namespace qecloud::sched {

// Fault injection for tests and rehearsals (flux-core style knobs): what to do to which node, and when.
struct ClusterFault {
  enum class Kind { kNoStart, kWrongSecret, kKillAgent, kLinkDown } kind;
  int node = 1;
  double after_s = 0;  // for kill/link faults: seconds after the main started mpirun
};
// Parses "no-start:2", "wrong-secret:1", "kill-agent:1:2.5", "link-down:2:1". Throws UsageError.
ClusterFault parse_cluster_fault(const std::string& text);

struct ClusterRunOptions {
  LocalRunOptions run;  // input, name, store; ranks/pools are chosen by the main agent
  int nodes = 2;
  int slots_per_node = 0;  // 0 = physical cores / nodes (at least 1)
  int join_timeout_s = 60;
  std::vector<ClusterFault> faults;
};

LocalRunResult run_cluster(const ClusterRunOptions& o, const RunObserver& observer,
                           qe::ValidationReport* invalid = nullptr);

}  // namespace qecloud::sched
