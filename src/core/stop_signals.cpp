#include "core/stop_signals.hpp"

#include <time.h>

#include <atomic>
#include <cstdint>

namespace qecloud {
namespace {
volatile std::sig_atomic_t g_stop_signal = 0;
// CLOCK_MONOTONIC (steady_clock's on Linux) in ns at the first signal; 0 = none. Lock-free, so the handler
// may store it; clock_gettime is async-signal-safe (POSIX).
std::atomic<std::int64_t> g_stop_at_ns{0};
static_assert(std::atomic<std::int64_t>::is_always_lock_free);
int g_depth = 0;  // instances alive; they are made and destroyed on one thread (the command's)
extern "C" void on_stop_signal(int sig) {
  if (g_stop_at_ns.load() == 0) {
    timespec ts{};
    ::clock_gettime(CLOCK_MONOTONIC, &ts);
    g_stop_at_ns.store(static_cast<std::int64_t>(ts.tv_sec) * 1000000000 + ts.tv_nsec);
  }
  g_stop_signal = sig;
}
}  // namespace

StopSignals::StopSignals() : outermost_(g_depth++ == 0) {
  if (!outermost_) return;
  g_stop_signal = 0;
  g_stop_at_ns.store(0);
  struct sigaction sa {};
  sa.sa_handler = on_stop_signal;
  sigemptyset(&sa.sa_mask);
  sa.sa_flags = 0;  // no SA_RESTART: poll() returns early and the caller's loop sees the flag at once
  sigaction(SIGINT, &sa, &old_int_);
  sigaction(SIGTERM, &sa, &old_term_);
}

StopSignals::~StopSignals() {
  --g_depth;
  if (!outermost_) return;
  sigaction(SIGINT, &old_int_, nullptr);
  sigaction(SIGTERM, &old_term_, nullptr);
}

int StopSignals::received() const {
  return g_stop_signal;
}

std::optional<std::chrono::steady_clock::time_point> StopSignals::received_at() const {
  const std::int64_t ns = g_stop_at_ns.load();
  if (ns == 0) return std::nullopt;
  return std::chrono::steady_clock::time_point(std::chrono::nanoseconds(ns));
}

}  // namespace qecloud
