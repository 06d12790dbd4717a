// The node contract: what a backend gives `qecloud agent`, written by to_env() and read by from_env().
#include <gtest/gtest.h>

#include "core/env.hpp"
#include "core/error.hpp"
#include "job/node_contract.hpp"

using namespace qecloud;

namespace {
const std::string kSecret = "0123456789abcdef-job-secret";
}  // namespace

TEST(NodeContract, NeedsASecretAndTheJobOnTheMain) {
  EXPECT_THROW(NodeContract::from_env(map_env({}), false), UsageError);
  EXPECT_THROW(NodeContract::from_env(map_env({{"QECLOUD_JOB_SECRET", "short"}}), false), UsageError);
  EXPECT_THROW(NodeContract::from_env(map_env({{"QECLOUD_JOB_SECRET", kSecret}}), true), UsageError);
  auto s = NodeContract::from_env(map_env({{"QECLOUD_JOB_SECRET", kSecret},
                                           {"QECLOUD_AGENT_PORT", "9000"},
                                           {"QECLOUD_HEARTBEAT_TIMEOUT", "3"}}),
                                  false);
  EXPECT_EQ(s.port, 9000);
  EXPECT_DOUBLE_EQ(s.lost_after_s, 3);
  EXPECT_THROW(NodeContract::from_env(
                   map_env({{"QECLOUD_JOB_SECRET", kSecret}, {"QECLOUD_HEARTBEAT_TIMEOUT", "1"}}), false),
               UsageError);  // must be ≥ 2 intervals
}

TEST(NodeContract, RoundTripsThroughTheEnvironment) {
  NodeContract c;
  c.secret = kSecret;
  c.store_url = "file:///tmp/store";
  c.store_job = "jobs/20261130-000000-abcd";
  c.input = "run/scf.in";
  c.pw = "/opt/wrapper/pw.x";
  c.mpirun = "/usr/bin/mpirun.openmpi";
  c.grace_s = 5;
  c.join_timeout_s = 33;
  c.slots = 2;
  c.yield_when_idle = true;
  c.recover = false;
  c.kill_window_s = 30;
  const auto env = c.to_env();
  const NodeContract back = NodeContract::from_env(map_env(env), true);
  EXPECT_EQ(back.secret, c.secret);
  EXPECT_EQ(back.store_url, c.store_url);
  EXPECT_EQ(back.store_job, c.store_job);
  EXPECT_EQ(back.input, c.input);
  EXPECT_EQ(back.pw, c.pw);
  EXPECT_EQ(back.mpirun, c.mpirun);
  EXPECT_EQ(back.grace_s, 5);
  EXPECT_EQ(back.join_timeout_s, 33);
  EXPECT_EQ(back.slots, 2);
  EXPECT_TRUE(back.yield_when_idle);
  EXPECT_FALSE(back.recover);
  EXPECT_EQ(env.at(node_var::kRecover), "0");
  EXPECT_EQ(back.kill_window_s, 30);
  // What the backend did not decide is not written: the node's own environment keeps it.
  EXPECT_FALSE(env.count(node_var::kPort));
  EXPECT_FALSE(env.count(node_var::kHeartbeat));
  c.recover = true;  // the default: not written
  EXPECT_FALSE(c.to_env().count(node_var::kRecover));
}

TEST(NodeContract, NumbersAreStrict) {
  auto with = [](const char* name, const char* value) {
    return map_env({{node_var::kSecret, kSecret}, {name, value}});
  };
  EXPECT_THROW(NodeContract::from_env(with(node_var::kJoinTimeout, "30s"), false), UsageError);
  EXPECT_THROW(NodeContract::from_env(with(node_var::kJoinTimeout, "0"), false), UsageError);
  EXPECT_THROW(NodeContract::from_env(with(node_var::kGrace, "-1"), false), UsageError);
  EXPECT_THROW(NodeContract::from_env(with(node_var::kHeartbeat, "1x"), false), UsageError);
  EXPECT_EQ(NodeContract::from_env(with(node_var::kGrace, "0"), false).grace_s, 0);
  EXPECT_THROW(NodeContract::from_env(with(node_var::kRecover, "no"), false), UsageError);
  EXPECT_THROW(NodeContract::from_env(with(node_var::kRecover, "2"), false), UsageError);
  EXPECT_TRUE(NodeContract::from_env(with(node_var::kRecover, "1"), false).recover);
  EXPECT_TRUE(NodeContract::from_env(map_env({{node_var::kSecret, kSecret}}), false).recover);
  EXPECT_THROW(NodeContract::from_env(with(node_var::kKillWindow, "30s"), false), UsageError);
  // Children need the window too: it is not part of the job's half of the contract.
  EXPECT_EQ(NodeContract::from_env(with(node_var::kKillWindow, "2.5"), false).kill_window_s, 2.5);
}
