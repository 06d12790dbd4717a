#pragma once
// Who this node is in a multi-node job, read from the scheduler's environment. One reader per scheduler,
// chosen by name from a table (AWS Batch now; Slurm and the local launcher plug in as more rows), plus the
// job settings qecloud itself passes to every node (QECLOUD_*), which do not depend on the scheduler.
#include <functional>
#include <map>
#include <optional>
#include <string>

namespace qecloud::agent {

struct NodeEnv {
  std::string scheduler;  // "awsbatch", …
  std::string job_id;     // the scheduler's job id without the node suffix
  int node_index = 0;
  int num_nodes = 1;
  int main_index = 0;
  std::string main_address;  // empty on the main node: it finds its own
  bool is_main() const { return node_index == main_index; }
};

// What qecloud asks of the agents, the same on every node.
struct AgentSettings {
  std::string secret;         // QECLOUD_JOB_SECRET: the per-job HMAC key (≥ 16 bytes)
  std::string store_url;      // QECLOUD_STORE: where the job's input/ is and output/ goes (main only)
  std::string store_job;      // QECLOUD_STORE_JOB: the job's key in the store, "jobs/<id>" (main only)
  std::string input_name;     // QECLOUD_INPUT: the pw.x input's file name under input/ (main only)
  int port = 7117;            // QECLOUD_AGENT_PORT: where agents listen (join on the main, exec everywhere)
  int exec_port = -1;         // QECLOUD_AGENT_EXEC_PORT: where a child takes launch requests; -1 = port,
                              // 0 = any (several children on one address; the port travels in the join)
  int slots = 0;              // QECLOUD_AGENT_SLOTS: MPI slots on this node; 0 = physical cores
  int join_timeout_s = 120;   // QECLOUD_JOIN_TIMEOUT: how long the main waits for every child
  double heartbeat_s = 1.0;   // QECLOUD_HEARTBEAT_INTERVAL
  double lost_after_s = 5.0;  // QECLOUD_HEARTBEAT_TIMEOUT: silence after which a peer is lost
  bool yield_when_idle = false;  // QECLOUD_AGENT_OVERSUBSCRIBED=1: nodes share cores (a rehearsal cluster)
  std::string address;    // QECLOUD_AGENT_ADDRESS: this node's address; default: first non-loopback IPv4
  std::string work_root;  // QECLOUD_AGENT_WORK: default $TMPDIR or /tmp, + /qecloud-agent
};

using EnvLookup = std::function<std::optional<std::string>(const std::string&)>;
EnvLookup process_env();
EnvLookup map_env(const std::map<std::string, std::string>& m);  // for tests

// Reads the node's identity with the named scheduler's reader ("" = detect from the variables present).
// Throws qecloud::UsageError naming the variable that is missing or malformed.
NodeEnv read_node_env(const EnvLookup& env, const std::string& scheduler = "");
// Throws qecloud::UsageError naming the variable; `need_job` asks for the main's store settings too.
AgentSettings read_agent_settings(const EnvLookup& env, bool need_job);

}  // namespace qecloud::agent
