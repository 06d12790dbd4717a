#pragma once
// The machine's cores, shared among the local runs on it (every user's `qecloud run`): each run claims the
// cores it will use in one ledger file and gives them back when it ends; a run whose process died is
// dropped from the ledger by the next one that looks. A run that wants cores another holds waits in line
// (first come, first served), saying so with its place — it never oversubscribes the machine silently.
//   - no --ranks: it takes the cores that are free (at least one), and the layout is planned for them;
//   - --ranks N: it waits until N are free;
//   - --oversubscribe: it is granted at once (the user asked for more ranks than cores).
// The ledger is $QECLOUD_CORE_LEDGER, default /dev/shm/qecloud-cores (machine-wide, emptied by a reboot; /tmp
// where there is no /dev/shm), one line per run: "pid start_ticks ticket cores g|w job_id", under flock(2).
#include <chrono>
#include <functional>
#include <optional>
#include <string>

namespace qecloud {

struct CoreRequest {
  int machine_cores = 1;     // physical cores (hwloc)
  std::optional<int> ranks;  // --ranks; nullopt = take what is free
  bool oversubscribe = false;
  std::string job_id;
  std::string ledger_path;  // empty: $QECLOUD_CORE_LEDGER, else /dev/shm/qecloud-cores
};

struct CoreWaitEvents {
  std::function<void(const std::string&)> on_note;  // "waiting for cores: 2 of 2 in use (…); place 1 in line"
  std::function<int()> stop_signal;                 // stop waiting when non-zero
  std::function<void()> on_tick;                    // about every 200 ms while waiting
};

// The cores a run holds; given back when destroyed.
class CoreClaim {
 public:
  CoreClaim() = default;
  CoreClaim(std::string path, int pid, int cores) : path_(std::move(path)), pid_(pid), cores_(cores) {}
  CoreClaim(CoreClaim&& o) noexcept;
  CoreClaim& operator=(CoreClaim&& o) noexcept;
  ~CoreClaim();
  int cores() const { return cores_; }
  bool held() const { return pid_ != 0; }

 private:
  void release() noexcept;
  std::string path_;
  int pid_ = 0;
  int cores_ = 0;
};

// Blocks until the cores are granted; nullopt when a stop signal ended the wait. Throws qecloud::Error
// when the ledger cannot be used.
std::optional<CoreClaim> claim_cores(const CoreRequest& req, const CoreWaitEvents& events);

}  // namespace qecloud
