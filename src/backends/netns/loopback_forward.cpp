#include "backends/netns/loopback_forward.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sched.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include <fmt/format.h>

#include "core/error.hpp"

namespace qecloud::backends::netns {
namespace {

sockaddr_in loopback(int port) {
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(static_cast<std::uint16_t>(port));
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  return a;
}

sockaddr_in ipv4(const std::string& address, int port) {
  sockaddr_in a = loopback(port);
  if (inet_pton(AF_INET, address.c_str(), &a.sin_addr) != 1)
    throw Error(fmt::format("'{}' is not an IPv4 address", address));
  return a;
}

// A listening socket on address:port inside the namespace at `ns_path`. A network namespace is a per-thread
// attribute, and a socket stays in the namespace it was made in.
int listen_inside(const std::string& ns_path, const std::string& address, int port) {
  const sockaddr_in where = ipv4(address, port);
  int fd = -1;
  std::string error;
  std::thread([&] {
    int ns = ::open(ns_path.c_str(), O_RDONLY | O_CLOEXEC);
    if (ns < 0 || ::setns(ns, CLONE_NEWNET) != 0) {
      error = fmt::format("cannot enter {}: {}", ns_path, std::strerror(errno));
      if (ns >= 0) ::close(ns);
      return;
    }
    ::close(ns);
    fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    int one = 1;
    ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (fd < 0 || ::bind(fd, reinterpret_cast<const sockaddr*>(&where), sizeof where) != 0 ||
        ::listen(fd, 64) != 0) {
      error = fmt::format("cannot listen on {}:{} in {}: {}", address, port, ns_path, std::strerror(errno));
      if (fd >= 0) ::close(fd);
      fd = -1;
    }
  }).join();
  if (fd < 0) throw Error(error);
  return fd;
}

}  // namespace

LoopbackForwarder::LoopbackForwarder(const std::vector<std::string>& netns_paths, int port)
    : LoopbackForwarder(netns_paths, "127.0.0.1", port, port) {}

LoopbackForwarder::LoopbackForwarder(const std::vector<std::string>& netns_paths,
                                     const std::string& inside_address, int inside_port, int host_port)
    : port_(host_port) {
  try {
    for (const auto& p : netns_paths) listeners_.push_back(listen_inside(p, inside_address, inside_port));
    if (::pipe2(wake_, O_CLOEXEC) != 0) throw Error(std::string("pipe: ") + std::strerror(errno));
  } catch (...) {
    for (int fd : listeners_) ::close(fd);
    throw;
  }
  acceptor_ = std::thread([this] { accept_loop(); });
}

LoopbackForwarder::~LoopbackForwarder() {
  stop_ = true;
  (void)!::write(wake_[1], "x", 1);
  acceptor_.join();
  {
    std::lock_guard lock(mu_);
    for (int fd : open_fds_) ::shutdown(fd, SHUT_RDWR);  // ends every relay's poll
  }
  for (auto& t : relays_) t.join();
  for (int fd : listeners_) ::close(fd);
  ::close(wake_[0]);
  ::close(wake_[1]);
}

void LoopbackForwarder::accept_loop() {
  std::vector<pollfd> fds;
  for (int fd : listeners_) fds.push_back({fd, POLLIN, 0});
  fds.push_back({wake_[0], POLLIN, 0});
  while (!stop_) {
    if (::poll(fds.data(), fds.size(), -1) < 0 && errno != EINTR) return;
    for (std::size_t i = 0; i + 1 < fds.size(); ++i) {
      if (!(fds[i].revents & POLLIN)) continue;
      int inside = ::accept4(fds[i].fd, nullptr, nullptr, SOCK_CLOEXEC);
      if (inside < 0) continue;
      int outside = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
      sockaddr_in a = loopback(port_);
      if (outside < 0 || ::connect(outside, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
        ::close(inside);  // the node sees a refused/closed connection, as it would without the server
        if (outside >= 0) ::close(outside);
        continue;
      }
      std::lock_guard lock(mu_);
      open_fds_.push_back(inside);
      open_fds_.push_back(outside);
      relays_.emplace_back([this, inside, outside] { relay(inside, outside); });
    }
  }
}

void LoopbackForwarder::relay(int inside, int outside) {
  pollfd fds[2] = {{inside, POLLIN, 0}, {outside, POLLIN, 0}};
  char buf[64 << 10];
  bool open[2] = {true, true};
  while (open[0] || open[1]) {
    if (::poll(fds, 2, -1) < 0) {
      if (errno == EINTR) continue;
      break;
    }
    bool done = false;
    for (int k = 0; k < 2; ++k) {
      if (!open[k] || !(fds[k].revents & (POLLIN | POLLHUP | POLLERR))) continue;
      ssize_t n = ::read(fds[k].fd, buf, sizeof buf);
      if (n <= 0) {  // that side is done sending: pass the half-close on
        open[k] = false;
        fds[k].events = 0;
        ::shutdown(fds[1 - k].fd, SHUT_WR);
        if (n < 0) done = true;
        continue;
      }
      for (ssize_t off = 0; off < n;) {
        ssize_t w = ::write(fds[1 - k].fd, buf + off, static_cast<std::size_t>(n - off));
        if (w <= 0) {
          done = true;
          break;
        }
        off += w;
      }
    }
    if (done || stop_) break;
  }
  std::lock_guard lock(mu_);
  for (int fd : {inside, outside}) {
    open_fds_.erase(std::remove(open_fds_.begin(), open_fds_.end(), fd), open_fds_.end());
    ::close(fd);
  }
}

}  // namespace qecloud::backends::netns
