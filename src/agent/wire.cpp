#include "agent/wire.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <ifaddrs.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>

#include <fmt/format.h>
#include <openssl/crypto.h>

#include "core/crypto.hpp"
#include "core/error.hpp"

namespace qecloud::agent {
namespace {

constexpr std::string_view kMagic = "QECA\x01";
constexpr std::size_t kHeaderSize = 5;

void put_u64(std::string& s, std::uint64_t v) {
  for (int i = 7; i >= 0; --i) s.push_back(static_cast<char>((v >> (8 * i)) & 0xff));
}

sockaddr_in ipv4(const std::string& address, int port) {
  sockaddr_in sa{};
  sa.sin_family = AF_INET;
  sa.sin_port = htons(static_cast<std::uint16_t>(port));
  if (address.empty() || address == "0.0.0.0") {
    sa.sin_addr.s_addr = htonl(INADDR_ANY);
  } else if (inet_pton(AF_INET, address.c_str(), &sa.sin_addr) != 1) {
    throw Error(fmt::format("'{}' is not an IPv4 address", address));
  }
  return sa;
}

}  // namespace

nlohmann::json Frame::json() const {
  auto j = nlohmann::json::parse(payload, nullptr, false);
  if (!j.is_object()) throw Error("agent protocol: a control frame does not hold a JSON object");
  return j;
}

std::string make_hello(const std::string& nonce) {
  return std::string(kMagic) + nonce;
}

std::optional<std::string> parse_hello(std::string_view hello) {
  if (hello.size() != kHelloSize || hello.substr(0, kMagic.size()) != kMagic) return std::nullopt;
  return std::string(hello.substr(kMagic.size()));
}

std::string Channel::tag(char direction, std::uint64_t seq, std::uint8_t type,
                         std::string_view payload) const {
  std::string msg;
  msg.reserve(1 + nonce_.size() + 9 + payload.size());
  msg.push_back(direction);
  msg += nonce_;
  put_u64(msg, seq);
  msg.push_back(static_cast<char>(type));
  msg += payload;
  return hmac_sha256(secret_, msg);
}

std::string Channel::seal(FrameType type, std::string_view payload) {
  if (payload.size() > kMaxPayload) throw Error("agent protocol: frame too large");
  std::string out;
  out.reserve(kHeaderSize + payload.size() + kTagSize);
  auto len = static_cast<std::uint32_t>(payload.size());
  for (int i = 3; i >= 0; --i) out.push_back(static_cast<char>((len >> (8 * i)) & 0xff));
  out.push_back(static_cast<char>(type));
  out += payload;
  out += tag(is_server_ ? 'S' : 'C', send_seq_++, static_cast<std::uint8_t>(type), payload);
  return out;
}

std::optional<Frame> Channel::open(std::string& buffer) {
  if (buffer.size() < kHeaderSize) return std::nullopt;
  std::uint32_t len = 0;
  for (int i = 0; i < 4; ++i)
    len = (len << 8) | static_cast<unsigned char>(buffer[static_cast<std::size_t>(i)]);
  if (len > kMaxPayload) throw Error("agent protocol: frame too large");
  const auto type = static_cast<std::uint8_t>(buffer[4]);
  if (type < 1 || type > static_cast<std::uint8_t>(FrameType::kStored))
    throw Error(fmt::format("agent protocol: unknown frame type {}", type));
  if (buffer.size() < kHeaderSize + len + kTagSize) return std::nullopt;
  std::string_view payload(buffer.data() + kHeaderSize, len);
  const std::string want = tag(is_server_ ? 'C' : 'S', recv_seq_, type, payload);
  if (CRYPTO_memcmp(want.data(), buffer.data() + kHeaderSize + len, kTagSize) != 0)
    throw Error("agent protocol: a frame's signature does not match (wrong job secret?)");
  ++recv_seq_;
  Frame f{static_cast<FrameType>(type), std::string(payload)};
  buffer.erase(0, kHeaderSize + len + kTagSize);
  return f;
}

int listen_tcp(const std::string& address, int port, int backlog) {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) throw Error(std::string("socket: ") + std::strerror(errno));
  int one = 1;
  ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  sockaddr_in sa = ipv4(address, port);
  if (::bind(fd, reinterpret_cast<sockaddr*>(&sa), sizeof sa) != 0 || ::listen(fd, backlog) != 0) {
    int e = errno;
    ::close(fd);
    throw Error(fmt::format("cannot listen on {}:{}: {}", address.empty() ? "0.0.0.0" : address, port,
                            std::strerror(e)));
  }
  return fd;
}

int bound_port(int fd) {
  sockaddr_in sa{};
  socklen_t len = sizeof sa;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&sa), &len);
  return ntohs(sa.sin_port);
}

int connect_tcp(const std::string& host, int port, int timeout_ms) {
  sockaddr_in sa = ipv4(host, port);
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  if (fd < 0) throw Error(std::string("socket: ") + std::strerror(errno));
  int r = ::connect(fd, reinterpret_cast<sockaddr*>(&sa), sizeof sa);
  if (r != 0 && errno == EINPROGRESS) {
    pollfd p{fd, POLLOUT, 0};
    r = ::poll(&p, 1, timeout_ms);
    if (r == 1) {
      int err = 0;
      socklen_t len = sizeof err;
      ::getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len);
      r = err == 0 ? 0 : -1;
      errno = err;
    } else {
      r = -1;
      errno = ETIMEDOUT;
    }
  }
  if (r != 0) {
    int e = errno;
    ::close(fd);
    errno = e;
    return -1;
  }
  int flags = ::fcntl(fd, F_GETFL);
  ::fcntl(fd, F_SETFL, flags & ~O_NONBLOCK);
  int one = 1;
  ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  return fd;
}

void send_all(int fd, std::string_view bytes) {
  while (!bytes.empty()) {
    ssize_t w = ::send(fd, bytes.data(), bytes.size(), MSG_NOSIGNAL);
    if (w < 0 && errno == EINTR) continue;
    if (w < 0 && errno == EAGAIN) {
      pollfd p{fd, POLLOUT, 0};
      ::poll(&p, 1, 1000);
      continue;
    }
    if (w <= 0) throw Error(std::string("agent connection lost: ") + std::strerror(errno));
    bytes.remove_prefix(static_cast<std::size_t>(w));
  }
}

bool read_some(int fd, std::string& buffer) {
  char buf[65536];
  while (true) {
    ssize_t n = ::read(fd, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && errno == EAGAIN) return true;
    if (n <= 0) return false;
    buffer.append(buf, static_cast<std::size_t>(n));
    return true;
  }
}

std::optional<std::string> read_exact(int fd, std::size_t n, int timeout_ms) {
  std::string out;
  auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  while (out.size() < n) {
    auto left =
        std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) return std::nullopt;
    pollfd p{fd, POLLIN, 0};
    int r = ::poll(&p, 1, static_cast<int>(left.count()));
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) return std::nullopt;
    char buf[256];
    ssize_t got = ::read(fd, buf, std::min(sizeof buf, n - out.size()));
    if (got < 0 && (errno == EINTR || errno == EAGAIN)) continue;
    if (got <= 0) return std::nullopt;
    out.append(buf, static_cast<std::size_t>(got));
  }
  return out;
}

void set_nonblocking(int fd) {
  ::fcntl(fd, F_SETFL, ::fcntl(fd, F_GETFL) | O_NONBLOCK);
}

std::string peer_address(int fd) {
  sockaddr_in sa{};
  socklen_t len = sizeof sa;
  if (::getpeername(fd, reinterpret_cast<sockaddr*>(&sa), &len) != 0) return "?";
  char buf[INET_ADDRSTRLEN] = {};
  ::inet_ntop(AF_INET, &sa.sin_addr, buf, sizeof buf);
  return fmt::format("{}:{}", buf, ntohs(sa.sin_port));
}

std::string local_address(int fd) {
  sockaddr_in sa{};
  socklen_t len = sizeof sa;
  if (::getsockname(fd, reinterpret_cast<sockaddr*>(&sa), &len) != 0) return "";
  char buf[INET_ADDRSTRLEN] = {};
  ::inet_ntop(AF_INET, &sa.sin_addr, buf, sizeof buf);
  return buf;
}

namespace {

// Calls fn(address, netmask) for every IPv4 address of this machine, in the kernel's order, until it says
// stop.
template <typename Fn>
void each_ipv4(Fn&& fn) {
  ifaddrs* list = nullptr;
  if (::getifaddrs(&list) != 0) return;
  for (ifaddrs* a = list; a; a = a->ifa_next) {
    if (!a->ifa_addr || a->ifa_addr->sa_family != AF_INET || !a->ifa_netmask) continue;
    const auto addr = ntohl(reinterpret_cast<sockaddr_in*>(a->ifa_addr)->sin_addr.s_addr);
    const auto mask = ntohl(reinterpret_cast<sockaddr_in*>(a->ifa_netmask)->sin_addr.s_addr);
    if (!fn(addr, mask)) break;
  }
  ::freeifaddrs(list);
}

std::string dotted(std::uint32_t host_order) {
  in_addr a{htonl(host_order)};
  char buf[INET_ADDRSTRLEN] = {};
  ::inet_ntop(AF_INET, &a, buf, sizeof buf);
  return buf;
}

}  // namespace

std::string primary_ipv4() {
  std::string found;
  each_ipv4([&](std::uint32_t addr, std::uint32_t) {
    if ((addr >> 24) == 127 || (addr >> 16) == 0xa9fe) return true;  // loopback, link-local 169.254/16
    found = dotted(addr);
    return false;
  });
  return found;
}

std::optional<std::string> network_of(const std::string& address) {
  in_addr want{};
  if (inet_pton(AF_INET, address.c_str(), &want) != 1) return std::nullopt;
  std::optional<std::string> found;
  each_ipv4([&](std::uint32_t addr, std::uint32_t mask) {
    if (addr != ntohl(want.s_addr)) return true;
    found = fmt::format("{}/{}", dotted(addr & mask), __builtin_popcount(mask));
    return false;
  });
  return found;
}

std::optional<ClientConnection> ClientConnection::open(const std::string& host, int port,
                                                       const std::string& secret, int timeout_ms) {
  int fd = connect_tcp(host, port, timeout_ms);
  if (fd < 0) return std::nullopt;
  auto hello = read_exact(fd, kHelloSize, timeout_ms);
  auto nonce = hello ? parse_hello(*hello) : std::nullopt;
  if (!nonce) {
    ::close(fd);
    return std::nullopt;
  }
  return ClientConnection(fd, Channel(secret, *nonce, /*is_server=*/false));
}

ClientConnection::ClientConnection(ClientConnection&& o) noexcept
    : fd_(o.fd_), channel_(std::move(o.channel_)), buffer_(std::move(o.buffer_)) {
  o.fd_ = -1;
}

ClientConnection& ClientConnection::operator=(ClientConnection&& o) noexcept {
  if (this != &o) {
    if (fd_ >= 0) ::close(fd_);
    fd_ = o.fd_;
    channel_ = std::move(o.channel_);
    buffer_ = std::move(o.buffer_);
    o.fd_ = -1;
  }
  return *this;
}

ClientConnection::~ClientConnection() {
  if (fd_ >= 0) ::close(fd_);
}

void ClientConnection::send(FrameType type, std::string_view payload) {
  send_all(fd_, channel_.seal(type, payload));
}

std::optional<Frame> ClientConnection::receive(int timeout_ms) {
  auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  while (true) {
    if (auto f = channel_.open(buffer_)) return f;
    auto left =
        std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    if (left.count() < 0) return std::nullopt;
    pollfd p{fd_, POLLIN, 0};
    int r = ::poll(&p, 1, static_cast<int>(left.count()));
    if (r < 0 && errno == EINTR) continue;
    if (r == 0) return std::nullopt;
    if (!read_some(fd_, buffer_)) throw Error("agent connection closed by the peer");
  }
}

}  // namespace qecloud::agent
