#pragma once
// Runs one multi-node job's processes on a NetnsCluster, exactly as AWS Batch starts a multi-node job's
// containers: the same command on every node with the job's environment plus what Batch adds per node
// (AWS_BATCH_JOB_ID "<id>#<i>", AWS_BATCH_JOB_NODE_INDEX, AWS_BATCH_JOB_NUM_NODES,
// AWS_BATCH_JOB_MAIN_NODE_INDEX, and on children only AWS_BATCH_JOB_MAIN_NODE_PRIVATE_IPV4_ADDRESS). The main
// node's exit ends the job (children get a few seconds to leave, then are killed), as on Batch. A stop — a
// SIGINT/SIGTERM to this process, or the terminate fault — is Batch's: SIGTERM to every node's agent at once,
// SIGKILL to everything on every node `kill_window_s` later. Faults (ClusterFault) are injected on the way.
// Used by `run --nodes` and by `rehearse-nodes`, AWS Batch's execution plane in the tests.
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "backends/netns/cluster_fault.hpp"

namespace qecloud::backends::netns {

struct NodeLaunch {
  std::string job_id;  // Batch's job id (without "#<node>")
  int nodes = 2;
  std::vector<std::string> argv;                               // argv[0] an absolute path
  std::map<std::string, std::string> env;                      // every node's
  std::map<int, std::map<std::string, std::string>> node_env;  // per node, over `env`
  std::string log_dir;                                         // node-<i>.log (stdout + stderr)
  std::vector<std::string> shared;                             // paths under /tmp the nodes must see
  std::string rootfs;  // non-empty: every node runs inside this root filesystem (an image's), read-only
  std::vector<int> forward_ports;                              // host loopback ports reachable inside
  struct Forward {
    std::string inside_address;  // an address every node has (e.g. 169.254.170.2 with ecs_network)
    int inside_port = 0;
    int host_port = 0;  // on this host's loopback
  };
  std::vector<Forward> forwards;
  bool ecs_network = false;  // NetnsCluster::Options::ecs_network: the nodes look like awsvpc containers
  bool isolated = false;     // NetnsCluster::Options::isolated: the nodes cannot reach each other
  std::map<int, double> start_delays;  // node → seconds after the main starts (Batch starts children later)
  std::vector<ClusterFault> faults;
  double kill_window_s = 30;  // a stop's SIGTERM → SIGKILL (AWS Batch: the ECS stop timeout, 30 s)
  std::function<void(const std::string&)> on_main_line;  // each line of node 0's log, as it comes
  std::function<void(const std::string&)> on_note;       // "fault injected: …"
  std::function<void(int node, const char* event, int code)> on_event;  // "started" / "exit"
  std::function<void()> on_tick;  // about every 100 ms while the main runs (heartbeats)
};

struct LaunchResult {
  int main_code = 0;    // the main node's exit status (128+signal when killed; 127 when it never started)
  int stop_signal = 0;  // SIGINT/SIGTERM received meanwhile (passed on to the main node)
};
// Throws qecloud::Error when the nodes cannot be made.
LaunchResult launch_nodes(const NodeLaunch& l);

}  // namespace qecloud::backends::netns
