#pragma once
// What may happen between a scheduler's SIGTERM and its SIGKILL. AWS Batch stops a job (its timeout,
// TerminateJob) by stopping every node's container at once: SIGTERM, then SIGKILL 30 s later (the ECS stop
// timeout; AWS Batch User Guide, "Job timeouts"; ECS Developer Guide, StopTask). In that window pw.x must
// stop at its next check (the EXIT file) and write its restart data, every node must store its part, and the
// main must write the manifest, the report and the outputs. The window is the node contract's kill_window_s;
// the deadlines below are derived from it, measured from the signal's arrival (StopSignals::received_at), and
// logged. Pure: tests give the times.
#include <chrono>
#include <optional>
#include <string>

namespace qecloud::agent {

using SteadyClock = std::chrono::steady_clock;

struct StopDeadlines {
  SteadyClock::time_point signal_at;
  std::optional<SteadyClock::time_point> kill_at;     // nullopt: no window is known, no SIGKILL expected
  SteadyClock::time_point pw_stop_by;                 // pw.x's grace: the EXIT file, then SIGKILL of mpirun
  std::optional<SteadyClock::time_point> restart_by;  // every node's restart data stored; nullopt: no limit
  // "SIGTERM at 12:00:01.234 UTC: SIGKILL expected at t+30 s; pw.x may take until t+15 s, the restart data
  // until t+27 s, the report by t+30 s". `wall_signal_at` is the signal's time on the wall clock.
  std::string describe(const std::string& signal_name,
                       std::chrono::system_clock::time_point wall_signal_at) const;
};

// With a window W: pw.x gets min(grace, W/2) (it stops in 1–3 s at its next check; the rest of the window is
// for the data), the restart data until W − r and the manifest, report and outputs in the last r = W/10
// (0.5–3 s). Without one: the contract's grace, and no limit on storing.
StopDeadlines stop_deadlines(SteadyClock::time_point signal_at, double window_s, int grace_s);

// pw_run's grace (counted from the stop request): min(grace, W/2) with a window, else the grace.
std::chrono::milliseconds stop_grace(double window_s, int grace_s);

// A child's own deadline after its SIGTERM: it keeps its ranks and serves the main until the main says DONE
// or this passes (just before the SIGKILL, so that its log says why it left). nullopt without a window: only
// the main's silence ends it.
std::optional<SteadyClock::time_point> child_deadline(SteadyClock::time_point signal_at, double window_s);

// The wall-clock time of a steady-clock time point, for people ("12:00:01.234 UTC").
std::string wall_time(SteadyClock::time_point t);

}  // namespace qecloud::agent
