// `qecloud agent exec HOST COMMAND…`: what mpirun calls instead of ssh (--mca plm_rsh_agent). It asks HOST's
// agent to run the command, relays stdout/stderr, and exits with the command's status — or 255, as ssh
// does, when the agent cannot be reached or goes silent (a link down must not hang mpirun for minutes).
#include <sys/prctl.h>
#include <unistd.h>

#include <chrono>
#include <csignal>
#include <fstream>
#include <sstream>

#include <fmt/format.h>

#include "agent/agent.hpp"
#include "agent/wire.hpp"
#include "core/error.hpp"

using Clock = std::chrono::steady_clock;

namespace qecloud::agent {
namespace {

// The main writes "address port" per node to the file QECLOUD_AGENT_PEERS names; without it, every agent
// is on the contract's port.
int port_of(const std::string& host, int fallback) {
  const auto path = env_text(process_env(), node_var::kPeers);
  if (!path) return fallback;
  std::ifstream in(*path);
  std::string addr;
  int port = 0;
  while (in >> addr >> port)
    if (addr == host) return port;
  return fallback;
}

void write_all(int fd, const std::string& bytes) {
  std::size_t off = 0;
  while (off < bytes.size()) {
    ssize_t w = ::write(fd, bytes.data() + off, bytes.size() - off);
    if (w <= 0) return;  // our reader is gone; nothing useful left to do with the bytes
    off += static_cast<std::size_t>(w);
  }
}

}  // namespace

int run_exec(const std::string& host, const std::string& command, const NodeContract& s) {
  ::prctl(PR_SET_PDEATHSIG, SIGKILL);  // mpirun killed by the watchdog takes us with it
  const int port = port_of(host, s.port);
  auto conn = ClientConnection::open(host, port, s.secret, 10000);
  if (!conn) {
    fmt::print(stderr, "qecloud agent exec: no agent answers on {}:{}\n", host, port);
    return 255;
  }
  try {
    conn->send(FrameType::kExec, nlohmann::json{{"command", command}});
    const auto interval = std::chrono::milliseconds(static_cast<long>(s.heartbeat_s * 1000));
    const auto silence = std::chrono::milliseconds(static_cast<long>(s.lost_after_s * 1000));
    auto last_seen = Clock::now(), next_ping = Clock::now() + interval;
    while (true) {
      auto wait = std::chrono::duration_cast<std::chrono::milliseconds>(next_ping - Clock::now());
      if (auto f = conn->receive(static_cast<int>(std::max<long>(0, wait.count())))) {
        last_seen = Clock::now();
        if (f->type == FrameType::kStdout) write_all(STDOUT_FILENO, f->payload);
        if (f->type == FrameType::kStderr) write_all(STDERR_FILENO, f->payload);
        if (f->type == FrameType::kExit) {
          auto j = f->json();
          int sig = j.value("signal", 0);
          return sig ? 128 + sig : j.value("code", 255);
        }
      }
      if (Clock::now() >= next_ping) {
        next_ping = Clock::now() + interval;
        conn->send(FrameType::kPing, std::string_view());
        if (Clock::now() - last_seen > silence) {
          fmt::print(stderr, "qecloud agent exec: the agent on {} has been silent for {:.0f} s\n", host,
                     s.lost_after_s);
          return 255;
        }
      }
    }
  } catch (const Error& e) {
    fmt::print(stderr, "qecloud agent exec: {}: {}\n", host, e.what());
    return 255;
  }
}

}  // namespace qecloud::agent
