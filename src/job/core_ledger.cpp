#include "job/core_ledger.hpp"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <sstream>
#include <thread>
#include <vector>

#include <fmt/format.h>

#include "core/env.hpp"
#include "core/error.hpp"
#include "job/owner.hpp"

namespace qecloud {
namespace {

struct Entry {
  int pid = 0;
  std::uint64_t start_ticks = 0;
  long ticket = 0;
  int cores = 0;
  bool granted = false;
  std::string job_id;
};

std::string ledger_path(const CoreRequest& r) {
  if (!r.ledger_path.empty()) return r.ledger_path;
  if (auto p = env_text(process_env(), "QECLOUD_CORE_LEDGER")) return *p;
  // /dev/shm is machine-wide and emptied by a reboot; a container without one has /tmp.
  return ::access("/dev/shm", W_OK | X_OK) == 0 ? "/dev/shm/qecloud-cores" : "/tmp/qecloud-cores";
}

// The ledger, locked for the life of this object.
class LockedLedger {
 public:
  explicit LockedLedger(const std::string& path) : path_(path) {
    fd_ = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0666);
    if (fd_ < 0) throw Error(fmt::format("cannot open the core ledger {}: {}", path, std::strerror(errno)));
    ::fchmod(fd_, 0666);  // every user's runs share it (umask would narrow it); fails harmlessly if not ours
    while (::flock(fd_, LOCK_EX) != 0)
      if (errno != EINTR) throw Error(fmt::format("cannot lock {}: {}", path, std::strerror(errno)));
  }
  ~LockedLedger() { ::close(fd_); }  // closing unlocks

  std::vector<Entry> read() {
    std::string text;
    char buf[4096];
    ::lseek(fd_, 0, SEEK_SET);
    for (ssize_t n; (n = ::read(fd_, buf, sizeof buf)) > 0;) text.append(buf, static_cast<std::size_t>(n));
    std::vector<Entry> out;
    std::istringstream in(text);
    std::string line;
    while (std::getline(in, line)) {
      std::istringstream f(line);
      Entry e;
      std::string state;
      if (f >> e.pid >> e.start_ticks >> e.ticket >> e.cores >> state >> e.job_id) {
        e.granted = state == "g";
        out.push_back(e);
      }
    }
    // Runs whose process is gone (killed, crashed, rebooted) hold nothing.
    Owner self = Owner::self();
    std::erase_if(out, [&](const Entry& e) {
      Owner o{self.host, e.pid, e.start_ticks, ""};
      return owner_gone(o).value_or(false);
    });
    return out;
  }

  void write(const std::vector<Entry>& entries) {
    std::string text;
    for (const auto& e : entries)
      text += fmt::format("{} {} {} {} {} {}\n", e.pid, e.start_ticks, e.ticket, e.cores,
                          e.granted ? "g" : "w", e.job_id.empty() ? "-" : e.job_id);
    if (::ftruncate(fd_, 0) != 0 ||
        ::pwrite(fd_, text.data(), text.size(), 0) != static_cast<ssize_t>(text.size()))
      throw Error(fmt::format("cannot write the core ledger {}: {}", path_, std::strerror(errno)));
  }

 private:
  std::string path_;
  int fd_ = -1;
};

// One look at the ledger: grants the claim (returns its cores) or leaves this run waiting in line.
std::optional<int> try_claim(LockedLedger& ledger, const CoreRequest& req, const Owner& self,
                             std::string& why) {
  std::vector<Entry> entries = ledger.read();
  auto mine = std::find_if(entries.begin(), entries.end(), [&](const Entry& e) { return e.pid == self.pid; });
  if (mine == entries.end()) {
    long ticket = 0;
    for (const auto& e : entries) ticket = std::max(ticket, e.ticket);
    entries.push_back({self.pid, self.start_ticks, ticket + 1, 0, false, req.job_id});
    mine = entries.end() - 1;
  }
  int used = 0, ahead = 0;
  std::string holders;
  for (const auto& e : entries) {
    if (e.granted) {
      used += e.cores;
      holders += fmt::format("{}{} ({} core{})", holders.empty() ? "" : ", ", e.job_id, e.cores,
                             e.cores == 1 ? "" : "s");
    } else if (e.ticket < mine->ticket) {
      ++ahead;
    }
  }
  const int free = std::max(0, req.machine_cores - used);
  std::optional<int> grant;
  if (req.oversubscribe)
    grant = req.ranks.value_or(req.machine_cores);
  else if (ahead == 0 && req.ranks && free >= *req.ranks)
    grant = *req.ranks;
  else if (ahead == 0 && !req.ranks && free >= 1)
    grant = free;
  if (grant) {
    mine->granted = true;
    mine->cores = *grant;
  } else {
    why = fmt::format("waiting for {}: {} of {} in use by {}; place {} in line",
                      req.ranks ? fmt::format("{} core{}", *req.ranks, *req.ranks == 1 ? "" : "s") : "a core",
                      used, req.machine_cores, holders.empty() ? "runs ahead" : holders, ahead + 1);
  }
  ledger.write(entries);
  return grant;
}

void drop(const std::string& path, int pid) {
  LockedLedger ledger(path);
  std::vector<Entry> entries = ledger.read();
  std::erase_if(entries, [&](const Entry& e) { return e.pid == pid; });
  ledger.write(entries);
}

}  // namespace

CoreClaim::CoreClaim(CoreClaim&& o) noexcept : path_(std::move(o.path_)), pid_(o.pid_), cores_(o.cores_) {
  o.pid_ = 0;
}

CoreClaim& CoreClaim::operator=(CoreClaim&& o) noexcept {
  if (this != &o) {
    release();
    path_ = std::move(o.path_), pid_ = o.pid_, cores_ = o.cores_;
    o.pid_ = 0;
  }
  return *this;
}

CoreClaim::~CoreClaim() {
  release();
}

void CoreClaim::release() noexcept {
  if (!pid_) return;
  try {
    drop(path_, pid_);
  } catch (...) {  // the next run that looks drops a dead pid anyway
  }
  pid_ = 0;
}

std::optional<CoreClaim> claim_cores(const CoreRequest& req, const CoreWaitEvents& ev) {
  const std::string path = ledger_path(req);
  const Owner self = Owner::self();
  std::string last_note;
  for (;;) {
    std::string why;
    std::optional<int> granted;
    {
      LockedLedger ledger(path);
      granted = try_claim(ledger, req, self, why);
    }
    if (granted) return CoreClaim(path, self.pid, *granted);
    if (why != last_note && ev.on_note) ev.on_note(why);
    last_note = why;
    for (int i = 0; i < 5; ++i) {
      if (ev.stop_signal && ev.stop_signal()) {
        drop(path, self.pid);
        return std::nullopt;
      }
      if (ev.on_tick) ev.on_tick();
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
  }
}

}  // namespace qecloud
