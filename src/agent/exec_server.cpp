#include "agent/exec_server.hpp"

#include <fcntl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <csignal>

#include <fmt/format.h>

#include "core/crypto.hpp"
#include "core/error.hpp"
#include "core/process.hpp"

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

namespace qecloud::agent {
namespace {

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

// Relays the command's stdout/stderr until both close, pinging the launcher. Throws qecloud::Error when the
// launcher goes away or silent.
void relay_output(int fd, Channel& ch, std::string& in, int (&outs)[2], const NodeContract& s) {
  auto last_seen = Clock::now(), next_ping = Clock::now() + to_millis(s.heartbeat_s);
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
      next_ping = Clock::now() + to_millis(s.heartbeat_s);
      send_all(fd, ch.seal(FrameType::kPing, std::string_view()));
      if (Clock::now() - last_seen > to_millis(s.lost_after_s)) throw Error("the launcher went silent");
    }
  }
}

}  // namespace

struct ExecServer::Pending {
  int fd = -1;
  std::string peer;
  Channel channel;
  std::string in;
  Clock::time_point deadline;
};

struct ExecServer::Session {
  std::thread thread;
  std::atomic<bool> done{false};
};

ExecServer::ExecServer(const NodeContract& c, std::string cwd, Log log)
    : c_(c), cwd_(std::move(cwd)), log_(std::move(log)) {
  listen_fd_ = listen_tcp(c.address.empty() ? "0.0.0.0" : c.address, c.exec_port < 0 ? c.port : c.exec_port);
  port_ = bound_port(listen_fd_);
  set_nonblocking(listen_fd_);
}

ExecServer::~ExecServer() {
  stop();
}

void ExecServer::add_poll_fds(std::vector<pollfd>& fds) const {
  fds.push_back({listen_fd_, POLLIN, 0});
  for (const auto& p : pending_) fds.push_back({p->fd, POLLIN, 0});
}

void ExecServer::service(const std::vector<pollfd>& fds, std::size_t first) {
  // The handshakes first, by the indices add_poll_fds gave them (accept_new appends new ones after).
  const std::size_t n = std::min(pending_.size(), fds.size() - first - 1);
  for (std::size_t i = 0; i < n; ++i)
    if (pending_[i]->fd >= 0) advance(*pending_[i], fds[first + 1 + i].revents);
  if (fds[first].revents & POLLIN) accept_new();
  const auto now = Clock::now();
  for (auto& p : pending_)
    if (p->fd >= 0 && now > p->deadline) refuse(*p, "no launch request within 10 s");
  std::erase_if(pending_, [](const auto& p) { return p->fd < 0; });
  reap();
}

void ExecServer::accept_new() {
  while (true) {
    int fd = ::accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC | SOCK_NONBLOCK);
    if (fd < 0) return;
    if (pending_.size() >= kMaxPending) {  // a flood: the oldest legitimate request is still in the list
      ++refused_;
      ::close(fd);
      continue;
    }
    std::string nonce = random_bytes(kNonceSize);
    auto p = std::make_unique<Pending>(
        Pending{fd, peer_address(fd), Channel(c_.secret, nonce, true), {}, Clock::now() + kHandshakeTimeout});
    // 21 bytes into an empty socket buffer: a non-blocking send takes them whole or the peer is gone.
    const std::string hello = make_hello(nonce);
    if (::send(fd, hello.data(), hello.size(), MSG_NOSIGNAL | MSG_DONTWAIT) !=
        static_cast<ssize_t>(hello.size())) {
      ::close(fd);
      continue;
    }
    pending_.push_back(std::move(p));
  }
}

void ExecServer::advance(Pending& p, short revents) {
  if (!(revents & (POLLIN | POLLHUP | POLLERR))) return;
  if (!read_some(p.fd, p.in)) return refuse(p, "connection closed");
  try {
    auto f = p.channel.open(p.in);  // a frame made without the secret throws here: nothing was spent on it
    if (!f) return;
    if (f->type != FrameType::kExec) return refuse(p, "not a launch request");
    start_session(p, f->json().value("command", ""));
  } catch (const Error& e) {
    refuse(p, e.what());
  }
}

void ExecServer::refuse(Pending& p, const std::string& why) {
  ++refused_;
  // A flood of refusals is logged once a second, not once a connection.
  if (Clock::now() - last_refusal_log_ > 1s) {
    log_(fmt::format("refused a launch request from {}: {} ({} refused so far)", p.peer, why, refused_));
    last_refusal_log_ = Clock::now();
  }
  ::close(p.fd);
  p.fd = -1;
}

void ExecServer::start_session(Pending& p, std::string command) {
  reap();
  if (sessions_.size() >= kMaxSessions) return refuse(p, "too many launches at once");
  ::fcntl(p.fd, F_SETFL, ::fcntl(p.fd, F_GETFL) & ~O_NONBLOCK);  // the session's relay blocks in poll()
  auto s = std::make_unique<Session>();
  Session* session = s.get();
  session->thread = std::thread([this, session, fd = p.fd, peer = p.peer, ch = std::move(p.channel),
                                 in = std::move(p.in), command = std::move(command)]() mutable {
    int out_pipe[2], err_pipe[2];
    pid_t pid = -1;
    if (::pipe2(out_pipe, O_CLOEXEC) == 0 && ::pipe2(err_pipe, O_CLOEXEC) == 0) {
      try {
        pid = spawn_shell(command, cwd_, out_pipe[1], err_pipe[1]);
      } catch (const Error& e) {
        log_(fmt::format("cannot launch for {}: {}", peer, e.what()));
      }
      ::close(out_pipe[1]), ::close(err_pipe[1]);
    }
    if (pid > 0) {
      {
        std::lock_guard lock(groups_mu_);
        groups_.insert(pid);
      }
      log_(fmt::format("launching for {}: {:.120}", peer, command));
      int outs[2] = {out_pipe[0], err_pipe[0]};
      bool client_gone = false;
      try {
        relay_output(fd, ch, in, outs, c_);
      } catch (const Error& e) {
        log_(fmt::format("launch for {} ends: {}; killing what it started", peer, e.what()));
        client_gone = true;
        ::kill(-pid, SIGKILL);
      }
      for (int o : outs)
        if (o >= 0) ::close(o);
      const ExitStatus st = wait_exit(pid);
      ::kill(-pid, SIGKILL);  // anything the command left behind in its group
      {
        std::lock_guard lock(groups_mu_);
        groups_.erase(pid);
      }
      if (!client_gone) {
        try {
          send_all(fd, ch.seal(FrameType::kExit, nlohmann::json{{"code", st.code}, {"signal", st.signal}}));
        } catch (const Error&) {
        }
      }
    }
    ::close(fd);
    session->done = true;
  });
  p.fd = -1;  // the session owns the socket now
  sessions_.push_back(std::move(s));
}

void ExecServer::reap() {
  std::erase_if(sessions_, [](const std::unique_ptr<Session>& s) {
    if (!s->done) return false;
    s->thread.join();
    return true;
  });
}

std::size_t ExecServer::sessions() const {
  return sessions_.size();
}

void ExecServer::stop() {
  {
    std::lock_guard lock(groups_mu_);
    for (pid_t g : groups_) ::kill(-g, SIGKILL);
  }
  for (auto& s : sessions_)
    if (s->thread.joinable()) s->thread.join();
  sessions_.clear();
  for (auto& p : pending_)
    if (p->fd >= 0) ::close(p->fd);
  pending_.clear();
  if (listen_fd_ >= 0) ::close(listen_fd_), listen_fd_ = -1;
}

}  // namespace qecloud::agent
