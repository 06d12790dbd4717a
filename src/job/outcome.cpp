#include "job/outcome.hpp"

#include <fmt/format.h>

#include "core/error.hpp"

namespace qecloud {

Outcome classify_outcome(const qe::Results& r, const ExitStatus& st, bool killed) {
  switch (r.error_kind) {
    case qe::ErrorKind::kNone:
      if (r.job_done && st.exited() && st.code == 0) return {JobState::kSucceeded, kExitOk, ""};
      return {JobState::kFailed, kExitCrashed,
              fmt::format("pw.x printed JOB DONE but the run ended with {}", st.describe())};
    case qe::ErrorKind::kBadInput:
      return {JobState::kInvalid, kExitBadInput, r.error_message};
    case qe::ErrorKind::kScfNotConverged:
    case qe::ErrorKind::kIonicNotConverged:  // pw.x ended (exit 3 in 6.7) short of its relaxation thresholds
      return {JobState::kNotConverged, kExitNotConverged, r.error_message};
    case qe::ErrorKind::kStoppedByUser:
    case qe::ErrorKind::kOutOfWalltime:
      return {JobState::kStopped, kExitStopped, r.error_message};
    case qe::ErrorKind::kIncomplete:
      if (killed)
        return {JobState::kStopped, kExitStopped,
                "killed after the grace period; restart data may be "
                "incomplete"};
      return {JobState::kFailed, kExitCrashed, fmt::format("pw.x output ends early ({})", st.describe())};
    default:
      return {JobState::kFailed, kExitCrashed, r.error_message};
  }
}

}  // namespace qecloud
