#pragma once
// What a finished pw.x run means: the job state and qecloud's exit code, from what pw.x printed (the
// parsed results) and how the process ended. pw.x's own exit code is ambiguous (2 is both "stopped by the
// EXIT file" and "SCF did not converge"), so the text decides and the status only confirms.
#include <string>

#include "core/process.hpp"
#include "job/state.hpp"
#include "qe/results.hpp"

namespace qecloud {

struct Outcome {
  JobState state;
  int exit_code;  // a kExit* value
  std::string message;
};

// `killed`: qecloud killed the run after its grace period.
Outcome classify_outcome(const qe::Results& r, const ExitStatus& st, bool killed);

}  // namespace qecloud
