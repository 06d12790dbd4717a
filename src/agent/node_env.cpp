#include "agent/node_env.hpp"

#include <cstdlib>
#include <span>

#include <fmt/format.h>

#include "core/error.hpp"

namespace qecloud::agent {
namespace {

std::string need(const EnvLookup& env, const std::string& name, const std::string& why) {
  auto v = env(name);
  if (!v || v->empty()) throw UsageError(fmt::format("{} is not set ({})", name, why));
  return *v;
}

int to_int(const std::string& name, const std::string& v, int lo, int hi) {
  try {
    std::size_t used = 0;
    long n = std::stol(v, &used);
    if (used == v.size() && n >= lo && n <= hi) return static_cast<int>(n);
  } catch (const std::exception&) {
  }
  throw UsageError(fmt::format("{}='{}' is not a whole number in [{}, {}]", name, v, lo, hi));
}

double to_seconds(const std::string& name, const std::string& v) {
  try {
    std::size_t used = 0;
    double d = std::stod(v, &used);
    if (used == v.size() && d > 0 && d < 86400) return d;
  } catch (const std::exception&) {
  }
  throw UsageError(fmt::format("{}='{}' is not a positive number of seconds", name, v));
}

// AWS Batch multi-node parallel jobs: every node gets AWS_BATCH_JOB_ID "<id>#<node>", the node index,
// the node count and the main's index; only children get the main's private address.
NodeEnv read_awsbatch(const EnvLookup& env) {
  const std::string why = "AWS Batch sets it on every node of a multi-node job";
  NodeEnv n;
  n.scheduler = "awsbatch";
  n.job_id = need(env, "AWS_BATCH_JOB_ID", why);
  if (auto hash = n.job_id.find('#'); hash != std::string::npos) n.job_id.resize(hash);
  n.num_nodes = to_int("AWS_BATCH_JOB_NUM_NODES", need(env, "AWS_BATCH_JOB_NUM_NODES", why), 1, 100000);
  n.node_index =
      to_int("AWS_BATCH_JOB_NODE_INDEX", need(env, "AWS_BATCH_JOB_NODE_INDEX", why), 0, n.num_nodes - 1);
  n.main_index = to_int("AWS_BATCH_JOB_MAIN_NODE_INDEX", need(env, "AWS_BATCH_JOB_MAIN_NODE_INDEX", why), 0,
                        n.num_nodes - 1);
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

EnvLookup process_env() {
  return [](const std::string& name) -> std::optional<std::string> {
    if (const char* v = std::getenv(name.c_str())) return std::string(v);
    return std::nullopt;
  };
}

EnvLookup map_env(const std::map<std::string, std::string>& m) {
  return [m](const std::string& name) -> std::optional<std::string> {
    auto it = m.find(name);
    if (it == m.end()) return std::nullopt;
    return it->second;
  };
}

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

AgentSettings read_agent_settings(const EnvLookup& env, bool need_job) {
  AgentSettings s;
  s.secret = need(env, "QECLOUD_JOB_SECRET", "the per-job secret that authenticates the nodes to each other");
  if (s.secret.size() < 16) throw UsageError("QECLOUD_JOB_SECRET is shorter than 16 characters");
  if (need_job) {
    const std::string why = "the main node reads the job's input from the store and keeps its outputs there";
    s.store_url = need(env, "QECLOUD_STORE", why);
    s.store_job = need(env, "QECLOUD_STORE_JOB", why);
    s.input_name = need(env, "QECLOUD_INPUT", why);
  }
  if (auto v = env("QECLOUD_AGENT_PORT")) s.port = to_int("QECLOUD_AGENT_PORT", *v, 1, 65535);
  if (auto v = env("QECLOUD_AGENT_EXEC_PORT")) s.exec_port = to_int("QECLOUD_AGENT_EXEC_PORT", *v, 0, 65535);
  if (auto v = env("QECLOUD_AGENT_SLOTS")) s.slots = to_int("QECLOUD_AGENT_SLOTS", *v, 1, 100000);
  if (auto v = env("QECLOUD_JOIN_TIMEOUT")) s.join_timeout_s = to_int("QECLOUD_JOIN_TIMEOUT", *v, 1, 86400);
  if (auto v = env("QECLOUD_HEARTBEAT_INTERVAL"))
    s.heartbeat_s = to_seconds("QECLOUD_HEARTBEAT_INTERVAL", *v);
  if (auto v = env("QECLOUD_HEARTBEAT_TIMEOUT")) s.lost_after_s = to_seconds("QECLOUD_HEARTBEAT_TIMEOUT", *v);
  if (s.lost_after_s < 2 * s.heartbeat_s)
    throw UsageError("QECLOUD_HEARTBEAT_TIMEOUT must be at least twice QECLOUD_HEARTBEAT_INTERVAL");
  if (auto v = env("QECLOUD_AGENT_OVERSUBSCRIBED")) s.yield_when_idle = *v == "1";
  if (auto v = env("QECLOUD_AGENT_ADDRESS")) s.address = *v;
  if (auto v = env("QECLOUD_AGENT_WORK"); v && !v->empty())
    s.work_root = *v;
  else if (auto t = env("TMPDIR"); t && !t->empty())
    s.work_root = *t + "/qecloud-agent";
  else
    s.work_root = "/tmp/qecloud-agent";
  return s;
}

}  // namespace qecloud::agent
