#include "core/process.hpp"

#include <fcntl.h>
#include <poll.h>
#include <spawn.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <csignal>
#include <cstring>
#include <filesystem>
#include <thread>

#include <fmt/format.h>

#include "core/env.hpp"
#include "core/error.hpp"

extern char** environ;

namespace fs = std::filesystem;

namespace qecloud {

std::string ExitStatus::describe() const {
  if (signal) return fmt::format("killed by signal {} ({})", signal, strsignal(signal));
  return fmt::format("exit code {}", code);
}

namespace {

[[noreturn]] void fail(const std::string& what) {
  throw Error(what + ": " + std::strerror(errno));
}

std::vector<std::string> build_env(const SpawnOptions& o) {
  std::vector<std::string> env;
  for (char** e = environ; e && *e; ++e) {
    std::string_view kv(*e);
    const std::string name(kv.substr(0, kv.find('=')));
    if (o.env_overrides.count(name) ||
        std::find(o.env_remove.begin(), o.env_remove.end(), name) != o.env_remove.end())
      continue;
    env.emplace_back(kv);
  }
  for (const auto& [k, v] : o.env_overrides) env.push_back(k + "=" + v);
  return env;
}

ExitStatus decode(int st) {
  ExitStatus s;
  if (WIFEXITED(st))
    s.code = WEXITSTATUS(st);
  else if (WIFSIGNALED(st))
    s.signal = WTERMSIG(st);
  return s;
}

}  // namespace

pid_t spawn(const SpawnOptions& o, int stdout_fd, int stderr_fd) {
  if (o.argv.empty()) throw Error("nothing to run");
  // Everything the child needs is built here, before posix_spawn: nothing allocates in the child.
  std::vector<char*> argv;
  for (const auto& a : o.argv) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  auto env_strings = build_env(o);
  std::vector<char*> envp;
  for (auto& e : env_strings) envp.push_back(e.data());
  envp.push_back(nullptr);

  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_addopen(&fa, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
  if (stdout_fd >= 0) posix_spawn_file_actions_adddup2(&fa, stdout_fd, STDOUT_FILENO);
  if (stderr_fd >= 0) posix_spawn_file_actions_adddup2(&fa, stderr_fd, STDERR_FILENO);
  // posix_spawn_file_actions_addchdir_np exists in glibc >= 2.29 (Debian 12 has 2.36).
  if (!o.cwd.empty()) posix_spawn_file_actions_addchdir_np(&fa, o.cwd.c_str());
  posix_spawnattr_t attr;
  posix_spawnattr_init(&attr);
  posix_spawnattr_setpgroup(&attr, 0);  // own process group: signals reach mpirun and its ranks together
  sigset_t defaults, none;
  sigemptyset(&defaults);
  sigaddset(&defaults, SIGINT);
  sigaddset(&defaults, SIGTERM);
  sigaddset(&defaults, SIGPIPE);
  sigemptyset(&none);
  posix_spawnattr_setsigdefault(&attr, &defaults);
  posix_spawnattr_setsigmask(&attr, &none);
  posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK);
  pid_t pid = -1;
  int rc = posix_spawnp(&pid, argv[0], &fa, &attr, argv.data(), envp.data());
  posix_spawn_file_actions_destroy(&fa);
  posix_spawnattr_destroy(&attr);
  if (rc != 0) {
    errno = rc;
    fail("cannot start " + o.argv[0] + (o.cwd.empty() ? "" : " in " + o.cwd));
  }
  return pid;
}

ExitStatus wait_exit(pid_t pid) {
  int st = 0;
  while (::waitpid(pid, &st, 0) < 0)
    if (errno != EINTR) fail("waitpid");
  return decode(st);
}

ProgramRunner real_program_runner() {
  return
      [](const SpawnOptions& o) -> std::unique_ptr<RunningProgram> { return std::make_unique<Process>(o); };
}

Process::Process(const SpawnOptions& o) : copy_path_(o.stdout_path) {
  if (o.argv.empty()) throw Error("nothing to run");
  int pipefd[2];
  if (pipe2(pipefd, O_CLOEXEC) != 0) fail("pipe");
  out_fd_ = pipefd[0];
  auto close_all = [&] {
    for (int* fd : {&out_fd_, &copy_fd_, &pipefd[1]})
      if (*fd >= 0) ::close(*fd), *fd = -1;
  };
  auto open_or_fail = [&](const std::string& path) {
    const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd >= 0) return fd;
    const int e = errno;
    close_all();
    errno = e;
    fail(path);
  };
  if (!o.stdout_path.empty()) copy_fd_ = open_or_fail(o.stdout_path);
  int err_fd = -1;
  if (o.stderr_to_stdout)
    err_fd = pipefd[1];
  else if (!o.stderr_path.empty())
    err_fd = open_or_fail(o.stderr_path);
  try {
    pid_ = spawn(o, pipefd[1], err_fd);
  } catch (...) {
    if (err_fd >= 0 && err_fd != pipefd[1]) ::close(err_fd);
    close_all();
    throw;
  }
  if (err_fd >= 0 && err_fd != pipefd[1]) ::close(err_fd);
  ::close(pipefd[1]);
}

Process::~Process() {
  if (!status_ && pid_ > 0) {
    signal_group(SIGKILL);
    int st;
    waitpid(pid_, &st, 0);
  }
  if (out_fd_ >= 0) ::close(out_fd_);
  if (copy_fd_ >= 0) ::close(copy_fd_);
  if (pidfd_ >= 0) ::close(pidfd_);
}

bool Process::pump(const LineFn& on_line, std::chrono::milliseconds poll_every, const LineFn& on_torn_tail) {
  if (out_fd_ < 0) return false;
  pollfd p{out_fd_, POLLIN, 0};
  int r = ::poll(&p, 1, static_cast<int>(poll_every.count()));
  if (r <= 0) return true;  // timeout, or EINTR: the caller's loop looks at its signals
  char buf[65536];
  ssize_t n = ::read(out_fd_, buf, sizeof buf);
  if (n < 0 && (errno == EINTR || errno == EAGAIN)) return true;
  if (n <= 0) {  // EOF: the child (and everything holding the pipe) is gone
    if (!partial_.empty()) on_torn_tail(partial_), partial_.clear();
    ::close(out_fd_);
    out_fd_ = -1;
    return false;
  }
  for (ssize_t off = 0; copy_fd_ >= 0 && off < n;) {
    ssize_t w = ::write(copy_fd_, buf + off, static_cast<size_t>(n - off));
    if (w < 0 && errno == EINTR) continue;
    if (w < 0) {  // disk full, quota: keep the run and the parsing going; the caller reports the loss
      copy_error_ = fmt::format("{}: {}", copy_path_, std::strerror(errno));
      ::close(copy_fd_);
      copy_fd_ = -1;
      break;
    }
    off += w;
  }
  std::string_view chunk(buf, static_cast<size_t>(n));
  for (size_t start = 0;;) {
    const size_t nl = chunk.find('\n', start);
    const std::string_view piece =
        chunk.substr(start, nl == std::string_view::npos ? std::string_view::npos : nl - start);
    if (!overlong_) {
      partial_.append(piece.substr(0, kMaxLine - std::min(kMaxLine, partial_.size())));
      overlong_ = partial_.size() >= kMaxLine && piece.size() > 0 && nl == std::string_view::npos;
    }
    if (nl == std::string_view::npos) break;
    on_line(partial_);  // a line cut at kMaxLine is handed over once, cut
    partial_.clear();
    overlong_ = false;
    start = nl + 1;
  }
  return true;
}

void Process::signal_group(int sig) {
  if (pid_ > 0 && !status_) ::kill(-pid_, sig);
}

std::optional<ExitStatus> Process::wait_for(std::chrono::milliseconds timeout) {
  if (status_) return status_;
  // A pidfd becomes readable the moment the child exits: no polling interval between its end and ours
  // (Linux >= 5.3; without one, waitpid is polled every 2 ms).
  if (pidfd_ < 0) pidfd_ = static_cast<int>(::syscall(SYS_pidfd_open, pid_, 0));
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (true) {
    int st = 0;
    pid_t r = waitpid(pid_, &st, WNOHANG);
    if (r == pid_) return status_ = decode(st);
    if (r < 0 && errno != EINTR) fail("waitpid");
    const auto left =
        std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) return std::nullopt;
    if (pidfd_ >= 0) {
      pollfd p{pidfd_, POLLIN, 0};
      ::poll(&p, 1, static_cast<int>(left.count()));
    } else {
      std::this_thread::sleep_for(std::chrono::milliseconds(2));
    }
  }
}

Captured capture(SpawnOptions o, std::chrono::milliseconds timeout) {
  if (o.stderr_path.empty()) o.stderr_to_stdout = true;
  o.stdout_path.clear();
  Process p(o);
  Captured out;
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  bool killed = false;
  auto collect = [&](std::string_view line) {
    out.output.append(line);
    out.output.push_back('\n');
  };
  while (p.pump(collect, std::chrono::milliseconds(100)))
    if (!killed && std::chrono::steady_clock::now() > deadline) p.signal_group(SIGKILL), killed = true;
  std::optional<ExitStatus> st;
  while (!(st = p.wait_for(std::chrono::milliseconds(100))))
    if (!killed && std::chrono::steady_clock::now() > deadline) p.signal_group(SIGKILL), killed = true;
  out.status = *st;
  return out;
}

std::string capture_ok(const std::vector<std::string>& argv, std::chrono::milliseconds timeout) {
  SpawnOptions o;
  o.argv = argv;
  Captured c = capture(o, timeout);
  if (!c.status.ok()) {
    std::string cmd;
    for (const auto& a : argv) cmd += (cmd.empty() ? "" : " ") + a;
    while (!c.output.empty() && c.output.back() == '\n') c.output.pop_back();
    throw Error(fmt::format("`{}` failed ({}): {}", cmd, c.status.describe(), c.output));
  }
  return c.output;
}

std::string find_program(const std::string& program) {
  std::error_code ec;
  if (program.find('/') != std::string::npos)
    return fs::is_regular_file(program, ec) ? fs::absolute(program, ec).lexically_normal().string() : "";
  const std::string path = env_text(process_env(), "PATH").value_or("/usr/bin:/bin");
  std::string_view dirs = path;
  while (!dirs.empty()) {
    size_t colon = dirs.find(':');
    std::string_view dir = dirs.substr(0, colon);
    fs::path candidate = fs::path(dir.empty() ? "." : std::string(dir)) / program;
    if (fs::is_regular_file(candidate, ec) && ::access(candidate.c_str(), X_OK) == 0)
      return fs::absolute(candidate, ec).lexically_normal().string();
    if (colon == std::string_view::npos) break;
    dirs.remove_prefix(colon + 1);
  }
  return "";
}

}  // namespace qecloud
