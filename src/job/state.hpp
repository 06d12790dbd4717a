#pragma once
// A job's states. A job moves created → (queued →) running → one final state; `lost` is what a job becomes
// when the process that owned it is gone without saying how it ended (see job/owner.hpp). The database and
// JSON carry the names below; they are stable.
#include <optional>
#include <string>
#include <string_view>

namespace qecloud {

enum class JobState {
  kCreated,       // recorded; validating, staging, waiting for cores
  kQueued,        // submitted to a scheduler (AWS Batch, Slurm) that has not started it
  kRunning,       // pw.x (or the job's nodes) started
  kSucceeded,     // pw.x said JOB DONE and exited 0
  kFailed,        // pw.x or MPI crashed, a node was lost, results incomplete, or qecloud itself failed
  kNotConverged,  // SCF (or the ionic relaxation) did not converge
  kStopped,       // stopped by a signal, the EXIT file or the time limit; restart data kept
  kInvalid,       // input refused before anything ran
  kLost,          // its owner (the qecloud process, host) is gone and nothing says how the job ended
};

std::string_view to_string(JobState s);
std::optional<JobState> parse_job_state(std::string_view name);
// Nothing more will happen to the job (every state but created, queued and running).
bool is_final(JobState s);

}  // namespace qecloud
