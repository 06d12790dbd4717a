#include "sched/cluster_run.hpp"

#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <csignal>
#include <filesystem>
#include <fstream>
#include <thread>

#include <fmt/format.h>

#include "agent/wire.hpp"
#include "aws/crypto.hpp"
#include "core/error.hpp"
#include "core/job_db.hpp"
#include "core/paths.hpp"
#include "core/stop_signals.hpp"
#include "core/text.hpp"
#include "core/topology.hpp"
#include "qe/pw_input.hpp"
#include "qe/results.hpp"
#include "sched/node_launch.hpp"
#include "storage/object_store.hpp"

namespace fs = std::filesystem;
using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

namespace qecloud::sched {
namespace {

std::string self_exe() {
  return fs::read_symlink("/proc/self/exe").string();
}

}  // namespace

ClusterFault parse_cluster_fault(const std::string& text) {
  std::vector<std::string> parts;
  for (std::size_t start = 0;;) {
    auto colon = text.find(':', start);
    parts.push_back(text.substr(start, colon - start));
    if (colon == std::string::npos) break;
    start = colon + 1;
  }
  static const std::map<std::string, ClusterFault::Kind> kinds = {
      {"no-start", ClusterFault::Kind::kNoStart},
      {"wrong-secret", ClusterFault::Kind::kWrongSecret},
      {"kill-agent", ClusterFault::Kind::kKillAgent},
      {"link-down", ClusterFault::Kind::kLinkDown}};
  const std::string usage =
      "a fault is KIND:NODE[:SECONDS] with KIND no-start, wrong-secret, kill-agent or "
      "link-down, e.g. kill-agent:1:2";
  if (parts.size() < 2 || parts.size() > 3 || !kinds.count(parts[0]))
    throw UsageError(fmt::format("--inject-fault '{}': {}", text, usage));
  ClusterFault f{kinds.at(parts[0])};
  try {
    f.node = std::stoi(parts[1]);
    if (parts.size() == 3) f.after_s = std::stod(parts[2]);
  } catch (const std::exception&) {
    throw UsageError(fmt::format("--inject-fault '{}': {}", text, usage));
  }
  const bool at_start = f.kind == ClusterFault::Kind::kNoStart || f.kind == ClusterFault::Kind::kWrongSecret;
  if (f.node < (at_start ? 1 : 0))
    throw UsageError(fmt::format("--inject-fault '{}': {}", text,
                                 at_start
                                     ? "the main node (0) must start; this fault goes to a child (1, 2, …)"
                                     : "node indices start at 0 (the main)"));
  return f;
}

LocalRunResult run_cluster(const ClusterRunOptions& o, const RunObserver& obs,
                           qe::ValidationReport* report_out) {
  if (o.nodes < 2)
    throw UsageError("--nodes needs at least 2 nodes (a single node is a plain `qecloud run`)");
  if (::geteuid() != 0)
    throw UsageError(
        "--nodes N starts N network namespaces on this machine and needs root; run it as root "
        "(e.g. with sudo)");
  for (const auto& f : o.faults)
    if (f.node >= o.nodes || f.node < 0)
      throw UsageError(fmt::format("--inject-fault: there is no node {} in a {}-node job", f.node, o.nodes));
  const std::string store_url = o.run.store_url.empty() ? default_store_url() : o.run.store_url;
  if (store_url.rfind("file://", 0) != 0)
    throw UsageError("--nodes runs isolated namespaces with no route out: the store must be file://");
  const fs::path input = fs::absolute(o.run.input).lexically_normal();

  JobDb db(job_db_path());
  JobStart start = begin_job(o.run, "netns", obs, db);  // an invalid input: recorded, no node starts
  if (report_out) *report_out = start.report;
  if (start.refused) return start.res;
  LocalRunResult& res = start.res;
  const qe::ValidationReport& report = start.report;
  auto& store = start.store;
  const std::string& job_key = start.key;

  try {
    // 2. The job's input in the store, laid out as the main agent will stage it.
    stage_inputs(*store, input.string(), report, job_key);

    // 3. The nodes: cores shared out among them (a rehearsal runs every node on this machine's cores).
    const int cores = detect_topology().physical_cores;
    const int slots = o.slots_per_node > 0 ? o.slots_per_node : std::max(1, cores / o.nodes);
    const bool oversubscribed = slots * o.nodes > cores;
    const fs::path work = fs::path(qecloud_home()) / "work" / res.job_id;
    fs::create_directories(work);
    const std::string secret = aws::hex(agent::random_bytes(24));
    if (obs.on_note)
      obs.on_note(fmt::format("starting {} nodes (network namespaces, {} slot{} each)", o.nodes, slots,
                              slots > 1 ? "s" : ""));
    NodeLaunch l;
    l.job_id = res.job_id;
    l.nodes = o.nodes;
    l.argv = {self_exe(), "agent"};
    l.env = {{"PATH", "/usr/local/bin:/usr/bin:/bin:/usr/local/sbin:/usr/sbin:/sbin"},
             {"HOME", "/root"},
             {"QECLOUD_JOB_SECRET", secret},
             {"QECLOUD_AGENT_SLOTS", std::to_string(slots)},
             {"QECLOUD_AGENT_WORK", "/tmp/qecloud-agent"},
             {"QECLOUD_JOIN_TIMEOUT", std::to_string(o.join_timeout_s)}};
    if (oversubscribed) l.env["QECLOUD_AGENT_OVERSUBSCRIBED"] = "1";
    for (const char* pass : {"QECLOUD_HEARTBEAT_INTERVAL", "QECLOUD_HEARTBEAT_TIMEOUT"})
      if (const char* v = std::getenv(pass)) l.env[pass] = v;
    l.node_env[0] = {{"QECLOUD_STORE", store_url},
                     {"QECLOUD_STORE_JOB", job_key},
                     {"QECLOUD_INPUT", input.filename().string()}};
    l.log_dir = work.string();
    l.shared = {store_url.substr(std::string("file://").size())};
    l.faults = o.faults;
    l.on_main_line = obs.on_note;
    l.on_note = obs.on_note;
    db.set_state(res.job_id, job_state::kRunning, fmt::format("{} nodes", o.nodes));
    const LaunchResult launched = launch_nodes(l);
    const int main_code = launched.main_code;

    // 5. What the job left: the main agent's report and results, plus every node's log.
    for (int i = 0; i < o.nodes; ++i) {
      const fs::path log = work / fmt::format("node-{}.log", i);
      if (fs::exists(log)) store->put_file(log.string(), job_key + "/output/" + log.filename().string());
    }
    res.exit_code = main_code;
    res.state = job_state::kFailed;
    res.outputs_url = store->url(job_key);
    const std::string agent_key = job_key + "/output/agent.json";
    if (store->exists(agent_key)) {
      store->get_file(agent_key, (work / "agent.json").string());
      auto j = nlohmann::json::parse(text::read_file((work / "agent.json").string()), nullptr, false);
      if (j.is_object()) {
        res.state = j.value("state", job_state::kFailed);
        res.message = j.value("message", "");
        if (j.contains("results")) res.results = qe::results_from_json(j["results"]);
        if (j.contains("layout")) {
          res.layout.nodes = j["layout"].value("nodes", o.nodes);
          res.layout.ranks = j["layout"].value("ranks", 1);
          res.layout.pools = j["layout"].value("pools", 1);
        }
      }
    } else {
      res.message = fmt::format("the main node left no report (exit status {}); see node-0.log", main_code);
    }
    db.set_layout(res.job_id, {{"nodes", o.nodes}, {"ranks", res.layout.ranks}, {"pools", res.layout.pools}});
    res.stop_signal = launched.stop_signal;
    db.finish(res.job_id, res.state, res.exit_code, qe::to_json(res.results), res.message);
  } catch (const std::exception& e) {
    record_failure(db, res.job_id, e);
    throw;
  }
  return res;
}

}  // namespace qecloud::sched
