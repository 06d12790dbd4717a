#pragma once
// A cluster of real "hosts" on this machine: one network namespace per node, joined by a bridge that lives
// in a namespace of its own (the host's network is never touched), addresses in 198.18.0.0/24 (from the
// benchmarking range 198.18.0.0/15) and no route out. Each node process also gets its own hostname
// ("node-<i>") and its own /tmp (a tmpfs, into which only the paths the job needs are bind-mounted).
// For tests, and for users who want to rehearse a multi-node job before paying for one. Needs root.
//
// Everything is named qc<owner pid>{h,n<i>}: the destructor kills every process left in the namespaces and
// deletes them, and remove_stale() deletes what an owner that died (SIGKILL, crash) left behind.
#include <sys/types.h>

#include <map>
#include <memory>
#include <string>
#include <vector>

namespace qecloud::backends::netns {

class LoopbackForwarder;

class NetnsCluster {
 public:
  // Creates the namespaces, bridge and links. Throws qecloud::Error (after removing what it made) when it
  // cannot, e.g. without root or without iproute2.
  struct Options {
    // Each node also gets what an AWS Batch multi-node container has besides its VPC interface (ECS Developer
    // Guide, "Task networking with the awsvpc network mode"; AWS Batch multi-node jobs run in awsvpc mode):
    // `ecs-eth0`, made before eth0 so that it comes first, with the link-local 169.254.172.2/22 — the same on
    // every node, reaching nothing another node has — and 169.254.170.2, where the container-credentials
    // endpoint answers (forward_into() puts one there).
    bool ecs_network = false;
    // The nodes cannot reach each other (each bridge port `isolated`), as instances whose security groups
    // admit no traffic from one another (VPC User Guide, "Security group rules"). They still reach
    // forwarded loopback ports.
    bool isolated = false;
  };
  explicit NetnsCluster(int nodes) : NetnsCluster(nodes, Options{}) {}
  NetnsCluster(int nodes, const Options& options);
  ~NetnsCluster();
  NetnsCluster(const NetnsCluster&) = delete;
  NetnsCluster& operator=(const NetnsCluster&) = delete;

  int nodes() const { return nodes_; }
  std::string address(int node) const;  // 198.18.0.<10+node>
  std::string netns(int node) const;    // the node's namespace name

  // Starts argv in node `node` with exactly `env` as its environment, stdout and stderr into log_path.
  // `shared` are paths (files or directories) under /tmp that must stay visible in the node's private /tmp.
  // `rootfs` (an image's root filesystem, unpacked): the node runs chrooted in an overlay of it — the tree
  // itself shared read-only by every node, writes going to the node's own tmpfs — with /proc, /dev and
  // /sys, its private /tmp, and every path of `shared` bound in at the same path; argv[0] is the image's.
  pid_t start(int node, const std::vector<std::string>& argv, const std::map<std::string, std::string>& env,
              const std::string& log_path, const std::vector<std::string>& shared,
              const std::string& rootfs = {});
  // SIGKILL to every process in the node's namespace (what a container's stop timeout does).
  void kill_node(int node);
  // Takes the node's link to the bridge down or up (fault injection: a node whose network dies).
  void set_link(int node, bool up);
  // Every node's 127.0.0.1:<port> reaches this host's 127.0.0.1:<port> (a local S3 server); nothing else.
  void forward_loopback(int port);
  // Every node's `inside_address`:`inside_port` reaches this host's 127.0.0.1:`host_port`.
  void forward_into(const std::string& inside_address, int inside_port, int host_port);

  static int remove_stale();  // namespaces whose owner process is gone; returns how many were removed
  static std::vector<std::string> list_ours();  // names of every qc<pid>… namespace on this machine

 private:
  void teardown() noexcept;
  int nodes_;
  std::string prefix_;
  std::vector<pid_t> started_;
  std::vector<std::unique_ptr<LoopbackForwarder>> forwarders_;
};

}  // namespace qecloud::backends::netns
