// StopSignals: the signal's time is taken in its handler (a scheduler's SIGKILL window starts there).
#include <csignal>

#include <gtest/gtest.h>

#include "core/stop_signals.hpp"

using namespace qecloud;

TEST(StopSignals, TheTimeIsTakenWhenTheSignalArrives) {
  StopSignals signals;
  EXPECT_FALSE(signals.received_at());
  const auto before = std::chrono::steady_clock::now();
  std::raise(SIGTERM);
  const auto after_signal = std::chrono::steady_clock::now();
  ASSERT_EQ(signals.received(), SIGTERM);
  ASSERT_TRUE(signals.received_at());
  EXPECT_GE(*signals.received_at(), before);
  EXPECT_LE(*signals.received_at(), after_signal);
  std::raise(SIGINT);  // a second signal does not move the first one's time
  EXPECT_LE(*signals.received_at(), after_signal);
}
