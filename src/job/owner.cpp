#include "job/owner.hpp"

#include <unistd.h>

#include <fstream>
#include <sstream>

namespace qecloud {
namespace {

std::string read_line(const std::string& path) {
  std::ifstream in(path);
  std::string line;
  std::getline(in, line);
  return line;
}

// Field 22 of /proc/<pid>/stat (starttime) of a live process; nullopt when there is none, or only its
// zombie (it has exited; its parent has not collected it yet). The command name (field 2) is in
// parentheses and may hold spaces, so count from the last ')'.
std::optional<std::uint64_t> start_ticks_of(int pid) {
  const std::string stat = read_line("/proc/" + std::to_string(pid) + "/stat");
  const auto close = stat.rfind(')');
  if (close == std::string::npos) return std::nullopt;
  std::istringstream rest(stat.substr(close + 2));
  std::string field;
  for (int i = 3; i <= 22 && rest >> field; ++i) {
    if (i == 3 && (field == "Z" || field == "X")) return std::nullopt;
    if (i == 22) return std::stoull(field);
  }
  return std::nullopt;
}

}  // namespace

std::string this_host() {
  char buf[256] = {};
  ::gethostname(buf, sizeof buf - 1);
  return buf;
}

Owner Owner::self() {
  Owner o;
  o.host = this_host();
  o.pid = static_cast<int>(::getpid());
  o.start_ticks = start_ticks_of(o.pid).value_or(0);
  o.boot_id = read_line("/proc/sys/kernel/random/boot_id");
  return o;
}

nlohmann::json Owner::to_json() const {
  if (empty()) return nlohmann::json::object();
  return {{"host", host}, {"pid", pid}, {"start_ticks", start_ticks}, {"boot_id", boot_id}};
}

Owner Owner::from_json(const nlohmann::json& j) {
  Owner o;
  if (!j.is_object() || !j.contains("pid") || !j["pid"].is_number_integer()) return o;
  o.host = j.value("host", "");
  o.pid = j["pid"].get<int>();
  o.start_ticks = j.value("start_ticks", std::uint64_t{0});
  o.boot_id = j.value("boot_id", "");
  return o;
}

std::optional<bool> owner_gone(const Owner& o) {
  if (o.empty() || o.host != this_host()) return std::nullopt;
  const std::string boot = read_line("/proc/sys/kernel/random/boot_id");
  if (!o.boot_id.empty() && !boot.empty() && boot != o.boot_id) return true;
  const auto ticks = start_ticks_of(o.pid);
  if (!ticks) return true;
  return o.start_ticks != 0 && *ticks != o.start_ticks;
}

}  // namespace qecloud
