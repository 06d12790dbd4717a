#include "backends/netns/netns_backend.hpp"

#include <unistd.h>

#include <filesystem>

#include <fmt/format.h>

#include "backends/netns/cluster_fault.hpp"
#include "backends/netns/node_launch.hpp"
#include "core/error.hpp"
#include "core/stop_signals.hpp"
#include "core/topology.hpp"
#include "job/core_ledger.hpp"
#include "job/foreground.hpp"
#include "job/node_contract.hpp"
#include "job/outputs.hpp"
#include "job/reconcile.hpp"
#include "job/start.hpp"

namespace fs = std::filesystem;

namespace qecloud::backends::netns {
namespace {

std::string self_exe() {
  return fs::read_symlink("/proc/self/exe").string();
}

std::vector<ClusterFault> check(const JobOptions& o) {
  refuse_options(o, "netns",
                 {"--nodes", "--slots-per-node", "--join-timeout", "--pw", "--mpirun", "--grace", "--store",
                  "--name", "--inject-fault", "--image", "--time", "--no-recover"},
                 "the main node plans ranks and pools from the slots that join");
  if (!o.rootfs.empty() && (o.given.count("--pw") || o.given.count("--mpirun")))
    throw UsageError("--pw/--mpirun with --image: the image's own pw.x and mpirun run the job");
  if (o.nodes < 2)
    throw UsageError("--nodes needs at least 2 nodes (a single node is a plain `qecloud run`)");
  if (::geteuid() != 0)
    throw UsageError(
        "--nodes N starts N network namespaces on this machine and needs root; run it as root (e.g. with "
        "sudo)");
  std::vector<ClusterFault> faults;
  for (const auto& text : o.faults) {
    faults.push_back(parse_cluster_fault(text));
    if (faults.back().node >= o.nodes)
      throw UsageError(
          fmt::format("--inject-fault: there is no node {} in a {}-node job", faults.back().node, o.nodes));
  }
  if (!o.store_url.empty() && o.store_url.rfind("file://", 0) != 0)
    throw UsageError("--nodes runs isolated namespaces with no route out: the store must be file://");
  return faults;
}

// The agents' contract: the job in the store, the programs, the slots, the deadlines.
NodeContract contract_for(const JobOptions& o, const StartedJob& job, int slots, bool oversubscribed) {
  NodeContract c = job_contract(job);
  c.pw = o.pw;
  c.mpirun = o.mpirun;
  c.grace_s = o.grace_s;
  c.recover = o.recover;
  c.join_timeout_s = o.join_timeout_s;
  c.time_limit_s = o.run_time_limit_s;
  c.slots = slots;
  c.yield_when_idle = oversubscribed;
  c.work_root = "/tmp/qecloud-agent";
  // The heartbeat tunables pass through from the caller's environment (tests shorten them).
  const EnvLookup env = process_env();
  c.heartbeat_s = env_seconds(env, node_var::kHeartbeat, c.heartbeat_s, 0, 86400);
  c.lost_after_s = env_seconds(env, node_var::kLostAfter, c.lost_after_s, 0, 86400);
  // A stop is AWS Batch's (SIGTERM to every node, SIGKILL 30 s later), and the agents know its window.
  c.kill_window_s = env_seconds(env, node_var::kKillWindow, 30, 1, 3600);
  return c;
}

NodeLaunch launch_for(const JobOptions& o, const StartedJob& job, const NodeContract& c,
                      const std::vector<ClusterFault>& faults, const fs::path& work, const RunObserver& obs) {
  NodeLaunch l;
  l.job_id = job.record.id;
  l.nodes = o.nodes;
  // In an image, its own qecloud (where the Dockerfile puts it) runs the nodes; here, this one.
  l.argv = {o.rootfs.empty() ? self_exe() : "/usr/local/bin/qecloud", "agent"};
  l.rootfs = o.rootfs;
  l.env = c.to_env();
  l.env["PATH"] = "/usr/local/bin:/usr/bin:/bin:/usr/local/sbin:/usr/sbin:/sbin";
  l.env["HOME"] = "/root";
  l.log_dir = work.string();
  l.shared = {job.location.root_url.substr(std::string("file://").size())};
  for (const std::string& program : {o.pw, o.mpirun})  // a wrapper under /tmp must be visible in the nodes
    if (fs::path(program).is_absolute()) l.shared.push_back(program);
  l.faults = faults;
  l.kill_window_s = c.kill_window_s;
  l.on_main_line = obs.on_note;
  l.on_note = obs.on_note;
  return l;
}

// What the job left: every node's log into the store, and the main agent's report. Returns the report's
// history (the main node's recoveries) for the job's record.
std::vector<std::string> collect(const StartedJob& job, const fs::path& work, int nodes, int main_code,
                                 RunResult& res) {
  std::vector<std::string> history;
  std::vector<std::string> logs;
  for (int i = 0; i < nodes; ++i) logs.push_back((work / output_name::node_log(i)).string());
  const StoreReport stored = store_outputs(*job.store, job.location, "", "", logs);
  res.exit_code = main_code;
  res.state = JobState::kFailed;
  res.outputs_url = job.location.url();
  if (auto report = read_stored_report(*job.store, job.location)) {
    res.state = report->state;
    res.message = report->message;
    res.results = report->results;
    res.layout.nodes = report->nodes ? report->nodes : nodes;
    res.layout.ranks = report->ranks;
    res.layout.pools = report->pools;
    history = report->history;
  } else {
    res.message = fmt::format("the main node left no report (exit status {}); see node-0.log", main_code);
  }
  if (!stored.ok()) res.message += (res.message.empty() ? "" : "; ") + stored.summary();
  return history;
}

}  // namespace

RunResult run(const JobOptions& o, const RunObserver& obs) {
  const std::vector<ClusterFault> faults = check(o);
  JobDb db(job_db_path());
  StopSignals signals;
  // In an image the input is judged for the release its label records (pw.x is not this machine's).
  StartedJob job = start_job({.input = o.input,
                              .name = o.name,
                              .store_url = o.store_url,
                              .backend = "netns",
                              .pw = o.rootfs.empty() ? o.pw : "",
                              .qe_version = o.qe_version,
                              .qe_version_source = o.qe_version_source,
                              .resume = o.resume},
                             db, obs.on_validated);
  RunResult res;
  res.job_id = job.record.id;
  res.outputs_url = job.location.url();
  if (job.refused) {
    res.state = JobState::kInvalid;
    res.exit_code = kExitBadInput;
    res.message = job.record.message;
    return res;
  }
  JobGuard guard(db, res.job_id);
  Heartbeat heartbeat(db, res.job_id);
  try {
    guard.step("staging the input");
    stage_inputs(job);
    guard.step("waiting for cores");
    const int machine = detect_topology().physical_cores;
    auto cores = claim_cores({machine, std::nullopt, false, res.job_id, ""},
                             {obs.on_note, [&] { return signals.received(); }, [&] { heartbeat.tick(); }});
    if (!cores || signals.received()) {
      res.stop_signal = signals.received();
      res.state = JobState::kStopped, res.exit_code = kExitStopped;
      res.message = fmt::format("stopped by {} before the nodes started", strsignal(res.stop_signal));
      guard.finish(res.state, res.exit_code, nlohmann::json::object(), res.message);
      return res;
    }
    const int slots = o.slots_per_node > 0 ? o.slots_per_node : std::max(1, cores->cores() / o.nodes);
    const fs::path work = local_work_dir(res.job_id);
    fs::create_directories(work);
    db.set_remote(res.job_id, {{"work_dir", work.string()}, {"nodes", o.nodes}, {"image", o.image}});
    if (obs.on_note)
      obs.on_note(fmt::format("starting {} nodes (network namespaces{}, {} slot{} each)", o.nodes,
                              o.image.empty() ? "" : ", each inside image " + o.image, slots,
                              slots > 1 ? "s" : ""));
    const NodeContract c = contract_for(o, job, slots, slots * o.nodes > cores->cores());
    NodeLaunch l = launch_for(o, job, c, faults, work, obs);
    l.on_tick = [&] { heartbeat.tick(); };
    guard.step("running the nodes");
    db.set_state(res.job_id, JobState::kRunning, fmt::format("{} nodes", o.nodes));
    const LaunchResult launched = launch_nodes(l);
    guard.step("collecting the nodes' outputs");
    for (const auto& h : collect(job, work, o.nodes, launched.main_code, res))
      db.set_state(res.job_id, JobState::kRunning, h);
    res.stop_signal = launched.stop_signal;
    db.set_layout(res.job_id, {{"nodes", o.nodes}, {"ranks", res.layout.ranks}, {"pools", res.layout.pools}});
    guard.finish(res.state, res.exit_code, qe::to_json(res.results), res.message);
  } catch (const std::exception& e) {
    guard.fail(e);
    throw;
  }
  return res;
}

JobStatus refresh(JobDb& db, const JobRecord& job) {
  JobStatus s;
  s.job = reconcile(db, job);
  s.backend_state = std::string(to_string(s.job.state));
  if (!is_final(s.job.state))
    s.backend_state +=
        fmt::format(" ({} network namespaces, pid {})", job.remote.value("nodes", 0), job.owner.pid);
  return s;
}

int logs(JobDb&, const JobRecord& job, std::optional<int> node, LogCursor& cursor, const LogLine& line) {
  const int nodes = job.remote.value("nodes", job.layout.value("nodes", 1));
  if (node && (*node < 0 || *node >= nodes))
    throw UsageError(fmt::format("--node {}: job {} has nodes 0 to {}", *node, job.id, nodes - 1));
  std::vector<LogFile> files;
  for (int i = 0; i < nodes; ++i)
    if (!node || *node == i) files.push_back({i, output_name::node_log(i)});
  return read_job_logs(job, files, cursor.position, line);
}

void cancel(JobDb&, const JobRecord& job, const std::string&) {
  stop_owner(job);
}

std::vector<std::string> fetch(JobDb& db, const JobRecord& job, const std::string& dir) {
  return fetch_job_outputs(db, job, dir);
}

}  // namespace qecloud::backends::netns
