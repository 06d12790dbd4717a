#include "agent/rendezvous.hpp"

#include <fcntl.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <list>

#include <fmt/format.h>

#include "agent/wire.hpp"
#include "core/crypto.hpp"
#include "core/error.hpp"

namespace qecloud::agent {

using Clock = std::chrono::steady_clock;

namespace {
constexpr auto kHandshakeTimeout = std::chrono::seconds(10);
}  // namespace

struct RendezvousServer::Conn {
  int fd;
  Channel channel;
  std::string address;
  Clock::time_point opened, last_seen;
  std::string in, out;
  int node = -1;  // set once joined
  bool closing = false;
};

RendezvousServer::RendezvousServer(const NodeEnv& node, const NodeContract& settings, Log log)
    : node_(node), settings_(settings), log_(std::move(log)) {
  // Only on the job's own address when it was given: on a shared VPC the port is reachable by anything in the
  // security group, and no other interface needs it.
  listen_fd_ = listen_tcp(settings.address.empty() ? "0.0.0.0" : settings.address, settings.port);
  port_ = bound_port(listen_fd_);
  set_nonblocking(listen_fd_);
  if (::pipe2(wake_, O_CLOEXEC | O_NONBLOCK) != 0) throw Error(std::string("pipe: ") + std::strerror(errno));
  thread_ = std::thread([this] { loop(); });
}

RendezvousServer::~RendezvousServer() {
  finish(1);
  ::close(listen_fd_);
  ::close(wake_[0]);
  ::close(wake_[1]);
}

std::vector<int> RendezvousServer::wait_for_children(Clock::time_point deadline) {
  std::unique_lock lock(mu_);
  auto all_joined = [&] { return static_cast<int>(joined_.size()) == node_.num_nodes - 1; };
  changed_.wait_until(lock, deadline, all_joined);
  complete_ = all_joined();  // from now on a child that goes away is lost, not waited for again
  std::vector<int> missing;
  for (int i = 0; i < node_.num_nodes; ++i)
    if (i != node_.main_index && !joined_.count(i)) missing.push_back(i);
  return missing;
}

std::vector<PeerInfo> RendezvousServer::peers() const {
  std::lock_guard lock(mu_);
  std::vector<PeerInfo> out;
  for (const auto& [i, p] : joined_) out.push_back(p);
  return out;
}

std::string RendezvousServer::own_address() const {
  std::lock_guard lock(mu_);
  return own_address_;
}

std::optional<std::string> RendezvousServer::lost() const {
  std::lock_guard lock(mu_);
  return lost_;
}

std::optional<std::string> RendezvousServer::wait_for_loss(Clock::time_point until) {
  std::unique_lock lock(mu_);
  changed_.wait_until(lock, until, [&] { return lost_.has_value(); });
  return lost_;
}

int RendezvousServer::refused() const {
  std::lock_guard lock(mu_);
  return refused_;
}

void RendezvousServer::request_store(const StoreRequest& request) {
  {
    std::lock_guard lock(mu_);
    store_request_ = request;
  }
  char c = 's';
  (void)!::write(wake_[1], &c, 1);
}

std::vector<ChildAnswer> RendezvousServer::wait_for_stored(Clock::time_point deadline) {
  std::unique_lock lock(mu_);
  auto settled = [&](int node) { return stored_.count(node) || gone_.count(node); };
  changed_.wait_until(lock, deadline, [&] {
    return std::all_of(joined_.begin(), joined_.end(), [&](const auto& j) { return settled(j.first); });
  });
  std::vector<ChildAnswer> out;
  for (const auto& [node, peer] : joined_) {
    ChildAnswer a{node, std::nullopt, ""};
    if (auto it = stored_.find(node); it != stored_.end() && it->second)
      a.stored = it->second;
    else if (it != stored_.end())
      a.missing = "answered with a malformed list";
    else if (auto g = gone_.find(node); g != gone_.end())
      a.missing = "was lost (" + g->second + ")";
    else
      a.missing = "did not answer by the deadline", a.pending = true;
    out.push_back(std::move(a));
  }
  return out;
}

void RendezvousServer::finish(int exit_code) {
  {
    std::lock_guard lock(mu_);
    if (stopped_) return;
    stopped_ = true;
    finish_code_ = exit_code;
  }
  char c = 'x';
  (void)!::write(wake_[1], &c, 1);
  if (thread_.joinable()) thread_.join();
}

void RendezvousServer::refuse(Conn& c, const std::string& why) {
  log_(fmt::format("refused a connection from {}: {}", c.address, why));
  c.closing = true;
  std::lock_guard lock(mu_);
  ++refused_;
}

void RendezvousServer::handle_frame(Conn& c, const Frame& f, Clock::time_point now) {
  c.last_seen = now;
  if (c.node < 0) {  // the first frame must be a join
    if (f.type != FrameType::kJoin) return refuse(c, "it did not start with a join");
    auto j = f.json();
    PeerInfo p;
    p.node = j.value("node", -1);
    p.address = j.value("address", "");
    p.slots = j.value("slots", 0);
    p.hostname = j.value("hostname", "");
    p.exec_port = j.value("exec_port", settings_.port);
    if (p.node < 0 || p.node >= node_.num_nodes || p.node == node_.main_index)
      return refuse(c,
                    fmt::format("node index {} is not a child of this {}-node job", p.node, node_.num_nodes));
    if (p.slots < 1) return refuse(c, fmt::format("node {} offers {} slots", p.node, p.slots));
    // The address the main sees the child on is one the main can reach it at; what the child says of itself
    // may be an address only it has (a container's link-local ecs-eth0). Logged when they differ.
    const std::string seen = c.address.substr(0, c.address.rfind(':'));
    if (!p.address.empty() && p.address != seen)
      log_(fmt::format("node {} says it is at {}; using {}, where its connection comes from", p.node,
                       p.address, seen));
    p.address = seen;
    {
      std::lock_guard lock(mu_);
      if (own_address_.empty()) own_address_ = local_address(c.fd);
      if (joined_.count(p.node)) {
        ++refused_;
        c.closing = true;
        log_(fmt::format("refused a second join of node {} from {}", p.node, c.address));
        return;
      }
      joined_[p.node] = p;
      c.node = p.node;
    }
    c.out += c.channel.seal(FrameType::kWelcome, nlohmann::json::object());
    log_(fmt::format("node {} joined from {} ({}, {} slots)", p.node, p.address, p.hostname, p.slots));
    changed_.notify_all();
  }
  if (f.type == FrameType::kStored) {
    auto part = stored_part_of(f.json(), c.node);
    {
      std::lock_guard lock(mu_);
      stored_[c.node] = part;
    }
    if (part)
      log_(fmt::format("node {} stored its restart data: {} file(s){}", c.node, part->part.files.size(),
                       part->failed.empty() ? "" : fmt::format(", {} not stored", part->failed.size())));
    changed_.notify_all();
  }
  // Other frames from a child are heartbeats; anything else is ignored.
}

struct RendezvousServer::LoopState {
  std::list<Conn> conns;
  Clock::time_point now = Clock::now();
  Clock::time_point next_ping;
  std::optional<int> done;  // the job's exit code, once finish() was called
  Clock::time_point done_deadline;
};

void RendezvousServer::declare_lost(Conn& c, const std::string& why) {
  std::lock_guard lock(mu_);
  if (!complete_) {
    // Before every node has joined, a child that goes away is only not there yet: mpirun must not start
    // without it. It may join again (its agent restarted); the deadline names it if it does not.
    joined_.erase(c.node);
    log_(fmt::format("node {} ({}) left before every node had joined ({}); waiting for it again", c.node,
                     c.address, why));
    c.closing = true;
    changed_.notify_all();
    return;
  }
  gone_.emplace(c.node, why);
  if (!lost_) {
    lost_ = fmt::format("node {} ({}) lost: {}", c.node, c.address, why);
    log_(*lost_);
  }
  changed_.notify_all();
}

// finish() was called: DONE to every joined child, then a second for the bytes to leave.
void RendezvousServer::take_finish(LoopState& st) {
  char buf[16];
  while (::read(wake_[0], buf, sizeof buf) > 0) {
  }
  std::lock_guard lock(mu_);
  if (!finish_code_ || st.done) return;
  st.done = finish_code_;
  st.done_deadline = st.now + std::chrono::seconds(1);
  for (auto& c : st.conns)
    if (c.node >= 0) c.out += c.channel.seal(FrameType::kDone, nlohmann::json{{"exit_code", *st.done}});
}

// request_store() was called: STORE to every joined child, once.
void RendezvousServer::take_store_request(LoopState& st) {
  std::lock_guard lock(mu_);
  if (!store_request_ || store_sent_ || st.done) return;
  store_sent_ = true;
  for (auto& c : st.conns)
    if (c.node >= 0 && !c.closing) c.out += c.channel.seal(FrameType::kStore, to_json(*store_request_));
}

void RendezvousServer::accept_new(LoopState& st) {
  while (true) {
    int fd = ::accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC | SOCK_NONBLOCK);
    if (fd < 0) break;
    std::string nonce = random_bytes(kNonceSize);
    Conn c{fd, Channel(settings_.secret, nonce, /*is_server=*/true), peer_address(fd), st.now, st.now};
    c.out = make_hello(nonce);
    st.conns.push_back(std::move(c));
  }
}

// Frames in (joins, heartbeats), bytes out. A child whose connection ends or fails is lost.
void RendezvousServer::serve(LoopState& st, Conn& c, short revents) {
  if (revents & (POLLIN | POLLHUP | POLLERR)) {
    if (!read_some(c.fd, c.in)) {
      if (c.node >= 0 && !st.done) declare_lost(c, "its agent closed the connection");
      c.closing = true;
    }
    try {
      while (!c.closing)
        if (auto f = c.channel.open(c.in))
          handle_frame(c, *f, st.now);
        else
          break;
    } catch (const Error& e) {
      if (c.node >= 0 && !st.done) declare_lost(c, e.what());
      if (c.node < 0) refuse(c, e.what());
      c.closing = true;
    }
  }
  if ((revents & POLLOUT) && !c.out.empty()) {
    ssize_t w = ::send(c.fd, c.out.data(), c.out.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
    if (w > 0) c.out.erase(0, static_cast<std::size_t>(w));
  }
}

// Heartbeats out, silence in; a connection that never joined is dropped after the handshake timeout.
void RendezvousServer::heartbeats(LoopState& st) {
  if (st.now < st.next_ping) return;
  st.next_ping = st.now + to_millis(settings_.heartbeat_s);
  for (auto& c : st.conns) {
    if (c.closing) continue;
    if (c.node >= 0 && !st.done) {
      c.out += c.channel.seal(FrameType::kPing, std::string_view());
      if (st.now - c.last_seen > to_millis(settings_.lost_after_s))
        declare_lost(c, fmt::format("no heartbeat for {:.0f} s", settings_.lost_after_s));
    } else if (c.node < 0 && st.now - c.opened > kHandshakeTimeout) {
      refuse(c, "no join within 10 s");
    }
  }
}

void RendezvousServer::loop() {
  LoopState st;
  st.next_ping = Clock::now() + to_millis(settings_.heartbeat_s);
  while (true) {
    std::vector<pollfd> fds;
    fds.push_back({wake_[0], POLLIN, 0});
    fds.push_back({listen_fd_, static_cast<short>(st.done ? 0 : POLLIN), 0});
    for (auto& c : st.conns)
      fds.push_back({c.fd, static_cast<short>(POLLIN | (c.out.empty() ? 0 : POLLOUT)), 0});
    int timeout = static_cast<int>(std::max<long>(
        0, std::chrono::duration_cast<std::chrono::milliseconds>(st.next_ping - Clock::now()).count()));
    if (st.done) timeout = std::min(timeout, 50);
    if (::poll(fds.data(), fds.size(), timeout) < 0 && errno != EINTR) {
      log_(std::string("rendezvous: poll failed: ") + std::strerror(errno));
      return;
    }
    st.now = Clock::now();
    if (fds[0].revents & POLLIN) {
      take_store_request(st);  // before take_finish drains the pipe: both may be waiting
      take_finish(st);
    }
    if (fds[1].revents & POLLIN) accept_new(st);
    std::size_t i = 2;
    for (auto& c : st.conns) {
      if (i >= fds.size()) break;
      serve(st, c, fds[i++].revents);
    }
    heartbeats(st);
    for (auto it = st.conns.begin(); it != st.conns.end();) {
      if (it->closing || (st.done && it->out.empty())) {
        ::close(it->fd);
        it = st.conns.erase(it);
      } else {
        ++it;
      }
    }
    if (st.done && (st.conns.empty() || st.now > st.done_deadline)) {
      for (auto& c : st.conns) ::close(c.fd);
      return;
    }
  }
}

}  // namespace qecloud::agent
