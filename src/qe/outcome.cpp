#include "qe/outcome.hpp"

#include <fmt/format.h>

#include "core/error.hpp"
#include "core/job_db.hpp"

namespace qecloud::qe {

Outcome classify_outcome(const qe::Results& r, const ExitStatus& st, bool killed) {
  switch (r.error_kind) {
    case ErrorKind::kNone:
      if (r.job_done && st.exited() && st.code == 0) return {job_state::kSucceeded, kExitOk, ""};
      return {job_state::kFailed, kExitCrashed,
              fmt::format("pw.x printed JOB DONE but the run ended with {}", st.describe())};
    case ErrorKind::kBadInput:
      return {job_state::kInvalid, kExitBadInput, r.error_message};
    case ErrorKind::kScfNotConverged:
    case ErrorKind::kIonicNotConverged:  // pw.x ended (exit 3 in 6.7) short of its relaxation thresholds
      return {job_state::kNotConverged, kExitNotConverged, r.error_message};
    case ErrorKind::kStoppedByUser:
    case ErrorKind::kOutOfWalltime:
      return {job_state::kStopped, kExitStopped, r.error_message};
    case ErrorKind::kIncomplete:
      if (killed)
        return {job_state::kStopped, kExitStopped,
                "killed after the grace period; restart data may be "
                "incomplete"};
      return {job_state::kFailed, kExitCrashed, fmt::format("pw.x output ends early ({})", st.describe())};
    default:
      return {job_state::kFailed, kExitCrashed, r.error_message};
  }
}

}  // namespace qecloud::qe
