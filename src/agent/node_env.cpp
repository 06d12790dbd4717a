#include "agent/node_env.hpp"

#include <algorithm>
#include <span>

#include <fmt/format.h>

#include "core/error.hpp"
#include "core/hostlist.hpp"
#include "core/topology.hpp"

namespace qecloud::agent {
namespace {

std::string need(const EnvLookup& env, const std::string& name, const std::string& why) {
  auto v = env_text(env, name);
  if (!v) throw UsageError(fmt::format("{} is not set ({})", name, why));
  return *v;
}

int need_int(const EnvLookup& env, const std::string& name, const std::string& why, int lo, int hi) {
  need(env, name, why);
  return env_integer(env, name, 0, lo, hi);
}

// AWS Batch multi-node parallel jobs: every node gets AWS_BATCH_JOB_ID "<id>#<node>", the node index,
// the node count and the main's index; only children get the main's private address.
NodeEnv read_awsbatch(const EnvLookup& env) {
  const std::string why = "AWS Batch sets it on every node of a multi-node job";
  NodeEnv n;
  n.scheduler = "awsbatch";
  n.job_id = need(env, "AWS_BATCH_JOB_ID", why);
  if (auto hash = n.job_id.find('#'); hash != std::string::npos) n.job_id.resize(hash);
  n.num_nodes = need_int(env, "AWS_BATCH_JOB_NUM_NODES", why, 1, 100000);
  n.node_index = need_int(env, "AWS_BATCH_JOB_NODE_INDEX", why, 0, n.num_nodes - 1);
  n.main_index = need_int(env, "AWS_BATCH_JOB_MAIN_NODE_INDEX", why, 0, n.num_nodes - 1);
  if (!n.is_main())
    n.main_address = need(env, "AWS_BATCH_JOB_MAIN_NODE_PRIVATE_IPV4_ADDRESS",
                          "AWS Batch sets it on the child nodes of a multi-node job");
  return n;
}

// Slurm (sbatch(1) and srun(1), "OUTPUT ENVIRONMENT VARIABLES", Slurm 22.05). The main agent is the batch
// shell, which Slurm runs on the first node of the allocation ("a single copy of the batch script on the
// first node"); the children are the tasks of one srun step over the other nodes. Every node reads:
//   SLURM_JOB_ID         the job (the same on every node);
//   SLURM_JOB_NODELIST   the job's nodes in hostlist syntax ("node-[0-2]", core/hostlist.hpp): their count,
//                        and this node's index as the place of SLURMD_NODENAME (this node's name) in it;
//   SLURM_NODEID         "the relative node ID of the current node" — relative to the step that started
//                        the process, so it is the index only in the batch shell (0); used when
//                        SLURMD_NODENAME is not set;
//   SLURM_NTASKS_PER_NODE  the slots (set only when the job asked for --ntasks-per-node);
// and children SLURM_LAUNCH_NODE_IPADDR, "the IP address of the node from which the task launch was
// initiated": srun ran on the main node, so this is the main's address — no DNS, no scontrol call.
NodeEnv read_slurm(const EnvLookup& env) {
  const std::string why = "Slurm sets it in a job's batch script and in every task srun starts";
  NodeEnv n;
  n.scheduler = "slurm";
  n.job_id = need(env, "SLURM_JOB_ID", why);
  const std::string list = need(env, "SLURM_JOB_NODELIST", why);
  auto names = expand_hostlist(list);
  if (!names || names->empty())
    throw UsageError(fmt::format("SLURM_JOB_NODELIST: {}", names ? "empty" : names.error()));
  n.num_nodes = static_cast<int>(names->size());
  if (env_text(env, "SLURM_JOB_NUM_NODES") &&
      env_integer(env, "SLURM_JOB_NUM_NODES", 0, 1, 100000) != n.num_nodes)
    throw UsageError(
        fmt::format("SLURM_JOB_NUM_NODES is not the number of nodes in SLURM_JOB_NODELIST ({})", list));
  if (auto self = env_text(env, "SLURMD_NODENAME")) {
    auto at = std::find(names->begin(), names->end(), *self);
    if (at == names->end())
      throw UsageError(fmt::format("SLURMD_NODENAME '{}' is not in SLURM_JOB_NODELIST ({})", *self, list));
    n.node_index = static_cast<int>(at - names->begin());
  } else {
    n.node_index = need_int(env, "SLURM_NODEID", why, 0, n.num_nodes - 1);
  }
  n.main_index = 0;
  if (env_text(env, "SLURM_NTASKS_PER_NODE"))
    n.slots = env_integer(env, "SLURM_NTASKS_PER_NODE", 0, 1, 100000);
  if (!n.is_main())
    n.main_address =
        need(env, "SLURM_LAUNCH_NODE_IPADDR",
             "srun sets it in every task it starts; the children are started by srun on the main "
             "node (see the batch script `qecloud submit --backend slurm` writes)");
  return n;
}

struct Reader {
  const char* name;
  const char* marker;  // a variable only this scheduler sets
  NodeEnv (*read)(const EnvLookup&);
};

constexpr Reader kReaders[] = {
    {"awsbatch", "AWS_BATCH_JOB_NODE_INDEX", read_awsbatch},
    {"slurm", "SLURM_JOB_ID", read_slurm},
};

}  // namespace

NodeEnv read_node_env(const EnvLookup& env, const std::string& scheduler) {
  std::string known;
  for (const Reader& r : std::span(kReaders)) {
    if (scheduler.empty() ? env(r.marker).has_value() : scheduler == r.name) return r.read(env);
    known += known.empty() ? r.name : std::string(", ") + r.name;
  }
  if (!scheduler.empty())
    throw UsageError(fmt::format("unknown scheduler '{}' (known: {})", scheduler, known));
  throw UsageError(fmt::format(
      "no multi-node job environment found: `qecloud agent` runs on the nodes of a job that a scheduler "
      "started (known: {}; AWS Batch sets AWS_BATCH_JOB_NODE_INDEX, Slurm SLURM_JOB_ID)",
      known));
}

int node_slots(const NodeEnv& node, const NodeContract& c) {
  if (c.slots > 0) return c.slots;
  return node.slots > 0 ? node.slots : detect_topology().physical_cores;
}

}  // namespace qecloud::agent
