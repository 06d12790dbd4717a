#include "core/subprocess.hpp"

#include <fcntl.h>
#include <poll.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>
#include <cstring>
#include <thread>

#include <fmt/format.h>

#include "core/error.hpp"

extern char** environ;

namespace qecloud {

std::string ExitStatus::describe() const {
  if (signal) return fmt::format("killed by signal {} ({})", signal, strsignal(signal));
  return fmt::format("exit code {}", code);
}

namespace {

[[noreturn]] void fail(const std::string& what) {
  throw Error(what + ": " + std::strerror(errno));
}

std::vector<std::string> build_env(const std::map<std::string, std::string>& overrides) {
  std::vector<std::string> env;
  for (char** e = environ; e && *e; ++e) {
    std::string_view kv(*e);
    auto eq = kv.find('=');
    if (eq != std::string_view::npos && overrides.count(std::string(kv.substr(0, eq)))) continue;
    env.emplace_back(kv);
  }
  for (const auto& [k, v] : overrides) env.push_back(k + "=" + v);
  return env;
}

}  // namespace

Subprocess::Subprocess(const SpawnOptions& o) {
  if (o.argv.empty()) throw Error("nothing to run");
  int pipefd[2];
  if (pipe2(pipefd, O_CLOEXEC) != 0) fail("pipe");
  out_fd_ = pipefd[0];
  copy_fd_ = ::open(o.stdout_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (copy_fd_ < 0) fail(o.stdout_path);

  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_adddup2(&fa, pipefd[1], STDOUT_FILENO);
  posix_spawn_file_actions_addopen(&fa, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
  if (!o.stderr_path.empty())
    posix_spawn_file_actions_addopen(&fa, STDERR_FILENO, o.stderr_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC,
                                     0644);
  // posix_spawn_file_actions_addchdir_np exists in glibc >= 2.29 (Debian 12 has 2.36).
  if (!o.cwd.empty()) posix_spawn_file_actions_addchdir_np(&fa, o.cwd.c_str());
  posix_spawnattr_t attr;
  posix_spawnattr_init(&attr);
  posix_spawnattr_setpgroup(&attr, 0);  // own process group: signals reach mpirun and its ranks together
  sigset_t defaults;
  sigemptyset(&defaults);
  sigaddset(&defaults, SIGINT);
  sigaddset(&defaults, SIGTERM);
  sigaddset(&defaults, SIGPIPE);
  posix_spawnattr_setsigdefault(&attr, &defaults);
  sigset_t none;
  sigemptyset(&none);
  posix_spawnattr_setsigmask(&attr, &none);
  posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK);

  std::vector<char*> argv;
  for (const auto& a : o.argv) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  auto env_strings = build_env(o.env_overrides);
  std::vector<char*> envp;
  for (auto& e : env_strings) envp.push_back(e.data());
  envp.push_back(nullptr);
  int rc = posix_spawnp(&pid_, argv[0], &fa, &attr, argv.data(), envp.data());
  posix_spawn_file_actions_destroy(&fa);
  posix_spawnattr_destroy(&attr);
  ::close(pipefd[1]);
  if (rc != 0) {
    ::close(out_fd_), ::close(copy_fd_);
    errno = rc;
    fail("cannot start " + o.argv[0] + (o.cwd.empty() ? "" : " in " + o.cwd));
  }
}

Subprocess::~Subprocess() {
  if (!status_ && pid_ > 0) {
    signal_group(SIGKILL);
    int st;
    waitpid(pid_, &st, 0);
  }
  if (out_fd_ >= 0) ::close(out_fd_);
  if (copy_fd_ >= 0) ::close(copy_fd_);
}

bool Subprocess::pump(const LineFn& on_line, std::chrono::milliseconds poll_every) {
  if (out_fd_ < 0) return false;
  pollfd p{out_fd_, POLLIN, 0};
  int r = ::poll(&p, 1, static_cast<int>(poll_every.count()));
  if (r < 0 && errno == EINTR) return true;
  if (r <= 0) return true;
  char buf[65536];
  ssize_t n = ::read(out_fd_, buf, sizeof buf);
  if (n < 0 && (errno == EINTR || errno == EAGAIN)) return true;
  if (n <= 0) {  // EOF: the child (and everything holding the pipe) is gone
    if (!partial_.empty()) on_line(partial_), partial_.clear();
    ::close(out_fd_);
    out_fd_ = -1;
    return false;
  }
  for (ssize_t off = 0; off < n;) {
    ssize_t w = ::write(copy_fd_, buf + off, static_cast<size_t>(n - off));
    if (w < 0 && errno != EINTR) fail("writing pw.x output");
    if (w > 0) off += w;
  }
  std::string_view chunk(buf, static_cast<size_t>(n));
  size_t start = 0;
  while (true) {
    size_t nl = chunk.find('\n', start);
    if (nl == std::string_view::npos) {
      partial_.append(chunk.substr(start));
      break;
    }
    if (partial_.empty()) {
      on_line(chunk.substr(start, nl - start));
    } else {
      partial_.append(chunk.substr(start, nl - start));
      on_line(partial_);
      partial_.clear();
    }
    start = nl + 1;
  }
  return true;
}

void Subprocess::signal_group(int sig) const {
  if (pid_ > 0 && !status_) ::kill(-pid_, sig);
}

std::optional<ExitStatus> Subprocess::wait_for(std::chrono::milliseconds timeout) {
  if (status_) return status_;
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (true) {
    int st = 0;
    pid_t r = waitpid(pid_, &st, WNOHANG);
    if (r == pid_) {
      ExitStatus s;
      if (WIFEXITED(st))
        s.code = WEXITSTATUS(st);
      else if (WIFSIGNALED(st))
        s.signal = WTERMSIG(st);
      status_ = s;
      return status_;
    }
    if (r < 0 && errno != EINTR) fail("waitpid");
    if (std::chrono::steady_clock::now() >= deadline) return std::nullopt;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
}

}  // namespace qecloud
