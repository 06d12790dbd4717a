#pragma once
// Child processes — the one place that spawns them. posix_spawn in a process group of the child's own (so a
// signal reaches mpirun and every rank it started), stdin from /dev/null, SIGINT/SIGTERM/SIGPIPE at their
// defaults, the caller's environment with overrides and removals. Three ways to use it:
//   spawn()    the primitive: the caller gives the stdout/stderr file descriptors (a relay of its own);
//   Process    stdout through a pipe, handed over line by line and copied to a file (pw.x under qecloud);
//   capture()  run to the end and return the exit status and everything printed (ip, sbatch, podman).
// RunningProgram/ProgramRunner let code that supervises a program (job/pw_run) be driven by a fake in tests.
#include <sys/types.h>

#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace qecloud {

struct SpawnOptions {
  std::vector<std::string> argv;  // argv[0] is looked up in PATH
  std::string cwd;                // empty = inherit
  std::map<std::string, std::string> env_overrides;
  std::vector<std::string> env_remove;  // names dropped from the inherited environment (secrets)
  std::string stdout_path;              // Process: where stdout is copied; empty = not copied
  std::string stderr_path;              // Process: empty = inherit, unless stderr_to_stdout
  bool stderr_to_stdout = false;        // Process, capture(): stderr into the same pipe as stdout
};

// How a child ended: exit status, or the signal that killed it.
struct ExitStatus {
  int code = -1;   // exit code when exited normally
  int signal = 0;  // terminating signal, 0 when exited normally
  bool exited() const { return signal == 0; }
  bool ok() const { return signal == 0 && code == 0; }
  std::string describe() const;
};

// Starts o.argv with stdout and stderr on the given descriptors (-1: inherit) in a new process group.
// Nothing is allocated between fork and exec (posix_spawn). Throws qecloud::Error when it cannot start.
pid_t spawn(const SpawnOptions& o, int stdout_fd, int stderr_fd);
// Waits for pid (EINTR retried) and decodes its status.
ExitStatus wait_exit(pid_t pid);

// A program being supervised.
class RunningProgram {
 public:
  using LineFn = std::function<void(std::string_view line)>;
  virtual ~RunningProgram() = default;
  // Hands stdout to `on_line` line by line until the program closes it or `poll_every` elapses; then returns
  // true while the program may still be running. Meant to be called in a loop that also checks the caller's
  // events. An unterminated last piece (the program died mid-line) goes to `on_torn_tail` at the end. A line
  // longer than kMaxLine is cut there (the rest up to its newline is dropped), so memory stays bounded.
  virtual bool pump(const LineFn& on_line, std::chrono::milliseconds poll_every,
                    const LineFn& on_torn_tail) = 0;
  bool pump(const LineFn& on_line, std::chrono::milliseconds poll_every) {
    return pump(on_line, poll_every, on_line);
  }
  static constexpr std::size_t kMaxLine = 64 * 1024;
  virtual void signal_group(int sig) = 0;  // to the whole process group
  // Waits for the end (after stdout has closed, or at most `timeout`); nullopt on timeout.
  virtual std::optional<ExitStatus> wait_for(std::chrono::milliseconds timeout) = 0;
  // Why the stdout copy on disk is incomplete ("…/pw.out: No space left on device"); empty when whole.
  virtual std::string copy_error() const = 0;
};
using ProgramRunner = std::function<std::unique_ptr<RunningProgram>(const SpawnOptions&)>;
ProgramRunner real_program_runner();  // Process

class Process : public RunningProgram {
 public:
  // Starts the child. Throws qecloud::Error when it cannot be started (program missing, cwd absent, …).
  explicit Process(const SpawnOptions& opts);
  ~Process() override;  // kills the process group if still running
  Process(const Process&) = delete;
  Process& operator=(const Process&) = delete;

  pid_t pid() const { return pid_; }
  // A failed write to the stdout copy (disk full) does not stop the child or the line delivery: the copy
  // stops and copy_error() says why.
  bool pump(const LineFn& on_line, std::chrono::milliseconds poll_every, const LineFn& on_torn_tail) override;
  using RunningProgram::pump;
  void signal_group(int sig) override;
  std::optional<ExitStatus> wait_for(std::chrono::milliseconds timeout) override;
  std::string copy_error() const override { return copy_error_; }

 private:
  pid_t pid_ = -1;
  int out_fd_ = -1;   // read end of the child's stdout pipe
  int copy_fd_ = -1;  // the stdout file
  int pidfd_ = -1;    // readable once the child has exited
  std::string copy_path_, copy_error_, partial_;
  bool overlong_ = false;  // inside a line longer than kMaxLine: dropped up to its newline
  std::optional<ExitStatus> status_;
};

struct Captured {
  ExitStatus status;
  std::string output;  // stdout, and stderr unless o.stderr_path says otherwise
};
// Runs to the end (killing the group after `timeout`) and returns what it printed. Throws qecloud::Error
// only when the program cannot be started.
Captured capture(SpawnOptions o, std::chrono::milliseconds timeout = std::chrono::minutes(10));
// capture() that throws qecloud::Error — "`ip netns add x` failed (exit code 1): <output>" — unless it exits
// 0.
std::string capture_ok(const std::vector<std::string>& argv,
                       std::chrono::milliseconds timeout = std::chrono::minutes(10));

// The full path of `program` (a name looked up in $PATH, or a path), or empty when there is none.
std::string find_program(const std::string& program);

}  // namespace qecloud
