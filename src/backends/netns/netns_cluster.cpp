#include "backends/netns/netns_cluster.hpp"

#include <fcntl.h>
#include <sched.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>
#include <cstring>
#include <filesystem>
#include <regex>
#include <sstream>
#include <thread>

#include <fmt/format.h>

#include "backends/netns/loopback_forward.hpp"
#include "core/error.hpp"
#include "core/process.hpp"

namespace fs = std::filesystem;

namespace qecloud::backends::netns {
namespace {

constexpr const char* kNetnsDir = "/var/run/netns";
constexpr const char* kStagingDir = "/run/qecloud-netns";  // empty mount points, one per node

// Runs `ip ARGS…`; returns its output. Throws with ip's own message when it fails (unless !check).
std::string ip(const std::vector<std::string>& args, bool check = true) {
  std::vector<std::string> argv = {"ip"};
  argv.insert(argv.end(), args.begin(), args.end());
  if (check) return capture_ok(argv);
  SpawnOptions o;
  o.argv = argv;
  return capture(o).output;
}

bool pid_alive(pid_t pid) {
  return ::kill(pid, 0) == 0 || errno == EPERM;
}

void kill_in_netns(const std::string& name) {
  for (int round = 0; round < 20; ++round) {
    std::istringstream pids(ip({"netns", "pids", name}, false));
    pid_t pid;
    bool any = false;
    while (pids >> pid) {
      ::kill(pid, SIGKILL);
      any = true;
    }
    if (!any) return;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
}

[[noreturn]] void child_fail(int log_fd, const char* what) {
  char buf[512];
  int n =
      std::snprintf(buf, sizeof buf, "qecloud: cannot start the node: %s: %s\n", what, std::strerror(errno));
  if (n > 0) (void)!::write(log_fd, buf, static_cast<std::size_t>(n));
  ::_exit(127);
}

}  // namespace

NetnsCluster::NetnsCluster(int nodes, const Options& options)
    : nodes_(nodes), prefix_(fmt::format("qc{}", ::getpid())) {
  if (nodes < 1 || nodes > 200)
    throw UsageError(fmt::format("a netns cluster has 1 to 200 nodes, not {}", nodes));
  if (::geteuid() != 0)
    throw UsageError(
        "a cluster of network namespaces needs root (CAP_SYS_ADMIN, CAP_NET_ADMIN); run as root");
  remove_stale();
  try {
    const std::string hub = prefix_ + "h";
    ip({"netns", "add", hub});
    ip({"-n", hub, "link", "add", "br0", "type", "bridge"});
    ip({"-n", hub, "link", "set", "br0", "up"});
    for (int i = 0; i < nodes; ++i) {
      const std::string ns = netns(i), veth = fmt::format("v{}", i);
      ip({"netns", "add", ns});
      if (options.ecs_network) {
        // A veth pair whose other end stays unplugged in the node: kernels without the dummy driver have
        // veth.
        ip({"-n", ns, "link", "add", "ecs-eth0", "type", "veth", "peer", "name", "ecs-unplugged"});
        ip({"-n", ns, "addr", "add", "169.254.172.2/22", "dev", "ecs-eth0"});
        ip({"-n", ns, "addr", "add", "169.254.170.2/32", "dev", "ecs-eth0"});
        ip({"-n", ns, "link", "set", "ecs-unplugged", "up"});
        ip({"-n", ns, "link", "set", "ecs-eth0", "up"});
      }
      ip({"-n", hub, "link", "add", veth, "type", "veth", "peer", "name", "eth0", "netns", ns});
      ip({"-n", hub, "link", "set", veth, "master", "br0", "up"});
      if (options.isolated) ip({"-n", hub, "link", "set", "dev", veth, "type", "bridge_slave", "isolated", "on"});
      ip({"-n", ns, "addr", "add", address(i) + "/24", "dev", "eth0"});
      ip({"-n", ns, "link", "set", "eth0", "up"});
      ip({"-n", ns, "link", "set", "lo", "up"});
    }
  } catch (...) {
    teardown();
    throw;
  }
}

NetnsCluster::~NetnsCluster() {
  teardown();
}

std::string NetnsCluster::address(int node) const {
  return fmt::format("198.18.0.{}", 10 + node);
}

std::string NetnsCluster::netns(int node) const {
  return fmt::format("{}n{}", prefix_, node);
}

pid_t NetnsCluster::start(int node, const std::vector<std::string>& argv,
                          const std::map<std::string, std::string>& env, const std::string& log_path,
                          const std::vector<std::string>& shared) {
  // Everything that allocates happens before fork.
  const std::string ns_path = std::string(kNetnsDir) + "/" + netns(node);
  const std::string host = fmt::format("node-{}", node);
  std::vector<std::string> env_strings;
  for (const auto& [k, v] : env) env_strings.push_back(k + "=" + v);
  std::vector<char*> envp, args;
  for (auto& e : env_strings) envp.push_back(e.data());
  envp.push_back(nullptr);
  std::vector<std::string> argv_copy = argv;
  for (auto& a : argv_copy) args.push_back(a.data());
  args.push_back(nullptr);
  struct Share {
    std::string path;    // under /tmp, as the job knows it
    std::string staged;  // the same path under the node's new tmpfs, before that tmpfs moves onto /tmp
    bool dir;
    std::vector<std::string> parents;  // the directories to make under the tmpfs first, outermost first
  };
  // The node's /tmp is built at a staging mount point outside /tmp (so the host's /tmp stays reachable
  // for the bind mounts), then moved onto /tmp. Classic mount(2) cannot bind across mount namespaces.
  const std::string staging = fmt::format("{}/{}", kStagingDir, netns(node));
  fs::create_directories(staging);
  std::vector<Share> shares;
  for (const auto& p : shared) {
    fs::path abs = fs::absolute(p).lexically_normal();
    if (abs.string().rfind("/tmp/", 0) != 0) continue;  // outside /tmp: visible anyway
    Share sh{abs.string(), staging + abs.string().substr(4), fs::is_directory(abs), {}};
    for (std::size_t slash = staging.size() + 1; (slash = sh.staged.find('/', slash)) != std::string::npos;
         ++slash)
      sh.parents.push_back(sh.staged.substr(0, slash));
    shares.push_back(std::move(sh));
  }
  int log_fd = ::open(log_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (log_fd < 0) throw Error(fmt::format("cannot write {}: {}", log_path, std::strerror(errno)));
  int ns_fd = ::open(ns_path.c_str(), O_RDONLY | O_CLOEXEC);
  if (ns_fd < 0) {
    ::close(log_fd);
    throw Error(fmt::format("cannot open {}: {}", ns_path, std::strerror(errno)));
  }

  pid_t pid = ::fork();
  if (pid < 0) throw Error(std::string("fork: ") + std::strerror(errno));
  if (pid == 0) {
    ::setpgid(0, 0);
    if (::setns(ns_fd, CLONE_NEWNET) != 0) child_fail(log_fd, "setns");
    if (::unshare(CLONE_NEWNS | CLONE_NEWUTS) != 0) child_fail(log_fd, "unshare");
    if (::sethostname(host.data(), host.size()) != 0) child_fail(log_fd, "sethostname");
    if (::mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) != 0)
      child_fail(log_fd, "mount --make-rprivate /");
    if (::mount("tmpfs", staging.c_str(), "tmpfs", MS_NOSUID | MS_NODEV, "mode=1777") != 0)
      child_fail(log_fd, "mount tmpfs");
    // Between fork and exec only system calls on what was built before the fork: the forwarder threads of
    // the parent may hold the allocator's lock, which the child would never see released.
    for (const auto& sh : shares) {
      for (const auto& dir : sh.parents) ::mkdir(dir.c_str(), 0755);
      if (sh.dir)
        ::mkdir(sh.staged.c_str(), 0755);
      else
        ::close(::open(sh.staged.c_str(), O_WRONLY | O_CREAT, 0755));
      if (::mount(sh.path.c_str(), sh.staged.c_str(), nullptr, MS_BIND | MS_REC, nullptr) != 0)
        child_fail(log_fd, sh.path.c_str());
    }
    if (::mount(staging.c_str(), "/tmp", nullptr, MS_MOVE, nullptr) != 0)
      child_fail(log_fd, "mount --move /tmp");
    ::dup2(log_fd, STDOUT_FILENO);
    ::dup2(log_fd, STDERR_FILENO);
    int null_fd = ::open("/dev/null", O_RDONLY);
    ::dup2(null_fd, STDIN_FILENO);
    ::execve(args[0], args.data(), envp.data());
    child_fail(log_fd, args[0]);
  }
  ::close(log_fd);
  ::close(ns_fd);
  started_.push_back(pid);
  return pid;
}

void NetnsCluster::set_link(int node, bool up) {
  ip({"-n", prefix_ + "h", "link", "set", fmt::format("v{}", node), up ? "up" : "down"});
}

void NetnsCluster::forward_loopback(int port) {
  std::vector<std::string> paths;
  for (int i = 0; i < nodes_; ++i) paths.push_back(std::string(kNetnsDir) + "/" + netns(i));
  forwarders_.push_back(std::make_unique<LoopbackForwarder>(paths, port));
}

void NetnsCluster::forward_into(const std::string& inside_address, int inside_port, int host_port) {
  std::vector<std::string> paths;
  for (int i = 0; i < nodes_; ++i) paths.push_back(std::string(kNetnsDir) + "/" + netns(i));
  forwarders_.push_back(std::make_unique<LoopbackForwarder>(paths, inside_address, inside_port, host_port));
}

void NetnsCluster::teardown() noexcept {
  try {
    forwarders_.clear();
    for (int i = 0; i < nodes_; ++i) kill_in_netns(netns(i));
    for (pid_t p : started_) {
      ::kill(-p, SIGKILL);
      int st;
      ::waitpid(p, &st, 0);
    }
    started_.clear();
    for (int i = 0; i < nodes_; ++i) {
      ip({"netns", "del", netns(i)}, false);
      std::error_code ec;
      fs::remove(fmt::format("{}/{}", kStagingDir, netns(i)), ec);
    }
    ip({"netns", "del", prefix_ + "h"}, false);
  } catch (...) {
  }
}

std::vector<std::string> NetnsCluster::list_ours() {
  std::vector<std::string> out;
  std::error_code ec;
  static const std::regex ours(R"(qc\d+(h|n\d+))");
  for (const auto& e : fs::directory_iterator(kNetnsDir, ec))
    if (std::regex_match(e.path().filename().string(), ours)) out.push_back(e.path().filename().string());
  return out;
}

int NetnsCluster::remove_stale() {
  int removed = 0;
  static const std::regex owner(R"(qc(\d+)(h|n\d+))");
  for (const auto& name : list_ours()) {
    std::smatch m;
    if (!std::regex_match(name, m, owner)) continue;
    if (pid_alive(static_cast<pid_t>(std::stol(m[1].str())))) continue;
    kill_in_netns(name);
    ip({"netns", "del", name}, false);
    std::error_code ec;
    fs::remove(fmt::format("{}/{}", kStagingDir, name), ec);
    ++removed;
  }
  return removed;
}

}  // namespace qecloud::backends::netns
