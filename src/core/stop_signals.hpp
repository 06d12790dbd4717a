#pragma once
// SIGINT/SIGTERM caught for the life of one long operation (a run, an agent), so the operation can stop
// its children cleanly and report, then re-raise the signal so the exit status is the truth. Nested
// instances share one flag: the outermost installs the handlers (and clears the flag) and restores them;
// a signal received while validating or staging is still seen by the run loop that comes after.
#include <chrono>
#include <csignal>
#include <optional>

namespace qecloud {

class StopSignals {
 public:
  StopSignals();
  ~StopSignals();  // the outermost restores the previous handlers
  StopSignals(const StopSignals&) = delete;
  StopSignals& operator=(const StopSignals&) = delete;
  int received() const;  // the signal received, 0 if none
  // When the first signal arrived (taken in the handler, so not when someone noticed it); nullopt if none.
  // A scheduler's SIGKILL follows its SIGTERM by a fixed window (AWS Batch: 30 s): deadlines start here.
  std::optional<std::chrono::steady_clock::time_point> received_at() const;

 private:
  struct sigaction old_int_ {
  }, old_term_{};
  bool outermost_ = false;
};

}  // namespace qecloud
