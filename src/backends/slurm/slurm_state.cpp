#include "backends/slurm/slurm_state.hpp"

#include <array>

#include "core/text.hpp"

namespace qecloud::backends::slurm {
namespace {

struct Row {
  const char* word;
  JobState state;
  bool final;
  const char* meaning;
};

constexpr std::array kStates{
    Row{"PENDING", JobState::kQueued, false, "waiting for resources"},
    Row{"CONFIGURING", JobState::kQueued, false, "nodes allocated, getting ready"},
    Row{"REQUEUED", JobState::kQueued, false, "requeued"},
    Row{"REQUEUE_HOLD", JobState::kQueued, false, "requeued and held"},
    Row{"REQUEUE_FED", JobState::kQueued, false, "requeued by a federation"},
    Row{"RESV_DEL_HOLD", JobState::kQueued, false, "held: its reservation was deleted"},
    Row{"SPECIAL_EXIT", JobState::kQueued, false, "requeued in a held state"},
    Row{"RUNNING", JobState::kRunning, false, ""},
    Row{"COMPLETING", JobState::kRunning, false, "ending"},
    Row{"SUSPENDED", JobState::kRunning, false, "suspended"},
    Row{"STOPPED", JobState::kRunning, false, "stopped with SIGSTOP"},
    Row{"SIGNALING", JobState::kRunning, false, "being signaled"},
    Row{"RESIZING", JobState::kRunning, false, "changing size"},
    Row{"STAGE_OUT", JobState::kRunning, false, "staging out files"},
    Row{"COMPLETED", JobState::kSucceeded, true, ""},
    Row{"FAILED", JobState::kFailed, true, ""},
    Row{"TIMEOUT", JobState::kFailed, true, "the time limit was reached"},
    Row{"NODE_FAIL", JobState::kFailed, true, "a node failed"},
    Row{"OUT_OF_MEMORY", JobState::kFailed, true, "out of memory"},
    Row{"BOOT_FAIL", JobState::kFailed, true, "a node failed to boot"},
    Row{"DEADLINE", JobState::kFailed, true, "its deadline passed"},
    Row{"REVOKED", JobState::kFailed, true, "revoked: another cluster started it"},
    Row{"CANCELLED", JobState::kStopped, true, "cancelled"},
    Row{"PREEMPTED", JobState::kStopped, true, "preempted"},
};

}  // namespace

SlurmState map_slurm_state(const std::string& word) {
  const std::string_view first = text::trim(word).substr(0, text::trim(word).find(' '));
  for (const Row& r : kStates)
    if (text::iequals(first, r.word)) return {r.state, r.final, r.meaning};
  return {JobState::kRunning, false, "a state qecloud does not know"};
}

}  // namespace qecloud::backends::slurm
