#include <gtest/gtest.h>

#include "job/time_limit.hpp"

namespace qecloud {
namespace {

TEST(TimeLimit, TheMarginIsATenthBetweenAMinuteAndFifteenButNeverHalfTheLimit) {
  EXPECT_EQ(stop_margin_s(60), 30);
  EXPECT_EQ(stop_margin_s(300), 60);
  EXPECT_EQ(stop_margin_s(3600), 360);
  EXPECT_EQ(stop_margin_s(24 * 3600), 900);
}

TEST(TimeLimit, MaxSecondsCountsTheTimeAlreadySpent) {
  const auto e = max_seconds_edit(3600, 42.5, std::nullopt);
  ASSERT_TRUE(e);
  EXPECT_EQ(e->display(), "&control max_seconds = 3197");
  EXPECT_EQ(e->why,
            "the time limit 3600 s less 42 s spent and a 360 s margin to stop and store the restart data");
  EXPECT_EQ(max_seconds_edit(60, 100, std::nullopt)->value, "1");  // late already: stop at the first check
}

TEST(TimeLimit, NoLimitOrAnEarlierMaxSecondsOfTheInputLeavesItAlone) {
  EXPECT_FALSE(max_seconds_edit(0, 0, std::nullopt));
  EXPECT_FALSE(max_seconds_edit(3600, 0, 600.0));
  EXPECT_EQ(max_seconds_edit(3600, 0, 10000.0)->value, "3240");
}

}  // namespace
}  // namespace qecloud
