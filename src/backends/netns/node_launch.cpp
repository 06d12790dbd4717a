#include "backends/netns/node_launch.hpp"

#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <csignal>
#include <cstring>
#include <fstream>
#include <optional>
#include <thread>

#include <fmt/format.h>

#include "backends/netns/netns_cluster.hpp"
#include "core/crypto.hpp"
#include "core/stop_signals.hpp"
#include "job/node_contract.hpp"

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

namespace qecloud::backends::netns {
namespace {

// Follows a growing log file, handing complete new lines to `on_line`.
class LogFollower {
 public:
  explicit LogFollower(std::string path) : path_(std::move(path)) {}
  template <typename F>
  void poll(F&& on_line) {
    std::ifstream in(path_);
    if (!in) return;
    in.seekg(static_cast<std::streamoff>(offset_));
    std::string line;
    while (std::getline(in, line)) {
      if (in.eof()) break;  // an incomplete last line: read it next time
      offset_ += line.size() + 1;
      on_line(line);
    }
  }

 private:
  std::string path_;
  std::size_t offset_ = 0;
};

bool has_fault(const NodeLaunch& l, ClusterFault::Kind k, int node) {
  for (const auto& f : l.faults)
    if (f.kind == k && f.node == node) return true;
  return false;
}

void note(const NodeLaunch& l, const std::string& s) {
  if (l.on_note) l.on_note(s);
}

// One node's agent, with AWS Batch's per-node variables over the job's environment; -1 when a fault says it
// never starts.
pid_t start_node(const NodeLaunch& l, NetnsCluster& cluster, int i) {
  if (has_fault(l, ClusterFault::Kind::kNoStart, i)) {
    note(l, fmt::format("fault injected: node {} never starts", i));
    return -1;
  }
  std::map<std::string, std::string> env = l.env;
  if (auto it = l.node_env.find(i); it != l.node_env.end())
    for (const auto& [k, v] : it->second) env[k] = v;
  env["AWS_BATCH_JOB_ID"] = fmt::format("{}#{}", l.job_id, i);
  env["AWS_BATCH_JOB_NODE_INDEX"] = std::to_string(i);
  env["AWS_BATCH_JOB_NUM_NODES"] = std::to_string(l.nodes);
  env["AWS_BATCH_JOB_MAIN_NODE_INDEX"] = std::to_string(0);  // (a literal trips g++ 12's -Wrestrict)
  if (i > 0) env["AWS_BATCH_JOB_MAIN_NODE_PRIVATE_IPV4_ADDRESS"] = cluster.address(0);
  if (has_fault(l, ClusterFault::Kind::kWrongSecret, i)) env[node_var::kSecret] = random_hex(24);
  std::vector<std::string> shared = l.shared;
  if (l.rootfs.empty()) shared.push_back(l.argv.front());  // in an image, the program is the image's
  shared.push_back(l.log_dir);
  const pid_t pid =
      cluster.start(i, l.argv, env, fmt::format("{}/node-{}.log", l.log_dir, i), shared, l.rootfs);
  if (l.on_event) l.on_event(i, "started", 0);
  return pid;
}

// Every node without a start delay now; the others wait in `pids` as 0 for start_due().
std::vector<pid_t> start_nodes(const NodeLaunch& l, NetnsCluster& cluster) {
  std::vector<pid_t> pids(static_cast<std::size_t>(l.nodes), 0);
  for (int i = 0; i < l.nodes; ++i)
    if (!l.start_delays.count(i)) pids[static_cast<std::size_t>(i)] = start_node(l, cluster, i);
  return pids;
}

// Delayed nodes whose time has come.
void start_due(const NodeLaunch& l, NetnsCluster& cluster, std::vector<pid_t>& pids,
               Clock::time_point began) {
  for (const auto& [i, delay] : l.start_delays)
    if (pids[static_cast<std::size_t>(i)] == 0 &&
        Clock::now() - began >= std::chrono::duration<double>(delay))
      pids[static_cast<std::size_t>(i)] = start_node(l, cluster, i);
}

// AWS Batch's stop of a job (its timeout, TerminateJob), played on the nodes: SIGTERM to every node's agent
// at once, then — unless the main has ended the job by then — SIGKILL to everything on every node when the
// window has passed, as the ECS stop timeout does to every container.
class BatchStop {
 public:
  explicit BatchStop(const NodeLaunch& l) : l_(l) {}
  void start(const std::vector<pid_t>& pids, const std::string& why) {
    if (started_) return;
    started_ = true;
    at_ = Clock::now();
    for (const pid_t p : pids)
      if (p > 0) ::kill(p, SIGTERM);
    note(l_, fmt::format("{}: SIGTERM to every node's agent, SIGKILL in {:.3g} s (AWS Batch's stop)", why,
                         l_.kill_window_s));
  }
  bool started() const { return started_; }
  void kill_due(NetnsCluster& cluster) {
    if (!started_ || killed_ || Clock::now() < at_ + std::chrono::duration<double>(l_.kill_window_s)) return;
    killed_ = true;
    for (int i = 0; i < l_.nodes; ++i) cluster.kill_node(i);
    note(l_, fmt::format("SIGKILL to every node, {:.3g} s after the SIGTERM", l_.kill_window_s));
  }
  void main_ended() const {
    if (started_ && !killed_)
      note(l_, fmt::format("the main node ended {:.1f} s after the SIGTERM (the SIGKILL was due at {:.3g} s)",
                           std::chrono::duration<double>(Clock::now() - at_).count(), l_.kill_window_s));
  }

 private:
  const NodeLaunch& l_;
  Clock::time_point at_{};  // (not an optional: g++ 12 warns maybe-uninitialized through it)
  bool started_ = false, killed_ = false;
};

// Timed faults, once the main has started mpirun.
class FaultClock {
 public:
  explicit FaultClock(const NodeLaunch& l) : l_(l), fired_(l.faults.size(), false) {}
  void saw(const std::string& main_line) {
    if (!mpirun_started_ && main_line.find(": running ") != std::string::npos) mpirun_started_ = Clock::now();
  }
  void fire_due(NetnsCluster& cluster, const std::vector<pid_t>& pids, BatchStop& stop) {
    for (std::size_t k = 0; k < l_.faults.size(); ++k) {
      const auto& f = l_.faults[k];
      if (fired_[k] || !mpirun_started_ || f.kind == ClusterFault::Kind::kNoStart ||
          f.kind == ClusterFault::Kind::kWrongSecret)
        continue;
      if (Clock::now() < *mpirun_started_ + std::chrono::duration<double>(f.after_s)) continue;
      fired_[k] = true;
      if (f.kind == ClusterFault::Kind::kTerminate) {
        stop.start(pids, "fault injected");
      } else if (f.kind == ClusterFault::Kind::kKillAgent) {
        // (0 is a node not started yet: kill(0) would be this whole process group)
        if (const pid_t p = pids[static_cast<std::size_t>(f.node)]; p > 0) ::kill(p, SIGKILL);
        note(l_, fmt::format("fault injected: node {}'s agent killed", f.node));
      } else {
        cluster.set_link(f.node, false);
        note(l_, fmt::format("fault injected: node {}'s link set down", f.node));
      }
    }
  }

 private:
  const NodeLaunch& l_;
  std::vector<bool> fired_;
  std::optional<Clock::time_point> mpirun_started_;
};

// Follows the main until it exits; its exit status is the job's. A stop signal here is Batch's stop of the
// job.
int follow_main(const NodeLaunch& l, NetnsCluster& cluster, std::vector<pid_t>& pids,
                const StopSignals& signals) {
  const auto began = Clock::now();
  LogFollower follow(fmt::format("{}/node-0.log", l.log_dir));
  FaultClock faults(l);
  auto on_line = [&](const std::string& line) {
    if (l.on_main_line) l.on_main_line(line);
    faults.saw(line);
  };
  BatchStop stop(l);
  int status = 0;
  while (pids[0] > 0) {
    follow.poll(on_line);
    if (::waitpid(pids[0], &status, WNOHANG) == pids[0]) break;
    if (signals.received())  // the main asks pw.x to stop cleanly; every node stores what it has
      stop.start(pids, fmt::format("{} received", strsignal(signals.received())));
    faults.fire_due(cluster, pids, stop);
    stop.kill_due(cluster);
    if (!stop.started()) start_due(l, cluster, pids, began);  // a stopped job starts no more nodes
    if (l.on_tick) l.on_tick();
    std::this_thread::sleep_for(100ms);
  }
  follow.poll(on_line);
  if (pids[0] > 0) stop.main_ended();
  const int code = pids[0] < 0 ? 127 : WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  if (pids[0] > 0 && l.on_event) l.on_event(0, "exit", code);
  return code;
}

// Children leave when the main tells them; they get a moment before the namespaces go (and are killed
// with them, as Batch stops a job's containers when its main node exits).
void reap_children(const NodeLaunch& l, const std::vector<pid_t>& pids) {
  std::vector<bool> reaped(pids.size(), false);
  for (auto deadline = Clock::now() + 5s;;) {
    bool all = true;
    for (std::size_t i = 1; i < pids.size(); ++i) {
      if (pids[i] <= 0 || reaped[i]) continue;
      int st;
      if (::waitpid(pids[i], &st, WNOHANG) == pids[i]) {
        reaped[i] = true;
        if (l.on_event)
          l.on_event(static_cast<int>(i), "exit", WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st));
      } else {
        all = false;
      }
    }
    if (all || Clock::now() > deadline) break;
    std::this_thread::sleep_for(50ms);
  }
  for (std::size_t i = 1; i < pids.size(); ++i)
    if (pids[i] > 0 && !reaped[i] && l.on_event) l.on_event(static_cast<int>(i), "exit", 128 + SIGKILL);
}

}  // namespace

LaunchResult launch_nodes(const NodeLaunch& l) {
  StopSignals signals;  // from the start: a SIGTERM while the namespaces are made must still tear them down
  NetnsCluster cluster(l.nodes, {.ecs_network = l.ecs_network, .isolated = l.isolated});
  for (int port : l.forward_ports) cluster.forward_loopback(port);
  for (const auto& f : l.forwards) cluster.forward_into(f.inside_address, f.inside_port, f.host_port);
  std::vector<pid_t> pids = start_nodes(l, cluster);
  const int main_code = follow_main(l, cluster, pids, signals);
  reap_children(l, pids);
  return {main_code, signals.received()};
}

}  // namespace qecloud::backends::netns
