#pragma once
// Who is carrying a job through: the qecloud process (host, pid, and its start time, so a reused pid is
// not mistaken for it). A job whose owner is gone — killed by SIGKILL, the OOM killer, a reboot — cannot
// say how it ended; `list`/`show`/`status` find that out (job/reconcile.hpp) instead of showing it running
// forever.
#include <cstdint>
#include <optional>
#include <string>

#include <nlohmann/json.hpp>

namespace qecloud {

struct Owner {
  std::string host;
  int pid = 0;
  std::uint64_t start_ticks = 0;  // /proc/<pid>/stat field 22: clock ticks after boot
  std::string boot_id;            // /proc/sys/kernel/random/boot_id: a reboot ends every owner
  bool empty() const { return pid == 0; }
  static Owner self();
  nlohmann::json to_json() const;
  static Owner from_json(const nlohmann::json& j);  // empty Owner for anything else
};

// True when the owner is certainly gone (same host, and its process is not there or is another process
// with the same pid, or the host rebooted); false when alive; nullopt when this host cannot tell (the owner
// ran elsewhere: the heartbeat decides).
std::optional<bool> owner_gone(const Owner& o);

std::string this_host();

}  // namespace qecloud
