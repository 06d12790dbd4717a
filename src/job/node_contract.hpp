#pragma once
// The node contract: what a backend gives `qecloud agent` on every node of a multi-node job, as environment
// variables (a backend starts the agent by argv and this environment, never by linking to it). The node's
// identity — which node it is, how many there are, where the main is — comes from the scheduler's own
// variables (agent/node_env.hpp); everything qecloud decides is here, written by to_env() and read by
// from_env(), the only two places that spell these names.
#include <map>
#include <string>

#include "core/env.hpp"

namespace qecloud {

namespace node_var {
inline constexpr const char* kSecret = "QECLOUD_JOB_SECRET";
inline constexpr const char* kStore = "QECLOUD_STORE";
inline constexpr const char* kStoreJob = "QECLOUD_STORE_JOB";
inline constexpr const char* kStoreRegion = "QECLOUD_STORE_REGION";
inline constexpr const char* kInput = "QECLOUD_INPUT";
inline constexpr const char* kPw = "QECLOUD_PW";
inline constexpr const char* kMpirun = "QECLOUD_MPIRUN";
inline constexpr const char* kGrace = "QECLOUD_GRACE";
inline constexpr const char* kRecover = "QECLOUD_RECOVER";
inline constexpr const char* kKillWindow = "QECLOUD_KILL_WINDOW";
inline constexpr const char* kJoinTimeout = "QECLOUD_JOIN_TIMEOUT";
inline constexpr const char* kPort = "QECLOUD_AGENT_PORT";
inline constexpr const char* kExecPort = "QECLOUD_AGENT_EXEC_PORT";
inline constexpr const char* kSlots = "QECLOUD_AGENT_SLOTS";
inline constexpr const char* kAddress = "QECLOUD_AGENT_ADDRESS";
inline constexpr const char* kWork = "QECLOUD_AGENT_WORK";
inline constexpr const char* kHeartbeat = "QECLOUD_HEARTBEAT_INTERVAL";
inline constexpr const char* kLostAfter = "QECLOUD_HEARTBEAT_TIMEOUT";
inline constexpr const char* kOversubscribed = "QECLOUD_AGENT_OVERSUBSCRIBED";
inline constexpr const char* kLauncher = "QECLOUD_MPI_LAUNCHER";
inline constexpr const char* kRanks = "QECLOUD_RANKS";
inline constexpr const char* kPools = "QECLOUD_POOLS";
inline constexpr const char* kTimeLimit = "QECLOUD_TIME_LIMIT";
// Set by the main node for mpirun's launcher (`qecloud agent exec`): "address port" of every node.
inline constexpr const char* kPeers = "QECLOUD_AGENT_PEERS";
// The secret is not in the environment: the nodes read it from the job's store (store_layout's secret_key).
inline constexpr const char* kSecretInStore = "QECLOUD_SECRET_IN_STORE";
// Set by the main node for mpirun's launcher instead of the secret itself, which pw.x's ranks (mpirun's
// children) must not inherit: a file only this node's root can read.
inline constexpr const char* kSecretFile = "QECLOUD_JOB_SECRET_FILE";
}  // namespace node_var

struct NodeContract {
  std::string secret;             // the per-job HMAC key (≥ 16 characters), every node
  bool secret_in_store = false;   // to_env() leaves the secret out: the nodes read it from the store
  std::string store_url;          // the store's root URL (file://, s3://)
  std::string store_job;          // the job's key in the store ("jobs/<id>", job/store_layout.hpp)
  std::string store_region;       // s3://: the bucket\'s region (containers on ECS-on-EC2 get no AWS_REGION)
  std::string input;              // the input's path under input/ (InputBundle::input_rel)
  std::string pw = "pw.x";        // the pw.x program the main runs (a name in PATH, or a path)
  std::string mpirun = "mpirun";  // the mpirun the main runs
  int grace_s = 30;               // after the EXIT file, how long pw.x may take before it is killed
  bool recover = true;            // the main node's QE-aware recovery (job/recovery.hpp); 0 = --no-recover
  int join_timeout_s = 120;       // how long the main waits for every child, and a child for the main
  int port = 7117;                // where agents listen (joins on the main, launches everywhere)
  int exec_port = -1;             // where a child takes launch requests; -1 = port, 0 = any
  int slots = 0;                  // MPI slots on this node; 0 = its physical cores
  double heartbeat_s = 1.0;       // between pings
  double lost_after_s = 5.0;      // silence after which a peer is lost (≥ 2 × heartbeat_s)
  bool yield_when_idle = false;   // nodes share cores (a rehearsal on one machine)
  std::string address;            // this node's address; default: its first non-loopback IPv4
  std::string work_root = "/tmp/qecloud-agent";  // each job works in <work_root>/<scheduler job id>
  // How mpirun reaches the other nodes: "agent" (`qecloud agent exec` as its remote launcher, every
  // backend's default) or "scheduler" (mpirun's own support for the scheduler it runs under: srun in a
  // Slurm job; the two are compared in docs/ARCHITECTURE.md, "Slurm").
  std::string launcher = "agent";
  // A layout to keep (a resume: pw.x's per-rank restart files need the layout that wrote them); 0 = the main
  // plans it from the slots that join.
  int ranks = 0, pools = 0;
  // The job's (or the attempt's) time limit in seconds from the main node's start, 0 = none: the main sets
  // pw.x's max_seconds from it (job/time_limit.hpp), so pw.x stops itself and writes restart data in time.
  int time_limit_s = 0;
  // Seconds from the scheduler's SIGTERM to its SIGKILL, on every node at once (AWS Batch: 30 s, the ECS stop
  // timeout); 0 = unknown, no SIGKILL expected. The agents derive their stop and upload deadlines from it.
  double kill_window_s = 0;

  bool has_job() const { return !store_url.empty(); }
  // Every variable of the contract (the job's part only when has_job()).
  std::map<std::string, std::string> to_env() const;
  // Reads the contract; `need_job` asks for the store, job and input (the main node). The secret comes from
  // QECLOUD_JOB_SECRET, else the file QECLOUD_JOB_SECRET_FILE names; with QECLOUD_SECRET_IN_STORE it may be
  // empty here (the caller reads it from the store, then calls check_secret()). Throws qecloud::UsageError
  // naming the variable that is missing or malformed.
  static NodeContract from_env(const EnvLookup& env, bool need_job);
  void check_secret() const;  // throws qecloud::UsageError unless the secret is long enough
};

}  // namespace qecloud
