#pragma once
// The main node's side of the rendezvous and the heartbeats: one thread, one poll() loop over every child's
// connection. Children join with their address and slot count (authenticated, see wire.hpp); the main
// wakes the moment the last one has joined — no polling interval — or gives up at a deadline naming the
// missing node indices. After that the same connections carry heartbeats both ways: a child silent for
// `lost_after_s` (process killed, link down, machine gone) is reported lost, and finish() tells every child
// the job is over.
#include <chrono>
#include <condition_variable>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "agent/node_env.hpp"
#include "agent/restart_collect.hpp"
#include "job/node_contract.hpp"

namespace qecloud::agent {

struct PeerInfo {
  int node = 0;
  std::string address;
  int slots = 1;
  std::string hostname;
  int exec_port = 0;
};

class RendezvousServer {
 public:
  using Log = std::function<void(const std::string&)>;  // called from the server's thread too
  // Listens on settings.port (0 = any) at once; throws qecloud::Error when it cannot.
  RendezvousServer(const NodeEnv& node, const NodeContract& settings, Log log);
  ~RendezvousServer();  // finish(1) if not finished
  RendezvousServer(const RendezvousServer&) = delete;
  RendezvousServer& operator=(const RendezvousServer&) = delete;

  int port() const { return port_; }
  // Blocks until every child has joined (empty result) or the deadline passes (the missing indices).
  std::vector<int> wait_for_children(std::chrono::steady_clock::time_point deadline);
  std::vector<PeerInfo> peers()
      const;  // joined children, by node index; each at the address it connected from
  // This node's address as the children reach it (the local end of their connections); "" before a join.
  std::string own_address() const;
  // Why the first lost child was declared lost; nullopt while all are alive. Only after everyone joined: a
  // child that goes away before is taken off the joined list and waited for again.
  std::optional<std::string> lost() const;
  // Blocks until a child is lost or `until` passes; returns lost().
  std::optional<std::string> wait_for_loss(std::chrono::steady_clock::time_point until);
  int refused() const;  // connections refused (bad signature, bad join)
  // Asks every joined child to store its part of the restart data (FrameType::kStore, restart_collect.hpp);
  // the answers (kStored) are kept as they come.
  void request_store(const StoreRequest& request);
  // Blocks until every joined child answered or is gone, or `deadline` passes. One entry per joined child,
  // in node order: its answer, or why there is none (lost, no answer by the deadline, a malformed answer).
  std::vector<ChildAnswer> wait_for_stored(std::chrono::steady_clock::time_point deadline);
  // Sends DONE{exit_code} to every joined child, waits briefly for the bytes to leave, stops the thread.
  void finish(int exit_code);

 private:
  struct Conn;
  struct LoopState;
  void loop();
  // The loop's steps, one poll() round at a time.
  void take_finish(LoopState& st);
  void take_store_request(LoopState& st);
  void accept_new(LoopState& st);
  void serve(LoopState& st, Conn& c, short revents);
  void heartbeats(LoopState& st);
  void declare_lost(Conn& c, const std::string& why);
  void handle_frame(Conn& c, const struct Frame& f, std::chrono::steady_clock::time_point now);
  void refuse(Conn& c, const std::string& why);

  NodeEnv node_;
  NodeContract settings_;
  Log log_;
  int listen_fd_ = -1, port_ = 0;
  int wake_[2] = {-1, -1};
  std::thread thread_;

  mutable std::mutex mu_;
  std::condition_variable changed_;
  std::map<int, PeerInfo> joined_;
  std::optional<std::string> lost_;
  std::map<int, std::string> gone_;  // every child lost after all joined, and why
  std::optional<StoreRequest> store_request_;
  bool store_sent_ = false;
  std::map<int, std::optional<StoredPart>> stored_;  // answers; nullopt: malformed
  std::string own_address_;
  bool complete_ = false;  // every child joined: a child that goes away now is lost
  int refused_ = 0;
  std::optional<int> finish_code_;
  bool stopped_ = false;
};

}  // namespace qecloud::agent
