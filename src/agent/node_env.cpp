#include "agent/node_env.hpp"

#include <span>

#include <fmt/format.h>

#include "core/error.hpp"

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

struct Reader {
  const char* name;
  const char* marker;  // a variable only this scheduler sets
  NodeEnv (*read)(const EnvLookup&);
};

constexpr Reader kReaders[] = {
    {"awsbatch", "AWS_BATCH_JOB_NODE_INDEX", read_awsbatch},
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
      "started (known: {}; AWS Batch sets AWS_BATCH_JOB_NODE_INDEX)",
      known));
}

}  // namespace qecloud::agent
