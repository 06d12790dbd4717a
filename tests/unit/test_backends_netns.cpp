// The netns backend's logic that needs no root: fault injection's grammar (Batch's stop included).
#include <gtest/gtest.h>

#include "backends/netns/cluster_fault.hpp"
#include "core/error.hpp"

using namespace qecloud;
namespace netns = qecloud::backends::netns;

TEST(ClusterFault, Parses) {
  auto f = netns::parse_cluster_fault("kill-agent:1:2.5");
  EXPECT_EQ(f.kind, netns::ClusterFault::Kind::kKillAgent);
  EXPECT_EQ(f.node, 1);
  EXPECT_DOUBLE_EQ(f.after_s, 2.5);
  EXPECT_EQ(netns::parse_cluster_fault("no-start:2").kind, netns::ClusterFault::Kind::kNoStart);
  EXPECT_THROW(netns::parse_cluster_fault("explode:1"), UsageError);
  EXPECT_THROW(netns::parse_cluster_fault("no-start:0"), UsageError);  // the main must start
  EXPECT_EQ(netns::parse_cluster_fault("kill-agent:0:1").node, 0);     // the main may die mid-run
  EXPECT_THROW(netns::parse_cluster_fault("link-down:x"), UsageError);
}

TEST(ClusterFault, TerminateIsEveryNodeAtOnce) {
  auto f = netns::parse_cluster_fault("terminate:all:5");
  EXPECT_EQ(f.kind, netns::ClusterFault::Kind::kTerminate);
  EXPECT_EQ(f.node, -1);
  EXPECT_DOUBLE_EQ(f.after_s, 5);
  EXPECT_THROW(netns::parse_cluster_fault("terminate:1:5"), UsageError);  // Batch stops every node
  EXPECT_THROW(netns::parse_cluster_fault("kill-agent:all:5"), UsageError);
}
