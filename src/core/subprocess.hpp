#pragma once
// Child processes: spawned with posix_spawn in a process group of their own (so a signal reaches mpirun and
// every rank it started), stdout delivered line by line to a callback while also being written to a file.
// This is the one place that touches fork/exec/wait; tests drive real child processes through it.
#include <sys/types.h>

#include <chrono>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace qecloud {

struct SpawnOptions {
  std::vector<std::string> argv;  // argv[0] is looked up in PATH
  std::string cwd;                // empty = inherit
  std::map<std::string, std::string> env_overrides;
  std::string stdout_path;  // where stdout is copied; required
  std::string stderr_path;  // empty = inherit
};

// How a child ended: exit status, or the signal that killed it.
struct ExitStatus {
  int code = -1;   // exit code when exited normally
  int signal = 0;  // terminating signal, 0 when exited normally
  bool exited() const { return signal == 0; }
  std::string describe() const;
};

class Subprocess {
 public:
  using LineFn = std::function<void(std::string_view line)>;

  // Starts the child. Throws qecloud::Error when it cannot be started (program missing, cwd absent, …).
  explicit Subprocess(const SpawnOptions& opts);
  ~Subprocess();  // kills the process group if still running
  Subprocess(const Subprocess&) = delete;
  Subprocess& operator=(const Subprocess&) = delete;

  pid_t pid() const { return pid_; }

  // Pumps stdout to the file and to `on_line` until the child closes it or `poll_every` elapses; then
  // returns true while the child may still be running. Meant to be called in a loop that also checks for
  // the caller's own signals.
  bool pump(const LineFn& on_line, std::chrono::milliseconds poll_every);

  // Sends `sig` to the whole process group.
  void signal_group(int sig) const;

  // Waits for the child (after stdout has closed, or at most `timeout`); nullopt on timeout.
  std::optional<ExitStatus> wait_for(std::chrono::milliseconds timeout);

 private:
  pid_t pid_ = -1;
  int out_fd_ = -1;   // read end of the child's stdout pipe
  int copy_fd_ = -1;  // the stdout file
  std::string partial_;
  std::optional<ExitStatus> status_;
};

}  // namespace qecloud
