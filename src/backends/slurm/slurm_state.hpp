#pragma once
// Slurm's job states (squeue(1) and sacct(1), "JOB STATE CODES", Slurm 22.05) in qecloud's terms:
//   queued    PENDING, CONFIGURING (nodes booting), REQUEUED, REQUEUE_HOLD, REQUEUE_FED, RESV_DEL_HOLD,
//             SPECIAL_EXIT (requeued in a held state)
//   running   RUNNING, COMPLETING, SUSPENDED, STOPPED, SIGNALING, RESIZING, STAGE_OUT
//   final     COMPLETED → succeeded; FAILED, TIMEOUT, NODE_FAIL, OUT_OF_MEMORY, BOOT_FAIL, DEADLINE,
//             REVOKED → failed; CANCELLED, PREEMPTED → stopped.
// A final state is only the fallback: the main agent's report in the store (job/report.hpp) says what
// really happened (converged or not, stopped cleanly on the time-limit signal with restart data, which
// node was lost) and wins whenever it exists. A word Slurm adds later is taken as running, never as final.
#include <string>

#include "job/state.hpp"

namespace qecloud::backends::slurm {

struct SlurmState {
  JobState state = JobState::kRunning;
  bool final = false;
  std::string meaning;  // for people: "the time limit was reached", "" when the word says it all
};

// `word`: squeue's %T or sacct's State ("CANCELLED by 1000" is read as CANCELLED). Case-insensitive.
SlurmState map_slurm_state(const std::string& word);

}  // namespace qecloud::backends::slurm
