#include "backends/netns/netns_cluster.hpp"

#include <fcntl.h>
#include <sched.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
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

// The node's empty mount points on the host (its /tmp's, and with an image its root's and overlay's).
void remove_staging(const std::string& ns) {
  std::error_code ec;
  for (const char* suffix : {"", "-root", "-rw"})
    fs::remove(fmt::format("{}/{}{}", kStagingDir, ns, suffix), ec);
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
      if (options.isolated)
        ip({"-n", hub, "link", "set", "dev", veth, "type", "bridge_slave", "isolated", "on"});
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

namespace {

// Everything a node's child does between fork and exec, worked out before the fork: the child may make
// system calls only (the forwarder threads of the parent may hold the allocator's lock).
struct NodeMounts {
  struct Share {
    std::string path;    // as the job knows it
    std::string staged;  // where it is bound: under the node's new /tmp, or under the image's root
    bool dir = false;
    std::vector<std::string> parents;  // the directories to make first, outermost first
  };
  std::string host;       // the node's hostname
  std::string tmp_stage;  // the node's /tmp (a tmpfs), built here and then moved onto /tmp
  // With an image: `root` is an overlay of the image's tree (read-only, shared by every node) under a
  // per-node tmpfs `rw` (its upper and work directories), so the node can write anywhere, as in a container.
  std::string rootfs, root, rw, upper, work, overlay_options, proc, dev, sys, tmp_target;
  std::vector<Share> shares;
};

std::vector<std::string> parents_under(const std::string& base, const std::string& staged) {
  std::vector<std::string> out;
  for (std::size_t slash = base.size() + 1; (slash = staged.find('/', slash)) != std::string::npos; ++slash)
    out.push_back(staged.substr(0, slash));
  return out;
}

// The node's /tmp is built at a staging mount point outside /tmp (so the host's /tmp stays reachable for
// the bind mounts), then moved onto /tmp. Classic mount(2) cannot bind across mount namespaces. Without an
// image, paths outside /tmp are the host's and visible anyway; in an image, they are bound into its root.
NodeMounts plan_mounts(const std::string& stage, const std::string& host,
                       const std::vector<std::string>& shared, const std::string& rootfs) {
  NodeMounts m;
  m.host = host;
  m.tmp_stage = stage;
  fs::create_directories(stage);
  if (!rootfs.empty()) {
    m.rootfs = rootfs;
    m.root = stage + "-root", m.rw = stage + "-rw";
    fs::create_directories(m.root);
    fs::create_directories(m.rw);
    m.upper = m.rw + "/upper", m.work = m.rw + "/work";
    m.overlay_options = fmt::format("lowerdir={},upperdir={},workdir={}", rootfs, m.upper, m.work);
    m.proc = m.root + "/proc", m.dev = m.root + "/dev", m.sys = m.root + "/sys",
    m.tmp_target = m.root + "/tmp";
  }
  for (const auto& p : shared) {
    const fs::path abs = fs::absolute(p).lexically_normal();
    const bool in_tmp = abs.string().rfind("/tmp/", 0) == 0;
    if (!in_tmp && rootfs.empty()) continue;  // outside /tmp: the host's, visible anyway
    const std::string base = in_tmp ? stage : m.root;
    NodeMounts::Share sh{
        abs.string(), base + (in_tmp ? abs.string().substr(4) : abs.string()), fs::is_directory(abs), {}};
    sh.parents = parents_under(base, sh.staged);
    m.shares.push_back(std::move(sh));
  }
  // /tmp shares go into the tmpfs before it moves; the rest into the root after the overlay is mounted.
  std::stable_partition(m.shares.begin(), m.shares.end(),
                        [](const NodeMounts::Share& s) { return s.path.rfind("/tmp/", 0) == 0; });
  return m;
}

void bind_share(const NodeMounts::Share& sh, int log_fd) {
  for (const auto& dir : sh.parents) ::mkdir(dir.c_str(), 0755);
  if (sh.dir)
    ::mkdir(sh.staged.c_str(), 0755);
  else
    ::close(::open(sh.staged.c_str(), O_WRONLY | O_CREAT, 0755));
  if (::mount(sh.path.c_str(), sh.staged.c_str(), nullptr, MS_BIND | MS_REC, nullptr) != 0)
    child_fail(log_fd, sh.path.c_str());
}

// In the child, after fork: the node's namespaces, hostname, /tmp and (with an image) root. System calls
// only; fails the child with a line in its log.
void enter_node(const NodeMounts& m, int ns_fd, int log_fd) {
  ::setpgid(0, 0);
  if (::setns(ns_fd, CLONE_NEWNET) != 0) child_fail(log_fd, "setns");
  if (::unshare(CLONE_NEWNS | CLONE_NEWUTS) != 0) child_fail(log_fd, "unshare");
  if (::sethostname(m.host.data(), m.host.size()) != 0) child_fail(log_fd, "sethostname");
  if (::mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) != 0)
    child_fail(log_fd, "mount --make-rprivate /");
  if (::mount("tmpfs", m.tmp_stage.c_str(), "tmpfs", MS_NOSUID | MS_NODEV, "mode=1777") != 0)
    child_fail(log_fd, "mount tmpfs");
  if (!m.root.empty()) {
    if (::mount("tmpfs", m.rw.c_str(), "tmpfs", 0, "mode=0755") != 0)
      child_fail(log_fd, "mount tmpfs (overlay)");
    ::mkdir(m.upper.c_str(), 0755);
    ::mkdir(m.work.c_str(), 0755);
    if (::mount("overlay", m.root.c_str(), "overlay", 0, m.overlay_options.c_str()) != 0)
      child_fail(log_fd, m.rootfs.c_str());
  }
  for (const auto& sh : m.shares) bind_share(sh, log_fd);
  if (m.root.empty()) {
    if (::mount(m.tmp_stage.c_str(), "/tmp", nullptr, MS_MOVE, nullptr) != 0)
      child_fail(log_fd, "mount --move /tmp");
    return;
  }
  for (const auto* dir : {&m.proc, &m.dev, &m.sys, &m.tmp_target}) ::mkdir(dir->c_str(), 0755);
  if (::mount("proc", m.proc.c_str(), "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, nullptr) != 0)
    child_fail(log_fd, "mount proc");
  if (::mount("/dev", m.dev.c_str(), nullptr, MS_BIND | MS_REC, nullptr) != 0)
    child_fail(log_fd, "bind /dev");
  if (::mount("/sys", m.sys.c_str(), nullptr, MS_BIND | MS_REC, nullptr) != 0)
    child_fail(log_fd, "bind /sys");
  if (::mount(m.tmp_stage.c_str(), m.tmp_target.c_str(), nullptr, MS_MOVE, nullptr) != 0)
    child_fail(log_fd, "mount --move /tmp");
  if (::chroot(m.root.c_str()) != 0 || ::chdir("/") != 0) child_fail(log_fd, "chroot into the image");
}

}  // namespace

pid_t NetnsCluster::start(int node, const std::vector<std::string>& argv,
                          const std::map<std::string, std::string>& env, const std::string& log_path,
                          const std::vector<std::string>& shared, const std::string& rootfs) {
  // Everything that allocates happens before fork.
  const std::string ns_path = std::string(kNetnsDir) + "/" + netns(node);
  std::vector<std::string> env_strings;
  for (const auto& [k, v] : env) env_strings.push_back(k + "=" + v);
  std::vector<char*> envp, args;
  for (auto& e : env_strings) envp.push_back(e.data());
  envp.push_back(nullptr);
  std::vector<std::string> argv_copy = argv;
  for (auto& a : argv_copy) args.push_back(a.data());
  args.push_back(nullptr);
  const NodeMounts mounts = plan_mounts(fmt::format("{}/{}", kStagingDir, netns(node)),
                                        fmt::format("node-{}", node), shared, rootfs);
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
    enter_node(mounts, ns_fd, log_fd);
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

void NetnsCluster::kill_node(int node) {
  kill_in_netns(netns(node));
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
      remove_staging(netns(i));
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
    remove_staging(name);
    ++removed;
  }
  return removed;
}

}  // namespace qecloud::backends::netns
