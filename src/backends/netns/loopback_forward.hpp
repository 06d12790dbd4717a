#pragma once
// Makes one TCP port of this host's loopback reachable from inside network namespaces that have no route
// out: in each namespace, 127.0.0.1:<port> accepts connections that are relayed to the host's
// 127.0.0.1:<port>. Nothing else crosses — the namespaces stay isolated — so a rehearsal's nodes can reach a
// local S3-compatible server (the "VPC endpoint" of a real job) at the same address the host uses.
//
// The listening sockets are created inside the namespaces (by a short-lived thread that enters each one);
// the relaying runs in this process, one thread per connection. Destruction closes every socket and joins.
#include <atomic>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace qecloud::backends::netns {

class LoopbackForwarder {
 public:
  // `netns_paths`: /var/run/netns/<name> of each namespace. Throws qecloud::Error when a socket cannot be
  // made (the port is taken inside a namespace, no permission).
  LoopbackForwarder(const std::vector<std::string>& netns_paths, int port);
  // In each namespace, `inside_address`:`inside_port` (an address the namespace has) relays to this host's
  // 127.0.0.1:`host_port` — e.g. the ECS container-credentials endpoint 169.254.170.2:80 of a rehearsal.
  LoopbackForwarder(const std::vector<std::string>& netns_paths, const std::string& inside_address,
                    int inside_port, int host_port);
  ~LoopbackForwarder();
  LoopbackForwarder(const LoopbackForwarder&) = delete;
  LoopbackForwarder& operator=(const LoopbackForwarder&) = delete;

 private:
  void accept_loop();
  void relay(int inside, int outside);
  int port_;  // on this host's loopback
  std::vector<int> listeners_;
  int wake_[2] = {-1, -1};
  std::atomic<bool> stop_{false};
  std::thread acceptor_;
  std::mutex mu_;
  std::vector<std::thread> relays_;
  std::vector<int> open_fds_;
};

}  // namespace qecloud::backends::netns
