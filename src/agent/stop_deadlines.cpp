#include "agent/stop_deadlines.hpp"

#include <time.h>

#include <algorithm>

#include <fmt/format.h>

namespace qecloud::agent {
namespace {

std::chrono::milliseconds millis(double seconds) {
  return std::chrono::milliseconds(static_cast<long>(seconds * 1000));
}

// The last part of the window, for the manifest, the report and the outputs (a few small objects).
double report_reserve_s(double window_s) {
  return std::clamp(window_s / 10, 0.5, 3.0);
}

std::string clock_text(std::chrono::system_clock::time_point t) {
  const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(t.time_since_epoch()).count();
  const time_t secs = static_cast<time_t>(ms / 1000);
  tm utc{};
  ::gmtime_r(&secs, &utc);
  return fmt::format("{:02}:{:02}:{:02}.{:03} UTC", utc.tm_hour, utc.tm_min, utc.tm_sec, ms % 1000);
}

std::string after(SteadyClock::time_point from, SteadyClock::time_point t) {
  return fmt::format("t+{:.3g} s", std::chrono::duration<double>(t - from).count());
}

}  // namespace

std::chrono::milliseconds stop_grace(double window_s, int grace_s) {
  if (window_s <= 0) return std::chrono::seconds(grace_s);
  return std::min<std::chrono::milliseconds>(std::chrono::seconds(grace_s), millis(window_s / 2));
}

StopDeadlines stop_deadlines(SteadyClock::time_point signal_at, double window_s, int grace_s) {
  StopDeadlines d;
  d.signal_at = signal_at;
  d.pw_stop_by = signal_at + stop_grace(window_s, grace_s);
  if (window_s > 0) {
    d.kill_at = signal_at + millis(window_s);
    d.restart_by = *d.kill_at - millis(report_reserve_s(window_s));
  }
  return d;
}

std::optional<SteadyClock::time_point> child_deadline(SteadyClock::time_point signal_at, double window_s) {
  if (window_s <= 0) return std::nullopt;
  return signal_at + millis(window_s) - millis(std::min(1.0, window_s / 10));
}

std::string wall_time(SteadyClock::time_point t) {
  return clock_text(std::chrono::system_clock::now() -
                    std::chrono::duration_cast<std::chrono::system_clock::duration>(SteadyClock::now() - t));
}

std::string StopDeadlines::describe(const std::string& signal_name,
                                    std::chrono::system_clock::time_point wall_signal_at) const {
  std::string s = fmt::format("{} at {} (t): ", signal_name, clock_text(wall_signal_at));
  if (!kill_at)
    return s + fmt::format(
                   "no SIGKILL window is known; pw.x may take until {}, the restart data as long as it "
                   "needs",
                   after(signal_at, pw_stop_by));
  return s + fmt::format(
                 "SIGKILL expected at {}; pw.x may take until {}, every node's restart data until {}, "
                 "the report by {}",
                 after(signal_at, *kill_at), after(signal_at, pw_stop_by), after(signal_at, *restart_by),
                 after(signal_at, *kill_at));
}

}  // namespace qecloud::agent
