// A child node: join the main, keep the heartbeat, run the commands OpenMPI's launcher sends (its daemon,
// orted) as ssh would, store this node's part of the restart data when the main asks, and leave — killing
// what it started — when the main ends the job or is gone.
//
// A SIGTERM does not end a child: AWS Batch stops every node's container at once, and the ranks here must
// keep running until pw.x has stopped at its next check (the main's EXIT file) and this node's restart files
// are stored. The child keeps serving until the main says DONE or its own deadline, just before the SIGKILL
// that follows the SIGTERM by the contract's kill window.
#include <poll.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <csignal>
#include <cstring>
#include <filesystem>
#include <future>
#include <thread>

#include <fmt/format.h>

#include "agent/agent.hpp"
#include "agent/exec_server.hpp"
#include "agent/restart_collect.hpp"
#include "agent/stop_deadlines.hpp"
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

// One child's life after its input is here: the loop over the main's connection and the launch service.
class ChildNode {
 public:
  ChildNode(const NodeEnv& node, const NodeContract& s, const Log& log, fs::path work)
      : node_(node), s_(s), log_(log), work_(std::move(work)) {}
  void fetch_bundle();
  int run();

 private:
  int leave(int code);
  bool past_own_deadline();  // after a SIGTERM; logs it once
  std::optional<int> read_frames();
  void start_store(const nlohmann::json& request);
  void answer_store();  // once the store is done
  void say(const std::string& what) { log_(fmt::format("node {}: {}", node_.node_index, what)); }

  const NodeEnv& node_;
  const NodeContract& s_;
  const Log& log_;
  fs::path work_;
  std::unique_ptr<storage::ObjectStore> store_;
  JobLocation location_;
  fs::file_time_type fetched_at_ = fs::file_time_type::min();  // older restart files came with the bundle
  std::unique_ptr<ExecServer> exec_;
  std::optional<ClientConnection> main_;
  StopSignals signals_;
  std::optional<Clock::time_point> own_deadline_;
  bool told_signal_ = false;
  std::future<StoredPart> storing_;
};

void ChildNode::fetch_bundle() {
  if (s_.store_url.empty() || s_.store_job.empty()) return;
  try {  // the ranks here read the input bundle too
    store_ = storage::open_store(s_.store_url, {s_.store_region});
    location_ = JobLocation::of_key(s_.store_url, s_.store_job);
    const int n = fetch_input_bundle(*store_, location_, work_.string());
    fetched_at_ = fs::file_time_type::clock::now();
    say(fmt::format("fetched {} input file(s) for the ranks here", n));
  } catch (const std::exception& e) {  // the ranks will say what they miss; the job is the main's to end
    say(fmt::format("cannot fetch the input bundle: {}", e.what()));
  }
}

int ChildNode::leave(int code) {
  if (storing_.valid()) storing_.wait();  // bounded: it starts no file after its deadline
  exec_->stop();
  return code;
}

bool ChildNode::past_own_deadline() {
  if (!signals_.received()) return false;
  if (!told_signal_) {
    told_signal_ = true;
    const auto at = signals_.received_at().value_or(Clock::now());
    own_deadline_ = child_deadline(at, s_.kill_window_s);
    say(fmt::format("{} received at {}; keeping the ranks here and serving the main until it ends the job{}",
                    strsignal(signals_.received()), wall_time(at),
                    own_deadline_ ? fmt::format(" or t+{:.3g} s (SIGKILL expected at t+{:.3g} s)",
                                                std::chrono::duration<double>(*own_deadline_ - at).count(),
                                                s_.kill_window_s)
                                  : std::string()));
  }
  if (own_deadline_ && Clock::now() >= *own_deadline_) {
    say("the SIGKILL is near and the main has not ended the job; leaving");
    return true;
  }
  return false;
}

void ChildNode::start_store(const nlohmann::json& j) {
  std::string why;
  const auto request = store_request_of(j, why);
  if (storing_.valid() || !request) {
    if (!request) say("refused a store request: " + why);
    return;
  }
  std::optional<Clock::time_point> asked_by;
  if (request->seconds > 0) asked_by = Clock::now() + to_millis(request->seconds);
  // The main's deadline, or this node's own once a SIGTERM comes (read afresh each round: it may come now).
  auto deadline = [this, asked_by]() -> std::optional<Clock::time_point> {
    const auto at = signals_.received_at();
    const auto own = at ? child_deadline(*at, s_.kill_window_s) : std::nullopt;
    if (own && asked_by) return std::min(*own, *asked_by);
    return own ? own : asked_by;
  };
  const fs::path outdir = (work_ / request->outdir).lexically_normal();  // an absolute outdir stays as it is
  storing_ = std::async(std::launch::async, [this, outdir, prefix = request->prefix, deadline] {
    const int node = node_.node_index;
    if (!store_) return StoredPart{{node, {}}, {"this node has no store (no QECLOUD_STORE)"}};
    try {
      const NodeFiles files = node_restart_files(outdir.string(), prefix, fetched_at_);
      return store_part_until(*store_, location_, node, files.fresh, deadline);
    } catch (const std::exception& e) {
      return StoredPart{{node, {}}, {std::string("the restart files (") + e.what() + ")"}};
    }
  });
}

void ChildNode::answer_store() {
  if (!storing_.valid() || storing_.wait_for(0s) != std::future_status::ready) return;
  const StoredPart part = storing_.get();
  std::uintmax_t bytes = 0;
  for (const auto& f : part.part.files) bytes += f.second;
  say(fmt::format("stored {} restart file(s), {:.1f} MB, under {}{}", part.part.files.size(),
                  static_cast<double>(bytes) / 1e6, restart_key(location_, node_.node_index, ""),
                  part.failed.empty() ? "" : fmt::format("; {} not stored", part.failed.size())));
  main_->send(FrameType::kStored, to_json(part));
}

// Frames from the main; the job's exit code when it said DONE.
std::optional<int> ChildNode::read_frames() {
  while (auto f = main_->receive(0)) {
    if (f->type == FrameType::kDone) {
      const int code = f->json().value("exit_code", -1);
      say(fmt::format("the main ended the job (exit code {})", code));
      return code;
    }
    if (f->type == FrameType::kStore) start_store(f->json());
  }
  return std::nullopt;
}

int ChildNode::run() {
  const std::string address = !s_.address.empty() ? s_.address : primary_ipv4();
  const int slots = node_slots(node_, s_);
  exec_ = std::make_unique<ExecServer>(s_, work_.string(), log_);
  main_ = join_main(node_, s_,
                    {{"node", node_.node_index},
                     {"address", address},
                     {"slots", slots},
                     {"hostname", hostname()},
                     {"exec_port", exec_->port()}},
                    signals_, log_);
  if (!main_) return leave(1);
  log_(fmt::format("node {} ({}, {}, {} slots) joined the main at {}", node_.node_index, hostname(), address,
                   slots, node_.main_address));
  auto last_seen = Clock::now(), next_ping = Clock::now();
  std::vector<pollfd> fds;
  while (!past_own_deadline()) {
    fds.assign(1, pollfd{main_->fd(), POLLIN, 0});
    exec_->add_poll_fds(fds);
    const auto wait = std::chrono::duration_cast<std::chrono::milliseconds>(next_ping - Clock::now()).count();
    ::poll(fds.data(), fds.size(), static_cast<int>(std::clamp<long>(wait, 0, storing_.valid() ? 50 : 200)));
    exec_->service(fds, 1);
    try {
      if (fds[0].revents & (POLLIN | POLLHUP | POLLERR)) {
        last_seen = Clock::now();
        if (read_frames()) return leave(0);
      }
      answer_store();
      if (Clock::now() >= next_ping) {
        next_ping = Clock::now() + to_millis(s_.heartbeat_s);
        main_->send(FrameType::kPing, std::string_view());
      }
    } catch (const Error& e) {
      say(fmt::format("the main node is gone ({}); leaving", e.what()));
      return leave(1);
    }
    if (Clock::now() - last_seen > to_millis(s_.lost_after_s)) {
      say(fmt::format("no heartbeat from the main for {:.0f} s; leaving", s_.lost_after_s));
      return leave(1);
    }
  }
  return leave(1);
}

}  // namespace

int run_child(const NodeEnv& node, const NodeContract& s, const Log& log) {
  const fs::path work = fs::path(s.work_root) / node.job_id;  // the same path as on the main: mpirun's cwd
  fs::create_directories(work / fs::path(s.input).parent_path());  // where the ranks run, as on the main
  ChildNode child(node, s, log, work);
  child.fetch_bundle();
  return child.run();
}

}  // namespace qecloud::agent
