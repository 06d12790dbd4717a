#include <gtest/gtest.h>

#include "core/error.hpp"
#include "qe/layout.hpp"

using namespace qecloud;
using namespace qecloud::qe;

TEST(Layout, SeedSiliconOnTwoCoresUsesTwoPools) {
  // The measured case: 145 k-points, 2 cores → 2 ranks, 2 pools (1.9 s vs 3.8 s without pools).
  Layout l = plan_layout({.cores = 2, .kpoints = 145});
  EXPECT_EQ(l.ranks, 2);
  EXPECT_EQ(l.pools, 2);
  EXPECT_FALSE(l.oversubscribed);
  EXPECT_EQ(l.why, "2 ranks = physical cores, 2 pools for 145 k-points (73 per pool)");
}

TEST(Layout, PoolsNeverExceedKpoints) {
  EXPECT_EQ(plan_layout({.cores = 8, .kpoints = 1}).pools, 1);
  EXPECT_EQ(plan_layout({.cores = 8, .kpoints = 2}).pools, 2);
  EXPECT_EQ(plan_layout({.cores = 8, .kpoints = 3}).pools, 2);  // 4 pools would leave one idle
  EXPECT_EQ(plan_layout({.cores = 12, .kpoints = 6}).pools, 6);
}

TEST(Layout, PoolsDivideRanks) {
  for (int cores : {1, 2, 3, 4, 6, 12, 36, 48})
    for (int k : {1, 2, 5, 10, 29, 145, 1000}) {
      Layout l = plan_layout({.cores = cores, .kpoints = k});
      EXPECT_EQ(l.ranks % l.pools, 0) << cores << " " << k;
      EXPECT_LE(l.pools, k);
    }
}

TEST(Layout, UserChoicesAreKeptOrRefused) {
  Layout l = plan_layout({.cores = 4, .ranks = 2, .pools = 1, .kpoints = 145});
  EXPECT_EQ(l.ranks, 2);
  EXPECT_EQ(l.pools, 1);
  EXPECT_THROW(plan_layout({.cores = 4, .ranks = 4, .pools = 3}), UsageError);
  EXPECT_THROW(plan_layout({.cores = 2, .ranks = 4}), UsageError);
  Layout over = plan_layout({.cores = 2, .ranks = 4, .kpoints = 10, .allow_oversubscribe = true});
  EXPECT_TRUE(over.oversubscribed);
}

TEST(Layout, Imbalance) {
  EXPECT_DOUBLE_EQ(pool_imbalance(145, 2), 146.0 / 145.0);
  EXPECT_DOUBLE_EQ(pool_imbalance(4, 4), 1.0);
  EXPECT_DOUBLE_EQ(pool_imbalance(3, 2), 4.0 / 3.0);
}
