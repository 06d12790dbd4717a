#include "core/stop_signals.hpp"

namespace qecloud {
namespace {
volatile std::sig_atomic_t g_stop_signal = 0;
int g_depth = 0;  // instances alive; they are made and destroyed on one thread (the command's)
extern "C" void on_stop_signal(int sig) {
  g_stop_signal = sig;
}
}  // namespace

StopSignals::StopSignals() : outermost_(g_depth++ == 0) {
  if (!outermost_) return;
  g_stop_signal = 0;
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

}  // namespace qecloud
