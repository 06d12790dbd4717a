// The deadlines of a stop derived from the scheduler's SIGTERM → SIGKILL window (AWS Batch: 30 s).
#include <gtest/gtest.h>

#include "agent/stop_deadlines.hpp"

using namespace qecloud;
using namespace qecloud::agent;
using namespace std::chrono_literals;

namespace {
double after(SteadyClock::time_point t0, SteadyClock::time_point t) {
  return std::chrono::duration<double>(t - t0).count();
}
}  // namespace

TEST(StopDeadlines, AwsBatchsThirtySecondWindow) {
  const auto t0 = SteadyClock::now();
  const StopDeadlines d = stop_deadlines(t0, 30, 30);
  ASSERT_TRUE(d.kill_at && d.restart_by);
  EXPECT_DOUBLE_EQ(after(t0, *d.kill_at), 30);
  EXPECT_DOUBLE_EQ(after(t0, d.pw_stop_by), 15);  // half the window: the rest is for the data
  EXPECT_DOUBLE_EQ(after(t0, *d.restart_by), 27);
  EXPECT_EQ(
      d.describe("Terminated", std::chrono::system_clock::time_point(
                                   std::chrono::milliseconds((12 * 3600 + 1) * 1000LL + 234))),
      "Terminated at 12:00:01.234 UTC (t): SIGKILL expected at t+30 s; pw.x may take until t+15 s, every "
      "node's restart data until t+27 s, the report by t+30 s");
  EXPECT_DOUBLE_EQ(after(t0, *child_deadline(t0, 30)), 29);
}

TEST(StopDeadlines, AShorterGraceAndAShortWindow) {
  const auto t0 = SteadyClock::now();
  EXPECT_DOUBLE_EQ(after(t0, stop_deadlines(t0, 30, 5).pw_stop_by), 5);
  EXPECT_EQ(stop_grace(30, 5), 5s);
  EXPECT_EQ(stop_grace(30, 60), 15s);
  const StopDeadlines d = stop_deadlines(t0, 4, 30);
  EXPECT_DOUBLE_EQ(after(t0, d.pw_stop_by), 2);
  EXPECT_DOUBLE_EQ(after(t0, *d.restart_by), 3.5);  // at least half a second for the report
  EXPECT_DOUBLE_EQ(after(t0, *child_deadline(t0, 4)), 3.6);
}

TEST(StopDeadlines, WithoutAWindowTheGraceAndNoLimit) {
  const auto t0 = SteadyClock::now();
  const StopDeadlines d = stop_deadlines(t0, 0, 30);
  EXPECT_FALSE(d.kill_at);
  EXPECT_FALSE(d.restart_by);
  EXPECT_DOUBLE_EQ(after(t0, d.pw_stop_by), 30);
  EXPECT_EQ(stop_grace(0, 30), 30s);
  EXPECT_FALSE(child_deadline(t0, 0));
  EXPECT_EQ(d.describe("Interrupt", std::chrono::system_clock::time_point(std::chrono::hours(25))),
            "Interrupt at 01:00:00.000 UTC (t): no SIGKILL window is known; pw.x may take until t+30 s, the "
            "restart data as long as it needs");
}
