#include "job/state.hpp"

#include <array>
#include <utility>

namespace qecloud {
namespace {

constexpr std::array<std::pair<JobState, std::string_view>, 9> kNames{{
    {JobState::kCreated, "created"},
    {JobState::kQueued, "queued"},
    {JobState::kRunning, "running"},
    {JobState::kSucceeded, "succeeded"},
    {JobState::kFailed, "failed"},
    {JobState::kNotConverged, "not_converged"},
    {JobState::kStopped, "stopped"},
    {JobState::kInvalid, "invalid"},
    {JobState::kLost, "lost"},
}};

}  // namespace

std::string_view to_string(JobState s) {
  for (const auto& [state, name] : kNames)
    if (state == s) return name;
  return "failed";
}

std::optional<JobState> parse_job_state(std::string_view name) {
  for (const auto& [state, n] : kNames)
    if (n == name) return state;
  return std::nullopt;
}

bool is_final(JobState s) {
  return s != JobState::kCreated && s != JobState::kQueued && s != JobState::kRunning;
}

}  // namespace qecloud
