#pragma once
// SIGINT/SIGTERM caught for the life of one long operation (a run, an agent), so the operation can stop
// its children cleanly and report, then re-raise the signal so the exit status is the truth. One at a time.
#include <csignal>

namespace qecloud {

class StopSignals {
 public:
  StopSignals();
  ~StopSignals();  // restores the previous handlers
  StopSignals(const StopSignals&) = delete;
  StopSignals& operator=(const StopSignals&) = delete;
  int received() const;  // the signal received, 0 if none

 private:
  struct sigaction old_int_ {
  }, old_term_{};
};

}  // namespace qecloud
