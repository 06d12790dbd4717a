#pragma once
// The agents' wire protocol: authenticated frames over TCP, with no sshd and no keys on disk.
//
// A connection starts with the server's 21-byte hello: "QECA", version 1, then a fresh 16-byte random nonce.
// Every frame after that, in either direction, is
//     u32 payload length (big-endian) | u8 type | payload | 32-byte HMAC-SHA256 tag
// and the tag covers: direction ('C' client→server, 'S' server→client) | nonce | u64 sequence number of
// the frame in that direction | type | payload, keyed with the job's secret. So a frame is refused when it
// was made without the secret, replayed from another connection (other nonce), repeated, reordered or sent
// back the other way. Control payloads are JSON objects; STDOUT/STDERR carry raw bytes.
//
// A frame with a bad tag ends the connection; the peer is logged by address, never with the secret.
#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

namespace qecloud::agent {

// The contract's timeouts are seconds (double); the agents' waits take milliseconds.
inline std::chrono::milliseconds to_millis(double seconds) {
  return std::chrono::milliseconds(static_cast<long>(seconds * 1000));
}

enum class FrameType : std::uint8_t {
  kJoin = 1,     // child → main: {"node", "address", "slots", "hostname", "exec_port"}
  kWelcome = 2,  // main → child
  kPing = 3,     // either way, every heartbeat interval: "I am alive"
  kDone = 4,     // main → child: {"exit_code"}; the job is over, exit
  kExec = 5,     // exec client → node: {"command"} one shell command line, as ssh passes it
  kStdout = 6,   // node → exec client: raw bytes
  kStderr = 7,   // node → exec client: raw bytes
  kExit = 8,     // node → exec client: {"code", "signal"}
  kStore = 9,    // main → child: {"outdir", "prefix", "seconds"} store your part of the restart data
                 // (restart_collect)
  kStored = 10,  // child → main: {"files": [{"name", "bytes"}], "failed": ["name (why)"]} what it stored
};

constexpr std::size_t kHelloSize = 21;
constexpr std::size_t kNonceSize = 16;
constexpr std::size_t kTagSize = 32;
constexpr std::size_t kMaxPayload = 1 << 20;

struct Frame {
  FrameType type;
  std::string payload;
  nlohmann::json json() const;  // throws qecloud::Error when the payload is not a JSON object
};

std::string make_hello(const std::string& nonce);
// The nonce of a hello, or nullopt when the bytes are not a qecloud agent's hello.
std::optional<std::string> parse_hello(std::string_view hello);

// One side of one connection: seals outgoing frames and opens incoming ones, counting sequence numbers.
class Channel {
 public:
  Channel(std::string secret, std::string nonce, bool is_server)
      : secret_(std::move(secret)), nonce_(std::move(nonce)), is_server_(is_server) {}

  std::string seal(FrameType type, std::string_view payload);
  std::string seal(FrameType type, const nlohmann::json& j) { return seal(type, std::string_view(j.dump())); }

  // Takes complete frames off the front of `buffer`. Returns nullopt when more bytes are needed; throws
  // qecloud::Error for a bad tag, an unknown type or an oversized frame (the connection must end).
  std::optional<Frame> open(std::string& buffer);

 private:
  std::string tag(char direction, std::uint64_t seq, std::uint8_t type, std::string_view payload) const;
  std::string secret_, nonce_;
  bool is_server_;
  std::uint64_t send_seq_ = 0, recv_seq_ = 0;
};

// Socket helpers (IPv4; blocking unless said otherwise). All throw qecloud::Error with the address and errno.
int listen_tcp(const std::string& address, int port, int backlog = 1024);  // port 0 = any
int bound_port(int fd);
// Connects with a timeout; -1 when the peer refuses or does not answer in time (errno kept).
int connect_tcp(const std::string& host, int port, int timeout_ms);
void send_all(int fd, std::string_view bytes);  // throws on a closed peer
// Reads what is available into buffer (appends); false at end of stream or on error.
bool read_some(int fd, std::string& buffer);
// Reads exactly n bytes within timeout_ms; nullopt on timeout or end of stream.
std::optional<std::string> read_exact(int fd, std::size_t n, int timeout_ms);
void set_nonblocking(int fd);
std::string peer_address(int fd);   // "address:port" of the other end
std::string local_address(int fd);  // this end's address, without the port ("" when unknown)
// This machine's first IPv4 address that another host could reach: not loopback, not link-local
// (169.254.0.0/16: on AWS Batch every container's ecs-eth0 has one, the same on every node, and it leads only
// to the instance's credentials endpoint — AWS ECS Developer Guide, "Task networking with the awsvpc network
// mode"). "" when it has none.
std::string primary_ipv4();
// The network (CIDR, "198.18.0.0/24") of the interface that holds `address`; nullopt when none here does.
std::optional<std::string> network_of(const std::string& address);

// A blocking client connection: the handshake done, frames in and out with timeouts.
class ClientConnection {
 public:
  // Connects, reads the hello, returns nullopt when the server does not answer or is not an agent.
  static std::optional<ClientConnection> open(const std::string& host, int port, const std::string& secret,
                                              int timeout_ms);
  ClientConnection(ClientConnection&& o) noexcept;
  ClientConnection& operator=(ClientConnection&& o) noexcept;
  ~ClientConnection();
  void send(FrameType type, std::string_view payload);
  void send(FrameType type, const nlohmann::json& j) { send(type, std::string_view(j.dump())); }
  // Waits up to timeout_ms for a frame; nullopt on timeout. Throws qecloud::Error when the connection ends
  // or a frame is not authentic.
  std::optional<Frame> receive(int timeout_ms);
  int fd() const { return fd_; }

 private:
  ClientConnection(int fd, Channel ch) : fd_(fd), channel_(std::move(ch)) {}
  int fd_;
  Channel channel_;
  std::string buffer_;
};

}  // namespace qecloud::agent
