#include "job/node_contract.hpp"

#include <fstream>

#include <fmt/format.h>

#include "core/error.hpp"

namespace qecloud {
namespace {

std::string need(const EnvLookup& env, const char* name, const std::string& why) {
  auto v = env_text(env, name);
  if (!v) throw UsageError(fmt::format("{} is not set ({})", name, why));
  return *v;
}

std::string seconds_text(double s) {
  return fmt::format("{}", s);
}

}  // namespace

std::map<std::string, std::string> NodeContract::to_env() const {
  using namespace node_var;
  // Only what differs from the defaults: a variable the backend did not decide is left to the node's own
  // environment (a job definition's, a test harness's), which container overrides would otherwise mask.
  const NodeContract d;
  std::map<std::string, std::string> env;
  if (secret_in_store)
    env[kSecretInStore] = std::to_string(1);  // (a literal trips g++ 12's -Wrestrict)
  else
    env[kSecret] = secret;
  auto put = [&](const char* name, bool differs, const std::string& value) {
    if (differs) env[name] = value;
  };
  put(kJoinTimeout, join_timeout_s != d.join_timeout_s, std::to_string(join_timeout_s));
  put(kPort, port != d.port, std::to_string(port));
  put(kExecPort, exec_port != d.exec_port, std::to_string(exec_port));
  put(kSlots, slots != d.slots, std::to_string(slots));
  put(kHeartbeat, heartbeat_s != d.heartbeat_s, seconds_text(heartbeat_s));
  put(kLostAfter, lost_after_s != d.lost_after_s, seconds_text(lost_after_s));
  put(kOversubscribed, yield_when_idle, "1");
  put(kAddress, !address.empty(), address);
  put(kWork, work_root != d.work_root, work_root);
  put(kLauncher, launcher != d.launcher, launcher);
  put(kKillWindow, kill_window_s != d.kill_window_s, seconds_text(kill_window_s));
  if (has_job()) {
    env[kStore] = store_url;
    env[kStoreJob] = store_job;
    put(kStoreRegion, !store_region.empty(), store_region);
    env[kInput] = input;
    put(kPw, pw != d.pw, pw);
    put(kMpirun, mpirun != d.mpirun, mpirun);
    put(kGrace, grace_s != d.grace_s, std::to_string(grace_s));
    put(kRanks, ranks != 0, std::to_string(ranks));
    put(kPools, pools != 0, std::to_string(pools));
    put(kTimeLimit, time_limit_s != 0, std::to_string(time_limit_s));
    put(kRecover, !recover, "0");
  }
  return env;
}

void NodeContract::check_secret() const {
  if (secret.size() < 16)
    throw UsageError(fmt::format("{} is shorter than 16 characters", node_var::kSecret));
}

NodeContract NodeContract::from_env(const EnvLookup& env, bool need_job) {
  using namespace node_var;
  NodeContract c;
  c.secret_in_store = env_text(env, kSecretInStore) == "1";
  if (auto v = env_text(env, kSecret)) {
    c.secret = *v;
  } else if (auto file = env_text(env, kSecretFile)) {
    std::ifstream in(*file);
    std::getline(in, c.secret);
    if (c.secret.empty())
      throw UsageError(fmt::format("{}: cannot read the job's secret from {}", kSecretFile, *file));
  } else if (!c.secret_in_store) {
    need(env, kSecret, "the per-job secret that authenticates the nodes to each other");
  }
  if (!c.secret.empty()) c.check_secret();
  if (need_job) {
    const std::string why = "the main node reads the job's input from the store and keeps its outputs there";
    c.store_url = need(env, kStore, why);
    c.store_job = need(env, kStoreJob, why);
    c.input = need(env, kInput, why);
  } else {
    c.store_url = env_text(env, kStore).value_or("");
    c.store_job = env_text(env, kStoreJob).value_or("");
    c.input = env_text(env, kInput).value_or("");
  }
  c.store_region = env_text(env, kStoreRegion).value_or("");
  c.pw = env_text(env, kPw).value_or(c.pw);
  c.mpirun = env_text(env, kMpirun).value_or(c.mpirun);
  c.grace_s = env_integer(env, kGrace, c.grace_s, 0, 86400);
  c.ranks = env_integer(env, kRanks, c.ranks, 1, 1000000);
  c.pools = env_integer(env, kPools, c.pools, 1, 1000000);
  c.time_limit_s = env_integer(env, kTimeLimit, c.time_limit_s, 1, 366 * 86400);
  c.recover = env_integer(env, kRecover, 1, 0, 1) == 1;
  c.join_timeout_s = env_integer(env, kJoinTimeout, c.join_timeout_s, 1, 86400);
  c.port = env_integer(env, kPort, c.port, 1, 65535);
  c.exec_port = env_integer(env, kExecPort, c.exec_port, 0, 65535);
  c.slots = env_integer(env, kSlots, c.slots, 1, 100000);
  c.heartbeat_s = env_seconds(env, kHeartbeat, c.heartbeat_s, 0, 86400);
  c.lost_after_s = env_seconds(env, kLostAfter, c.lost_after_s, 0, 86400);
  c.kill_window_s = env_seconds(env, kKillWindow, c.kill_window_s, 0, 3600);
  if (c.lost_after_s < 2 * c.heartbeat_s)
    throw UsageError(fmt::format("{} must be at least twice {}", kLostAfter, kHeartbeat));
  if (auto v = env(kOversubscribed)) c.yield_when_idle = *v == "1";
  c.address = env_text(env, kAddress).value_or("");
  c.launcher = env_text(env, kLauncher).value_or(c.launcher);
  if (c.launcher != "agent" && c.launcher != "scheduler")
    throw UsageError(fmt::format("{}='{}': agent or scheduler", kLauncher, c.launcher));
  if (auto w = env_text(env, kWork))
    c.work_root = *w;
  else if (auto t = env_text(env, "TMPDIR"))
    c.work_root = *t + "/qecloud-agent";
  return c;
}

}  // namespace qecloud
