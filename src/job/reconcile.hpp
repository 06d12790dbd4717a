#pragma once
// Keeping the job record truthful when its owner dies. While a job runs, its owner refreshes the record's
// heartbeat (Heartbeat); `list`, `show` and `status` call reconcile(), which marks a created/running job
// `lost` when its owner is certainly gone (same host: the process is not there, or the host rebooted) or
// silent for kLostAfter (another host sharing $QECLOUD_HOME) — with what is known: the job's report in the
// store when it left one (a multi-node main finishes on its own: its state stands), or how far pw.out got.
#include <chrono>
#include <string>

#include "job/database.hpp"

namespace qecloud {

inline constexpr std::chrono::seconds kHeartbeatInterval{5};
inline constexpr std::chrono::seconds kLostAfter{30};  // for owners on other hosts: six missed heartbeats

// Refreshes the job's heartbeat at most every kHeartbeatInterval. Errors (a full disk) are not fatal: the
// job goes on, and the owner check on this host does not need the heartbeat.
class Heartbeat {
 public:
  Heartbeat(JobDb& db, std::string id) : db_(db), id_(std::move(id)) {}
  void tick();

 private:
  JobDb& db_;
  std::string id_;
  std::chrono::steady_clock::time_point last_ = std::chrono::steady_clock::now();
};

// The record as it really is. When the owner is gone, the database is updated (unless read-only) and the
// returned record says `lost` (or the report's state).
JobRecord reconcile(JobDb& db, const JobRecord& job);

}  // namespace qecloud
