#pragma once
// A node's launch service: where `qecloud agent exec` (mpirun's remote launcher) asks for a command to run,
// as sshd would be asked. On a shared network (an AWS VPC) the port is reachable by anything in the security
// group, so nothing is spent on a connection before it proves it has the job's secret: the handshake runs in
// the node's own poll loop, at most kMaxPending at once, each with a deadline; only an authentic launch
// request gets a thread, at most kMaxSessions at once; finished sessions are joined as they end.
#include <poll.h>
#include <sys/types.h>

#include <atomic>
#include <chrono>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "agent/agent.hpp"
#include "agent/wire.hpp"
#include "job/node_contract.hpp"

namespace qecloud::agent {

class ExecServer {
 public:
  static constexpr std::size_t kMaxPending = 64;   // handshakes in progress
  static constexpr std::size_t kMaxSessions = 64;  // commands running (a node runs one orted per job)
  static constexpr std::chrono::seconds kHandshakeTimeout{10};

  // Listens on the contract's address (every interface when none was given) and exec port. Throws
  // qecloud::Error when it cannot.
  ExecServer(const NodeContract& c, std::string cwd, Log log);
  ~ExecServer();  // stop()
  ExecServer(const ExecServer&) = delete;
  ExecServer& operator=(const ExecServer&) = delete;

  int port() const { return port_; }
  // Appends the listening socket and the handshakes' sockets to `fds`; service() reads them back.
  void add_poll_fds(std::vector<pollfd>& fds) const;
  // After poll(): accepts, advances handshakes, starts sessions for authentic requests, joins finished ones.
  // `first` is where add_poll_fds began in `fds`.
  void service(const std::vector<pollfd>& fds, std::size_t first);
  // Kills every process group a session started and joins every session.
  void stop();
  int refused() const { return refused_; }
  std::size_t sessions() const;

 private:
  struct Pending;
  struct Session;
  void accept_new();
  void advance(Pending& p, short revents);
  void start_session(Pending& p, std::string command);
  void refuse(Pending& p, const std::string& why);
  void reap();

  NodeContract c_;
  std::string cwd_;
  Log log_;
  int listen_fd_ = -1, port_ = 0;
  std::vector<std::unique_ptr<Pending>> pending_;
  std::vector<std::unique_ptr<Session>> sessions_;
  std::mutex groups_mu_;
  std::set<pid_t> groups_;  // process groups of running commands: leaving kills them all
  int refused_ = 0;
  std::chrono::steady_clock::time_point last_refusal_log_{};
};

}  // namespace qecloud::agent
