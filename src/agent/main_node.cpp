// The main node of a multi-node job: input from the store, rendezvous, mpirun through the agents, watchdog,
// outputs back to the store, the job's exit code.
#include <sys/resource.h>
#include <unistd.h>

#include <chrono>
#include <csignal>
#include <filesystem>
#include <fstream>

#include <fmt/format.h>

#include "agent/agent.hpp"
#include "agent/rendezvous.hpp"
#include "agent/wire.hpp"
#include "core/diagnostic.hpp"
#include "core/error.hpp"
#include "core/job_db.hpp"
#include "core/json_text.hpp"
#include "core/stop_signals.hpp"
#include "core/subprocess.hpp"
#include "core/topology.hpp"
#include "qe/layout.hpp"
#include "qe/outcome.hpp"
#include "qe/output_parser.hpp"
#include "qe/validator.hpp"
#include "qe/xml_results.hpp"
#include "storage/object_store.hpp"

namespace fs = std::filesystem;
using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

namespace qecloud::agent {
namespace {

constexpr auto kTermGrace = 3s;  // after SIGTERM, mpirun gets this long before SIGKILL

struct JobReport {
  std::string state = job_state::kFailed;
  int exit_code = kExitFailure;
  std::string message;
  qe::Layout layout;
  std::vector<PeerInfo> nodes;
  qe::Results results;
  // Without the node list, which write() streams one node at a time: for a thousand nodes a whole JSON tree
  // would cost the main about 1 MiB, a tenth of its memory.
  nlohmann::json summary() const {
    return {{"state", state},
            {"exit_code", exit_code},
            {"message", message},
            {"layout", {{"nodes", layout.nodes}, {"ranks", layout.ranks}, {"pools", layout.pools}}},
            {"results", qe::to_json(results)}};
  }
  void write(const fs::path& path) const {
    std::string text = json_text(summary());  // "{\n  …\n}"
    text.erase(text.rfind('}'));
    while (!text.empty() && (text.back() == '\n' || text.back() == ' ')) text.pop_back();
    std::ofstream out(path);
    out << text << ",\n  \"node_list\": [";
    for (std::size_t i = 0; i < nodes.size(); ++i) {
      const auto& p = nodes[i];
      out << (i ? ",\n    " : "\n    ")
          << json_text(
                 {{"node", p.node}, {"address", p.address}, {"hostname", p.hostname}, {"slots", p.slots}},
                 -1);
    }
    out << (nodes.empty() ? "]\n}\n" : "\n  ]\n}\n");
  }
};

std::string self_exe() {
  std::error_code ec;
  auto p = fs::read_symlink("/proc/self/exe", ec);
  return ec ? std::string("qecloud") : p.string();
}

std::string hostname() {
  char buf[256] = {};
  ::gethostname(buf, sizeof buf - 1);
  return buf;
}

// The peak resident memory of this process image (VmHWM: unlike getrusage's maxrss it starts again at exec,
// so it does not count the pages of whoever forked us). 0 when /proc cannot say.
double peak_rss_mib() {
  std::ifstream in("/proc/self/status");
  std::string line;
  while (std::getline(in, line))
    if (line.rfind("VmHWM:", 0) == 0) return std::strtod(line.c_str() + 6, nullptr) / 1024.0;
  return 0;
}

int slots_of(const AgentSettings& s) {
  return s.slots > 0 ? s.slots : detect_topology().physical_cores;
}

// Puts whatever the job produced into the store; a failure to store one file is logged, not fatal, so
// the others still get there.
void store_outputs(storage::ObjectStore& store, const std::string& prefix, const fs::path& work,
                   const fs::path& save, const Log& log) {
  std::vector<fs::path> files = {work / "pw.out", work / "pw.err",   work / "results.json",
                                 work / "CRASH",  work / "hostfile", work / "agent.json"};
  if (!save.empty()) files.push_back(save / "data-file-schema.xml");
  for (const fs::path& f : files) {
    if (!fs::exists(f)) continue;
    try {
      store.put_file(f.string(), prefix + "/output/" + f.filename().string());
    } catch (const std::exception& e) {
      log(fmt::format("could not store {}: {}", f.string(), e.what()));
    }
  }
  if (!save.empty() && fs::exists(save)) {
    try {
      store.put_tree(save.string(), prefix + "/output/" + save.filename().string());
    } catch (const std::exception& e) {
      log(fmt::format("could not store {}: {}", save.string(), e.what()));
    }
  }
}

}  // namespace

int run_main(const NodeEnv& node, const AgentSettings& s, const Log& log, bool dry_run) {
  const auto started = Clock::now();
  // One socket per child: a job of a thousand nodes needs more than the usual soft limit of 1024 files.
  if (rlimit lim{}; ::getrlimit(RLIMIT_NOFILE, &lim) == 0 && lim.rlim_cur < lim.rlim_max) {
    lim.rlim_cur = lim.rlim_max;
    ::setrlimit(RLIMIT_NOFILE, &lim);
  }
  const fs::path work = fs::path(s.work_root) / node.job_id;
  fs::create_directories(work);
  std::ofstream log_file(work / "agent-main.log", std::ios::app);
  std::mutex log_mu;
  Log tee = [&](const std::string& line) {
    std::lock_guard lock(log_mu);
    log(line);
    log_file << line << '\n' << std::flush;
  };

  const std::string address = !s.address.empty() ? s.address : primary_ipv4();
  if (address.empty()) {
    tee("this node has no IPv4 address other than loopback; set QECLOUD_AGENT_ADDRESS");
    return kExitFailure;
  }
  RendezvousServer rv(node, s, tee);  // listening from now on: children may join while we fetch
  tee(fmt::format("main node {} of {} ({}, {}) listening on port {}", node.node_index, node.num_nodes,
                  hostname(), address, rv.port()));

  JobReport report;
  std::unique_ptr<storage::ObjectStore> store;
  fs::path save_dir;  // <outdir>/<prefix>.save once the input is known
  auto finish = [&](int code) {
    report.exit_code = code;
    report.write(work / "agent.json");
    log_file.flush();
    if (store) {
      store_outputs(*store, s.store_job, work, save_dir, tee);
      try {
        store->put_file((work / "agent-main.log").string(), s.store_job + "/output/agent-main.log");
      } catch (const std::exception& e) {
        log(fmt::format("could not store the agent log: {}", e.what()));
      }
    }
    rv.finish(code);
    // Last, so that it is the peak of the whole run (the stored log ends just before it).
    tee(fmt::format("peak resident memory {:.1f} MiB", peak_rss_mib()));
    return code;
  };

  qe::JobNeeds needs;
  try {
    // 1. The input, while the children join.
    if (!dry_run) {
      store = storage::open_store(s.store_url);
      const std::string in_prefix = s.store_job + "/input/";
      int n = 0;
      for (const auto& obj : store->list(in_prefix)) {
        const fs::path dest = work / obj.key.substr(in_prefix.size());
        fs::create_directories(dest.parent_path());
        store->get_file(obj.key, dest.string());
        ++n;
      }
      tee(fmt::format("fetched {} input file(s) from {}", n, store->url(in_prefix)));
      const fs::path input = work / s.input_name;
      if (!fs::exists(input)) {
        report.message = fmt::format("the input {} is not in {}", s.input_name, store->url(in_prefix));
        tee(report.message);
        return finish(kExitBadInput);
      }
      qe::ValidationReport v =
          qe::validate_file(input.string(), qe::ValidationEnv::from_process(work.string()));
      if (!v.diagnostics.empty()) tee(format_diagnostics(v.diagnostics));
      if (!v.ok()) {
        report.state = job_state::kInvalid;
        report.message = "the input is invalid; nothing ran";
        return finish(kExitBadInput);
      }
      needs = v.needs;
      save_dir = (work / needs.outdir / (needs.prefix + ".save")).lexically_normal();
    }

    // 2. Rendezvous: wake when the last child joins, or fail at the deadline naming who is missing.
    auto missing = rv.wait_for_children(started + std::chrono::seconds(s.join_timeout_s));
    if (!missing.empty()) {
      std::string list;
      for (int i : missing) list += (list.empty() ? "" : ", ") + std::to_string(i);
      report.message = fmt::format("node{} {} did not join within {} s", missing.size() > 1 ? "s" : "", list,
                                   s.join_timeout_s);
      tee(report.message);
      return finish(kExitFailure);
    }
    report.nodes = {PeerInfo{node.node_index, address, slots_of(s), hostname(), rv.port()}};
    for (const auto& p : rv.peers()) report.nodes.push_back(p);
    int total_slots = 0;
    for (const auto& p : report.nodes) total_slots += p.slots;
    tee(fmt::format("all {} nodes joined after {:.3f} s ({} slots)", node.num_nodes,
                    std::chrono::duration<double>(Clock::now() - started).count(), total_slots));

    // 3. Layout across the nodes: one rank per slot (physical core), pools over the whole job.
    qe::LayoutRequest lr;
    lr.cores = total_slots;
    lr.nodes = node.num_nodes;
    lr.kpoints = needs.irreducible_kpoints ? needs.irreducible_kpoints : needs.kpoints_listed;
    report.layout = qe::plan_layout(lr);
    tee("layout: " + report.layout.why);
    {
      std::ofstream hf(work / "hostfile"), pf(work / "peers");
      for (const auto& p : report.nodes) {
        hf << p.address << " slots=" << p.slots << '\n';
        pf << p.address << ' ' << p.exec_port << '\n';
      }
    }
    if (dry_run) {
      report.state = job_state::kSucceeded;
      report.message = "dry run: every node joined; nothing ran";
      return finish(kExitOk);
    }

    // 4. mpirun with this program as the remote launcher, supervised by the heartbeats.
    std::vector<std::string> argv = {"mpirun",
                                     "--hostfile",
                                     (work / "hostfile").string(),
                                     "-np",
                                     std::to_string(report.layout.ranks),
                                     "--map-by",
                                     "slot",
                                     "--display-map",
                                     "--mca",
                                     "plm_rsh_agent",
                                     self_exe() + " agent exec",
                                     "--mca",
                                     "plm_rsh_no_tree_spawn",
                                     "1"};
    if (::geteuid() == 0) argv.push_back("--allow-run-as-root");
    if (s.yield_when_idle) argv.insert(argv.end(), {"--mca", "mpi_yield_when_idle", "1"});
    argv.insert(argv.end(), {"pw.x", "-nk", std::to_string(report.layout.pools), "-in", s.input_name});
    const fs::path exit_file = work / needs.outdir / (needs.prefix + ".EXIT");
    fs::create_directories(exit_file.parent_path());
    if (fs::exists(exit_file)) fs::remove(exit_file);
    tee(fmt::format("running {} ranks on {} nodes, {} pools", report.layout.ranks, node.num_nodes,
                    report.layout.pools));

    StopSignals signals;
    qe::OutputParser parser;
    std::optional<ExitStatus> status;
    std::optional<std::string> lost;
    bool terminated = false, killed = false, stopping = false;
    auto kill_at = Clock::time_point::max();
    {
      Subprocess proc({argv,
                       work.string(),
                       {{"QECLOUD_AGENT_PEERS", (work / "peers").string()}},
                       (work / "pw.out").string(),
                       (work / "pw.err").string()});
      auto watchdog = [&] {
        if (!lost && (lost = rv.lost())) {
          tee(*lost + ": stopping mpirun");
          proc.signal_group(SIGTERM);
          terminated = true;
          kill_at = Clock::now() + kTermGrace;
        }
        if (signals.received() && !stopping) {  // the scheduler wants the node back: stop pw.x cleanly
          stopping = true;
          std::ofstream(exit_file).put('\n');
          kill_at = std::min(kill_at, Clock::now() + 30s);
          tee(fmt::format("{} received: asking pw.x to stop", strsignal(signals.received())));
        }
        if (!killed && Clock::now() > kill_at) {
          proc.signal_group(SIGKILL);
          killed = true;
          tee("mpirun did not stop in time: killed");
        }
      };
      while (proc.pump([&](std::string_view l) { parser.feed(l); }, 100ms)) watchdog();
      while (!(status = proc.wait_for(100ms))) watchdog();
    }
    if (fs::exists(exit_file)) fs::remove(exit_file);

    // 5. The outcome: the text decides, a lost node overrides.
    report.results = parser.finish();
    const fs::path xml = save_dir / "data-file-schema.xml";
    if (fs::exists(xml)) (void)qe::merge_xml_results(xml.string(), report.results);
    qe::Outcome oc = qe::classify_outcome(report.results, *status, killed);
    if (lost) {
      oc = {job_state::kFailed, kExitCrashed, *lost};
    } else if (signals.received() && oc.state == job_state::kFailed) {
      oc = {job_state::kStopped, kExitStopped, "stopped by signal"};
    }
    (void)terminated;
    report.state = oc.state;
    report.message = oc.message;
    std::ofstream(work / "results.json") << json_text(qe::to_json(report.results)) << '\n';
    tee(fmt::format("mpirun ended with {}; job {}{}", status->describe(), report.state,
                    report.message.empty() ? "" : ": " + report.message));
    return finish(oc.exit_code);
  } catch (const std::exception& e) {
    report.message = std::string("qecloud agent failed: ") + e.what();
    tee(report.message);
    return finish(kExitFailure);
  }
}

}  // namespace qecloud::agent
