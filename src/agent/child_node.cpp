// A child node: join the main, keep the heartbeat, run the commands OpenMPI's launcher sends (its daemon,
// orted) as ssh would, and leave — killing what it started — when the main ends the job or is gone.
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <csignal>
#include <filesystem>
#include <thread>

#include <fmt/format.h>

#include "agent/agent.hpp"
#include "agent/exec_server.hpp"
#include "agent/wire.hpp"
#include "core/error.hpp"
#include "core/stop_signals.hpp"
#include "job/outputs.hpp"
#include "job/store_layout.hpp"
#include "storage/object_store.hpp"

namespace fs = std::filesystem;
using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

namespace qecloud::agent {
namespace {

std::string hostname() {
  char buf[256] = {};
  ::gethostname(buf, sizeof buf - 1);
  return buf;
}

// Join: the main may start later than we do, so retry until the join deadline. nullopt: refused, the
// deadline passed, or a stop signal (the reason is logged).
std::optional<ClientConnection> join_main(const NodeEnv& node, const NodeContract& s,
                                          const nlohmann::json& me, const StopSignals& signals,
                                          const Log& log) {
  const auto deadline = Clock::now() + std::chrono::seconds(s.join_timeout_s);
  while (!signals.received()) {
    if (auto main = ClientConnection::open(node.main_address, s.port, s.secret, 2000)) {
      try {
        main->send(FrameType::kJoin, me);
        auto f = main->receive(10000);
        while (f && f->type == FrameType::kPing) f = main->receive(10000);
        if (!f || f->type != FrameType::kWelcome) throw Error("the main did not welcome us");
      } catch (const Error& e) {
        log(fmt::format("node {}: join refused by {}:{}: {}", node.node_index, node.main_address, s.port,
                        e.what()));
        return std::nullopt;
      }
      return main;
    }
    if (Clock::now() > deadline) {
      log(fmt::format("node {}: the main node at {}:{} did not answer within {} s", node.node_index,
                      node.main_address, s.port, s.join_timeout_s));
      return std::nullopt;
    }
    std::this_thread::sleep_for(250ms);
  }
  return std::nullopt;
}

}  // namespace

int run_child(const NodeEnv& node, const NodeContract& s, const Log& log) {
  const fs::path work = fs::path(s.work_root) / node.job_id;  // the same path as on the main: mpirun's cwd
  fs::create_directories(work / fs::path(s.input).parent_path());  // where the ranks run, as on the main
  if (!s.store_url.empty() && !s.store_job.empty()) {              // the ranks here read the input bundle too
    try {
      auto store = storage::open_store(s.store_url, {s.store_region});
      const int n = fetch_input_bundle(*store, JobLocation::of_key(s.store_url, s.store_job), work.string());
      log(fmt::format("node {}: fetched {} input file(s) for the ranks here", node.node_index, n));
    } catch (const std::exception& e) {  // the ranks will say what they miss; the job is the main's to end
      log(fmt::format("node {}: cannot fetch the input bundle: {}", node.node_index, e.what()));
    }
  }
  const std::string address = !s.address.empty() ? s.address : primary_ipv4();
  const int slots = node_slots(node, s);
  ExecServer exec(s, work.string(), log);
  StopSignals signals;
  auto leave = [&](int code) {
    exec.stop();
    return code;
  };
  std::optional<ClientConnection> main = join_main(node, s,
                                                   {{"node", node.node_index},
                                                    {"address", address},
                                                    {"slots", slots},
                                                    {"hostname", hostname()},
                                                    {"exec_port", exec.port()}},
                                                   signals, log);
  if (!main) return leave(1);
  log(fmt::format("node {} ({}, {}, {} slots) joined the main at {}", node.node_index, hostname(), address,
                  slots, node.main_address));

  auto last_seen = Clock::now(), next_ping = Clock::now();
  std::vector<pollfd> fds;
  while (true) {
    if (signals.received()) {
      log(fmt::format("node {}: {} received; leaving", node.node_index, strsignal(signals.received())));
      return leave(1);
    }
    fds.assign(1, pollfd{main->fd(), POLLIN, 0});
    exec.add_poll_fds(fds);
    auto wait = std::max<long>(
        0, std::chrono::duration_cast<std::chrono::milliseconds>(next_ping - Clock::now()).count());
    ::poll(fds.data(), fds.size(), static_cast<int>(std::min<long>(wait, 200)));
    exec.service(fds, 1);
    try {
      if (fds[0].revents & (POLLIN | POLLHUP | POLLERR)) {
        while (auto f = main->receive(0)) {
          last_seen = Clock::now();
          if (f->type == FrameType::kDone) {
            log(fmt::format("node {}: the main ended the job (exit code {})", node.node_index,
                            f->json().value("exit_code", -1)));
            return leave(0);
          }
        }
      }
      if (Clock::now() >= next_ping) {
        next_ping = Clock::now() + to_millis(s.heartbeat_s);
        main->send(FrameType::kPing, std::string_view());
      }
    } catch (const Error& e) {
      log(fmt::format("node {}: the main node is gone ({}); leaving", node.node_index, e.what()));
      return leave(1);
    }
    if (Clock::now() - last_seen > to_millis(s.lost_after_s)) {
      log(fmt::format("node {}: no heartbeat from the main for {:.0f} s; leaving", node.node_index,
                      s.lost_after_s));
      return leave(1);
    }
  }
}

}  // namespace qecloud::agent
