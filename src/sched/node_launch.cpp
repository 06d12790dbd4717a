#include "sched/node_launch.hpp"

#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <csignal>
#include <fstream>
#include <optional>
#include <thread>

#include <fmt/format.h>

#include "agent/wire.hpp"
#include "aws/crypto.hpp"
#include "core/stop_signals.hpp"
#include "sched/netns_cluster.hpp"

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

namespace qecloud::sched {
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

}  // namespace

LaunchResult launch_nodes(const NodeLaunch& l) {
  auto has_fault = [&](ClusterFault::Kind k, int node) {
    for (const auto& f : l.faults)
      if (f.kind == k && f.node == node) return true;
    return false;
  };
  auto note = [&](const std::string& s) {
    if (l.on_note) l.on_note(s);
  };
  StopSignals signals;  // from the start: a SIGTERM while the namespaces are made must still tear them down
  NetnsCluster cluster(l.nodes);
  for (int port : l.forward_ports) cluster.forward_loopback(port);
  std::vector<pid_t> pids(static_cast<std::size_t>(l.nodes), -1);
  for (int i = 0; i < l.nodes; ++i) {
    if (has_fault(ClusterFault::Kind::kNoStart, i)) {
      note(fmt::format("fault injected: node {} never starts", i));
      continue;
    }
    std::map<std::string, std::string> env = l.env;
    if (auto it = l.node_env.find(i); it != l.node_env.end())
      for (const auto& [k, v] : it->second) env[k] = v;
    env["AWS_BATCH_JOB_ID"] = fmt::format("{}#{}", l.job_id, i);
    env["AWS_BATCH_JOB_NODE_INDEX"] = std::to_string(i);
    env["AWS_BATCH_JOB_NUM_NODES"] = std::to_string(l.nodes);
    env["AWS_BATCH_JOB_MAIN_NODE_INDEX"] = std::to_string(0);  // (a literal trips g++ 12's -Wrestrict)
    if (i > 0) env["AWS_BATCH_JOB_MAIN_NODE_PRIVATE_IPV4_ADDRESS"] = cluster.address(0);
    if (has_fault(ClusterFault::Kind::kWrongSecret, i))
      env["QECLOUD_JOB_SECRET"] = aws::hex(agent::random_bytes(24));
    std::vector<std::string> shared = l.shared;
    shared.push_back(l.argv.front());
    shared.push_back(l.log_dir);
    pids[static_cast<std::size_t>(i)] =
        cluster.start(i, l.argv, env, fmt::format("{}/node-{}.log", l.log_dir, i), shared);
    if (l.on_event) l.on_event(i, "started", 0);
  }

  // Follow the main; its exit status is the job's. Timed faults fire after mpirun has started.
  LogFollower follow(fmt::format("{}/node-0.log", l.log_dir));
  std::optional<Clock::time_point> mpirun_started;
  std::vector<bool> fired(l.faults.size(), false);
  bool forwarded = false;
  int status = 0;
  auto on_line = [&](const std::string& line) {
    if (l.on_main_line) l.on_main_line(line);
    if (!mpirun_started && line.find(": running ") != std::string::npos) mpirun_started = Clock::now();
  };
  while (pids[0] > 0) {
    follow.poll(on_line);
    if (::waitpid(pids[0], &status, WNOHANG) == pids[0]) break;
    if (signals.received() && !forwarded) {
      ::kill(pids[0], SIGTERM);  // the main asks pw.x to stop cleanly and stores what it has
      forwarded = true;
    }
    for (std::size_t k = 0; k < l.faults.size(); ++k) {
      const auto& f = l.faults[k];
      if (fired[k] || !mpirun_started ||
          (f.kind != ClusterFault::Kind::kKillAgent && f.kind != ClusterFault::Kind::kLinkDown))
        continue;
      if (Clock::now() < *mpirun_started + std::chrono::duration<double>(f.after_s)) continue;
      fired[k] = true;
      if (f.kind == ClusterFault::Kind::kKillAgent) {
        ::kill(pids[static_cast<std::size_t>(f.node)], SIGKILL);
        note(fmt::format("fault injected: node {}'s agent killed", f.node));
      } else {
        cluster.set_link(f.node, false);
        note(fmt::format("fault injected: node {}'s link set down", f.node));
      }
    }
    std::this_thread::sleep_for(100ms);
  }
  follow.poll(on_line);
  const int main_code = pids[0] < 0 ? 127 : WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  if (pids[0] > 0 && l.on_event) l.on_event(0, "exit", main_code);
  // Children leave when the main tells them; give them a moment before the namespaces go.
  std::vector<bool> reaped(pids.size(), false);
  for (auto deadline = Clock::now() + 5s;;) {
    bool all = true;
    for (int i = 1; i < l.nodes; ++i) {
      const pid_t p = pids[static_cast<std::size_t>(i)];
      if (p <= 0 || reaped[static_cast<std::size_t>(i)]) continue;
      int st;
      if (::waitpid(p, &st, WNOHANG) == p) {
        reaped[static_cast<std::size_t>(i)] = true;
        if (l.on_event) l.on_event(i, "exit", WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st));
      } else {
        all = false;
      }
    }
    if (all || Clock::now() > deadline) break;
    std::this_thread::sleep_for(50ms);
  }
  for (int i = 1; i < l.nodes; ++i)  // still there after the main left: stopped with the job, as on Batch
    if (pids[static_cast<std::size_t>(i)] > 0 && !reaped[static_cast<std::size_t>(i)] && l.on_event)
      l.on_event(i, "exit", 128 + SIGKILL);
  return {main_code, signals.received()};
}

}  // namespace qecloud::sched
