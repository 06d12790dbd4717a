// A child node: join the main, keep the heartbeat, run the commands OpenMPI's launcher sends (its daemon,
// orted) as ssh would, and leave — killing what it started — when the main ends the job or is gone.
#include <fcntl.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstring>
#include <filesystem>
#include <mutex>
#include <set>
#include <thread>

#include <fmt/format.h>

#include "agent/agent.hpp"
#include "agent/wire.hpp"
#include "core/crypto.hpp"
#include "core/error.hpp"
#include "core/process.hpp"
#include "core/stop_signals.hpp"

namespace fs = std::filesystem;
using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

namespace qecloud::agent {
namespace {

std::chrono::milliseconds ms(double seconds) {
  return std::chrono::milliseconds(static_cast<long>(seconds * 1000));
}

// The process groups of running exec sessions, so that leaving kills them all.
class SessionGroups {
 public:
  void add(pid_t g) {
    std::lock_guard lock(mu_);
    groups_.insert(g);
  }
  void remove(pid_t g) {
    std::lock_guard lock(mu_);
    groups_.erase(g);
  }
  void kill_all() {
    std::lock_guard lock(mu_);
    for (pid_t g : groups_) ::kill(-g, SIGKILL);
  }
  int active() const { return active_; }
  std::atomic<int> active_{0};

 private:
  std::mutex mu_;
  std::set<pid_t> groups_;
};

// Starts `/bin/sh -c command` (as sshd would) in its own process group, stdout/stderr into the given pipes,
// without the job's secret in its environment (OpenMPI's daemon and the ranks do not need it).
pid_t spawn_shell(const std::string& command, const std::string& cwd, int out_fd, int err_fd) {
  SpawnOptions o;
  o.argv = {"/bin/sh", "-c", command};
  o.cwd = cwd;
  o.env_remove = {node_var::kSecret};
  if (::geteuid() == 0)  // a container runs as root; OpenMPI asks for both to agree to that
    o.env_overrides = {{"OMPI_ALLOW_RUN_AS_ROOT", "1"}, {"OMPI_ALLOW_RUN_AS_ROOT_CONFIRM", "1"}};
  return spawn(o, out_fd, err_fd);
}

// The first frame of a launch connection: the command, or why the connection is refused.
std::optional<std::string> read_exec_request(int fd, Channel& ch, std::string& in, std::string& why) {
  std::optional<Frame> first;
  try {
    auto deadline = Clock::now() + 10s;
    while (!(first = ch.open(in))) {
      pollfd p{fd, POLLIN, 0};
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
      if (left <= 0 || ::poll(&p, 1, static_cast<int>(left)) <= 0)
        return why = "no request within 10 s", std::nullopt;
      if (!read_some(fd, in)) return why = "connection closed", std::nullopt;
    }
    if (first->type != FrameType::kExec) return why = "not a launch request", std::nullopt;
    return first->json().value("command", "");
  } catch (const Error& e) {
    why = e.what();
    return std::nullopt;
  }
}

// Relays the command's stdout/stderr until both close, pinging the launcher. Throws qecloud::Error when the
// launcher goes away or silent.
void relay_output(int fd, Channel& ch, std::string& in, int (&outs)[2], const NodeContract& s) {
  auto last_seen = Clock::now(), next_ping = Clock::now() + ms(s.heartbeat_s);
  while (outs[0] >= 0 || outs[1] >= 0) {
    pollfd p[3] = {{fd, POLLIN, 0}, {outs[0], POLLIN, 0}, {outs[1], POLLIN, 0}};
    auto wait = std::max<long>(
        0, std::chrono::duration_cast<std::chrono::milliseconds>(next_ping - Clock::now()).count());
    ::poll(p, 3, static_cast<int>(wait));
    for (int k = 0; k < 2; ++k) {
      if (outs[k] < 0 || !(p[k + 1].revents & (POLLIN | POLLHUP | POLLERR))) continue;
      char buf[65536];
      ssize_t n = ::read(outs[k], buf, sizeof buf);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) {
        ::close(outs[k]);
        outs[k] = -1;
        continue;
      }
      send_all(fd, ch.seal(k == 0 ? FrameType::kStdout : FrameType::kStderr,
                           std::string_view(buf, static_cast<std::size_t>(n))));
    }
    if (p[0].revents & (POLLIN | POLLHUP | POLLERR)) {
      if (!read_some(fd, in)) throw Error("the launcher closed the connection");
      while (ch.open(in)) last_seen = Clock::now();
    }
    if (Clock::now() >= next_ping) {
      next_ping = Clock::now() + ms(s.heartbeat_s);
      send_all(fd, ch.seal(FrameType::kPing, std::string_view()));
      if (Clock::now() - last_seen > ms(s.lost_after_s)) throw Error("the launcher went silent");
    }
  }
}

// One launcher connection: authenticate, run the command, relay its output and exit status. The client
// (`qecloud agent exec` under mpirun) and this side ping each other; when the client goes silent or away,
// the command's process group is killed — nothing outlives the job on this node.
void serve_exec(int fd, const NodeContract& s, const std::string& cwd, SessionGroups& groups,
                const Log& log) {
  const std::string peer = peer_address(fd);
  std::string nonce = random_bytes(kNonceSize);
  Channel ch(s.secret, nonce, /*is_server=*/true);
  std::string in, why;
  auto refuse = [&](const std::string& reason) {
    log(fmt::format("refused a launch request from {}: {}", peer, reason));
    ::close(fd);
  };
  try {
    send_all(fd, make_hello(nonce));
  } catch (const Error& e) {
    return refuse(e.what());
  }
  const auto command = read_exec_request(fd, ch, in, why);
  if (!command) return refuse(why);
  int out_pipe[2], err_pipe[2];
  if (::pipe2(out_pipe, O_CLOEXEC) != 0 || ::pipe2(err_pipe, O_CLOEXEC) != 0) return refuse("pipe failed");
  pid_t pid = -1;
  try {
    pid = spawn_shell(*command, cwd, out_pipe[1], err_pipe[1]);
  } catch (const Error& e) {
    ::close(out_pipe[1]), ::close(err_pipe[1]), ::close(out_pipe[0]), ::close(err_pipe[0]);
    return refuse(e.what());
  }
  ::close(out_pipe[1]);
  ::close(err_pipe[1]);
  groups.add(pid);
  log(fmt::format("launching for {}: {:.120}", peer, *command));
  int outs[2] = {out_pipe[0], err_pipe[0]};
  bool client_gone = false;
  try {
    relay_output(fd, ch, in, outs, s);
  } catch (const Error& e) {
    log(fmt::format("launch for {} ends: {}; killing what it started", peer, e.what()));
    client_gone = true;
    ::kill(-pid, SIGKILL);
  }
  for (int o : outs)
    if (o >= 0) ::close(o);
  const ExitStatus st = wait_exit(pid);
  ::kill(-pid, SIGKILL);  // anything the command left behind in its group
  groups.remove(pid);
  if (!client_gone) {
    try {
      send_all(fd, ch.seal(FrameType::kExit, nlohmann::json{{"code", st.code}, {"signal", st.signal}}));
    } catch (const Error&) {
    }
  }
  ::close(fd);
}

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
  const std::string address = !s.address.empty() ? s.address : primary_ipv4();
  const int slots = node_slots(node, s);
  int exec_fd = listen_tcp("0.0.0.0", s.exec_port < 0 ? s.port : s.exec_port);
  const int exec_port = bound_port(exec_fd);
  set_nonblocking(exec_fd);
  StopSignals signals;
  SessionGroups groups;
  std::vector<std::thread> sessions;
  auto leave = [&](int code) {
    groups.kill_all();
    ::close(exec_fd);
    for (auto& t : sessions) t.join();
    return code;
  };
  std::optional<ClientConnection> main = join_main(node, s,
                                                   {{"node", node.node_index},
                                                    {"address", address},
                                                    {"slots", slots},
                                                    {"hostname", hostname()},
                                                    {"exec_port", exec_port}},
                                                   signals, log);
  if (!main) return leave(1);
  log(fmt::format("node {} ({}, {}, {} slots) joined the main at {}", node.node_index, hostname(), address,
                  slots, node.main_address));

  auto last_seen = Clock::now(), next_ping = Clock::now();
  while (true) {
    if (signals.received()) {
      log(fmt::format("node {}: {} received; leaving", node.node_index, strsignal(signals.received())));
      return leave(1);
    }
    pollfd p[2] = {{main->fd(), POLLIN, 0}, {exec_fd, POLLIN, 0}};
    auto wait = std::max<long>(
        0, std::chrono::duration_cast<std::chrono::milliseconds>(next_ping - Clock::now()).count());
    ::poll(p, 2, static_cast<int>(std::min<long>(wait, 200)));
    if (p[1].revents & POLLIN) {
      while (true) {
        int fd = ::accept4(exec_fd, nullptr, nullptr, SOCK_CLOEXEC);
        if (fd < 0) break;
        sessions.emplace_back(
            [fd, &s, &work, &groups, &log] { serve_exec(fd, s, work.string(), groups, log); });
      }
    }
    try {
      if (p[0].revents & (POLLIN | POLLHUP | POLLERR)) {
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
        next_ping = Clock::now() + ms(s.heartbeat_s);
        main->send(FrameType::kPing, std::string_view());
      }
    } catch (const Error& e) {
      log(fmt::format("node {}: the main node is gone ({}); leaving", node.node_index, e.what()));
      return leave(1);
    }
    if (Clock::now() - last_seen > ms(s.lost_after_s)) {
      log(fmt::format("node {}: no heartbeat from the main for {:.0f} s; leaving", node.node_index,
                      s.lost_after_s));
      return leave(1);
    }
  }
}

}  // namespace qecloud::agent
