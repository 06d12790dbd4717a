// The main node of a multi-node job: input from the store, rendezvous, mpirun through the agents under
// job/pw_run (the same supervisor as a local run) with the heartbeats as its watchdog, outputs back to the
// store, the job's report, the job's exit code.
#include <sys/resource.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <set>
#include <thread>

#include <fmt/format.h>

#include "agent/agent.hpp"
#include "agent/rendezvous.hpp"
#include "agent/restart_collect.hpp"
#include "agent/stop_deadlines.hpp"
#include "agent/wire.hpp"
#include "core/diagnostic.hpp"
#include "core/error.hpp"
#include "core/stop_signals.hpp"
#include "job/outputs.hpp"
#include "job/pw_run.hpp"
#include "job/recovery.hpp"
#include "job/report.hpp"
#include "job/restart_set.hpp"
#include "job/store_layout.hpp"
#include "job/time_limit.hpp"
#include "qe/layout.hpp"
#include "qe/validator.hpp"

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

namespace qecloud::agent {
namespace {

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

// One socket per child: a job of a thousand nodes needs more than the usual soft limit of 1024 files.
void raise_file_limit() {
  if (rlimit lim{}; ::getrlimit(RLIMIT_NOFILE, &lim) == 0 && lim.rlim_cur < lim.rlim_max) {
    lim.rlim_cur = lim.rlim_max;
    ::setrlimit(RLIMIT_NOFILE, &lim);
  }
}

// SCF progress in the main's log — the job's output file under Slurm, its log stream on AWS Batch — so
// that `qecloud logs -f` follows the run, not only the agents.
void log_progress(const qe::ProgressEvent& e, const Log& tee) {
  using K = qe::ProgressEvent::Kind;
  if (e.kind == K::kScfIteration && e.scf_accuracy_ry)
    tee(fmt::format("SCF iteration {}: estimated accuracy {:.2e} Ry", e.iteration, *e.scf_accuracy_ry));
  else if (e.kind == K::kScfConverged && e.energy_ry)
    tee(fmt::format("SCF converged in {} iterations: E = {:.8f} Ry", e.iteration, *e.energy_ry));
  else if (e.kind == K::kScfFailed)
    tee(fmt::format("SCF did not converge in {} iterations", e.iteration));
  else if (e.kind == K::kIonicStep)
    tee(fmt::format("ionic step {}", e.ionic_step));
}

// What the main node carries from step to step.
struct MainRun {
  const NodeEnv& node;
  const NodeContract& c;
  fs::path work;     // <work_root>/<scheduler job id>: the same path on every node (mpirun's cwd)
  fs::path run_dir;  // where pw.x runs: work + the input's directory in the bundle
  Log tee;
  AgentReport report;
  std::unique_ptr<storage::ObjectStore> store;
  JobLocation location;
  qe::JobNeeds needs;
  fs::path save_dir;  // <outdir>/<prefix>.save once the input is known
  // Restart files older than this came with the input bundle (a resumed job's), not from this run.
  fs::file_time_type fetched_at = fs::file_time_type::min();
  const StopSignals* signals = nullptr;  // run_main's: when a stop signal came
  std::string network;                   // the job's network (CIDR): MPI's TCP traffic is kept on it
  std::vector<std::string> kept;         // earlier attempts' outputs and the edited input, after recoveries
  std::string untrusted;                 // why pw.x's restart files cannot be trusted (job/restart_set.hpp)
};

// 1. The input, while the children join. false when it is missing or invalid (the report says why).
bool fetch_and_validate(MainRun& m) {
  m.store = storage::open_store(m.c.store_url, {m.c.store_region});
  m.location = JobLocation::of_key(m.c.store_url, m.c.store_job);
  const std::string in_prefix = m.location.input_prefix();
  const int n = fetch_input_bundle(*m.store, m.location, m.work.string());
  m.fetched_at = fs::file_time_type::clock::now();
  m.tee(fmt::format("fetched {} input file(s) from {}", n, m.store->url(in_prefix)));
  const fs::path input = m.work / m.c.input;
  if (!fs::exists(input)) {
    m.report.message = fmt::format("the input {} is not in {}", m.c.input, m.store->url(in_prefix));
    m.tee(m.report.message);
    m.report.exit_code = kExitBadInput;
    return false;
  }
  qe::ValidationReport v =
      qe::validate_file(input.string(), qe::ValidationEnv::from_process(m.run_dir.string(), m.c.pw));
  if (!v.diagnostics.empty()) m.tee(format_diagnostics(v.diagnostics));
  if (!v.ok()) {
    m.report.state = JobState::kInvalid;
    m.report.message = "the input is invalid; nothing ran";
    m.report.exit_code = kExitBadInput;
    return false;
  }
  m.needs = v.needs;
  m.save_dir = (m.run_dir / m.needs.outdir / (m.needs.prefix + ".save")).lexically_normal();
  return true;
}

// 2. Rendezvous, then the layout over every slot and the hostfile. false when a node did not join.
bool gather(MainRun& m, RendezvousServer& rv, const std::string& address, Clock::time_point started) {
  auto missing = rv.wait_for_children(started + std::chrono::seconds(m.c.join_timeout_s));
  if (!missing.empty()) {
    std::string list;
    for (int i : missing) list += (list.empty() ? "" : ", ") + std::to_string(i);
    m.report.message = fmt::format("node{} {} did not join within {} s", missing.size() > 1 ? "s" : "", list,
                                   m.c.join_timeout_s);
    m.report.exit_code = kExitNodeLost;
    m.tee(m.report.message);
    return false;
  }
  const int own_slots = node_slots(m.node, m.c);
  // Where the children reached this node is where their ranks will reach it too.
  const std::string own = rv.own_address().empty() ? address : rv.own_address();
  m.network = network_of(own).value_or("");
  std::vector<PeerInfo> peers = {PeerInfo{m.node.node_index, own, own_slots, hostname(), rv.port()}};
  for (const auto& p : rv.peers()) peers.push_back(p);
  int total_slots = 0;
  for (const auto& p : peers) {
    total_slots += p.slots;
    m.report.node_list.push_back({p.node, p.address, p.hostname, p.slots});
  }
  m.tee(fmt::format("all {} nodes joined after {:.3f} s ({} slots)", m.node.num_nodes,
                    std::chrono::duration<double>(Clock::now() - started).count(), total_slots));
  qe::LayoutRequest lr;
  lr.cores = total_slots;
  lr.nodes = m.node.num_nodes;
  lr.kpoints = m.needs.irreducible_kpoints ? m.needs.irreducible_kpoints : m.needs.kpoints_listed;
  if (m.c.ranks) lr.ranks = m.c.ranks, lr.pools = m.c.pools;  // a resume keeps the layout that wrote its data
  const qe::Layout layout = qe::plan_layout(lr);
  m.report.nodes = layout.nodes, m.report.ranks = layout.ranks, m.report.pools = layout.pools;
  m.tee("layout: " + layout.why);
  std::ofstream hf(m.work / output_name::kHostfile), pf(m.work / "peers");
  for (const auto& p : peers) {
    hf << p.address << " slots=" << p.slots << '\n';
    pf << p.address << ' ' << p.exec_port << '\n';
  }
  return true;
}

// The job's time limit (the node contract's, from Slurm's --time or Batch's attemptDurationSeconds): pw.x's
// max_seconds on this node's copy of the input (pw.x reads its input on rank 0, here), so that it stops
// itself and writes restart data before the scheduler's signal or kill.
void apply_time_limit(MainRun& m, Clock::time_point started) {
  const fs::path input = m.work / m.c.input;
  const double elapsed = std::chrono::duration<double>(Clock::now() - started).count();
  const auto edit = max_seconds_edit(m.c.time_limit_s, elapsed, input_max_seconds(input.string()));
  if (!edit) return;
  qe::edit_input_file(input.string(), std::span(&*edit, 1));
  m.tee(fmt::format("time limit: {} on the staged input ({})", edit->display(), edit->why));
}

// 3. mpirun with this program as the remote launcher, under the one pw.x supervisor; a lost node stops it.
void run_mpi(MainRun& m, RendezvousServer& rv) {
  MpiLaunch launch;
  launch.mpirun = m.c.mpirun;
  launch.pw = m.c.pw;
  launch.input = fs::path(m.c.input).filename().string();
  launch.ranks = m.report.ranks;
  launch.pools = m.report.pools;
  launch.yield_when_idle = m.c.yield_when_idle;
  launch.as_root = ::geteuid() == 0;
  if (m.c.launcher == "scheduler") {
    launch.scheduler_launch = true;  // mpirun asks the scheduler (srun) to start its daemons
  } else {
    launch.hostfile = (m.work / output_name::kHostfile).string();
    launch.rsh_agent = self_exe() + " agent exec";
  }
  launch.network = m.network;
  RecoveringRun rr{.input = (m.work / m.c.input).string(),
                   .save_dir = m.save_dir.string(),
                   .density_on_every_node = m.node.num_nodes == 1,
                   .job_id = m.location.id,
                   .policy = {.enabled = m.c.recover}};
  rr.on_recovery = [&](const RecoveryStep& s) {
    m.tee(s.note);
    m.report.history.push_back(s.history());
  };
  PwRun& run = rr.run;
  run.command.argv = pw_argv(launch);
  run.command.cwd = m.run_dir.string();
  // mpirun's children are pw.x's ranks: they get no secret; its launcher reads it from a file instead.
  run.command.env_overrides = {{node_var::kPeers, (m.work / "peers").string()},
                               {node_var::kSecretFile, write_secret_file(m.c, m.work.string())}};
  run.command.env_remove = {node_var::kSecret};
  run.command.stdout_path = (m.work / output_name::kPwOut).string();
  run.command.stderr_path = (m.work / output_name::kPwErr).string();
  run.exit_file = (m.run_dir / m.needs.outdir / (m.needs.prefix + ".EXIT")).string();
  run.xml = (m.save_dir / output_name::kXml).string();
  run.results_json = (m.work / output_name::kResults).string();
  run.grace = stop_grace(m.c.kill_window_s, m.c.grace_s);
  StopSignals signals;
  PwRunEvents ev;
  ev.on_note = m.tee;
  ev.on_progress = [&](const qe::ProgressEvent& e) { log_progress(e, m.tee); };
  ev.stop_signal = [&] { return signals.received(); };
  ev.lost = [&] { return rv.lost(); };
  m.tee(fmt::format("running {} ranks on {} nodes, {} pools ({}; grace {:.3g} s)", m.report.ranks,
                    m.node.num_nodes, m.report.pools, m.c.pw,
                    std::chrono::duration<double>(run.grace).count()));
  const RecoveredRun attempts = run_pw_recovering(rr, real_program_runner(), ev);
  const PwRunResult& r = attempts.last;
  m.untrusted = untrusted_restart(r.killed, r.lost, r.results.job_done);
  m.kept = attempts.kept;
  if (!attempts.steps.empty()) m.kept.push_back(rr.input);
  m.report.results = r.results;
  m.report.state = r.outcome.state;
  m.report.message = r.outcome.message;
  m.report.exit_code = r.outcome.exit_code;
  for (const auto& lost : r.not_written) m.report.message += (m.report.message.empty() ? "" : "; ") + lost;
  m.tee(fmt::format("mpirun ended with {}; job {}{}", r.status.describe(), to_string(m.report.state),
                    m.report.message.empty() ? "" : ": " + m.report.message));
}

// When the restart data must be stored by: from the stop signal's arrival and the kill window; nullopt while
// there is no signal or no window.
std::optional<Clock::time_point> restart_by(const MainRun& m) {
  const auto at = m.signals->received_at();
  if (!at) return std::nullopt;
  return stop_deadlines(*at, m.c.kill_window_s, m.c.grace_s).restart_by;
}

// The children's answers: by the deadline, which a SIGTERM may bring in meanwhile (asked every 250 ms);
// without a window, as long as they are alive, at most kNoWindowWait.
std::vector<ChildAnswer> wait_for_children_parts(const MainRun& m, RendezvousServer& rv) {
  constexpr auto kNoWindowWait = std::chrono::minutes(10);
  const auto limit = Clock::now() + kNoWindowWait;
  while (true) {
    const auto by = std::min(restart_by(m).value_or(limit), limit);
    auto answers = rv.wait_for_stored(std::min(by, Clock::now() + std::chrono::milliseconds(250)));
    if (Clock::now() >= by || std::none_of(answers.begin(), answers.end(), [](auto& a) { return a.pending; }))
      return answers;
  }
}

// Files of the input bundle (a resumed job's) that no node's run rewrote: node 0 keeps them, so that the set
// stays whole. A node's own rewritten copy always stands instead.
void add_untouched(MainRun& m, const std::vector<RestartFile>& stale, StoredPart& main,
                   const std::vector<ChildAnswer>& children) {
  std::set<std::string> covered;
  for (const auto& f : main.part.files) covered.insert(f.first);
  for (const auto& c : children)
    if (c.stored)
      for (const auto& f : c.stored->part.files) covered.insert(f.first);
  std::vector<RestartFile> left;
  for (const auto& f : stale)
    if (!covered.count(f.name)) left.push_back(f);
  if (left.empty()) return;
  StoredPart more = store_part_until(*m.store, m.location, 0, left, [&] { return restart_by(m); });
  for (auto& f : more.part.files) main.part.files.push_back(std::move(f));
  for (auto& f : more.failed) main.failed.push_back(std::move(f));
}

// Every node's part of pw.x's restart data (the children store theirs while this node stores its own), then
// the manifest: before the report, so that a report in the store means the restart data it names is there.
void store_restart(MainRun& m, RendezvousServer& rv) {
  if (!m.store || m.needs.prefix.empty() || m.report.ranks == 0) return;
  const auto began = Clock::now();
  const fs::path outdir = (m.run_dir / m.needs.outdir).lexically_normal();
  StoreRequest request{outdir.is_absolute() && outdir.string().rfind(m.work.string() + "/", 0) != 0
                           ? outdir.string()
                           : outdir.lexically_relative(m.work).string(),
                       m.needs.prefix, 0};
  if (const auto by = restart_by(m))
    request.seconds = std::max(0.1, std::chrono::duration<double>(*by - began).count() - 0.5);  // the reply
  rv.request_store(request);
  const NodeFiles own = node_restart_files(outdir.string(), m.needs.prefix, m.fetched_at);
  StoredPart main = store_part_until(*m.store, m.location, 0, own.fresh, [&] { return restart_by(m); });
  const std::vector<ChildAnswer> children = wait_for_children_parts(m, rv);
  add_untouched(m, own.stale, main, children);
  RestartManifest r =
      merge_restart_parts(m.needs.prefix, m.node.num_nodes, m.report.ranks, m.report.pools, main, children);
  if (r.parts.empty() && r.note.empty()) return;  // pw.x wrote nothing to restart from
  distrust(r, m.untrusted);
  try {
    write_restart_manifest(*m.store, m.location, r);
  } catch (const std::exception& e) {
    r.complete = false;
    r.note += (r.note.empty() ? "" : "; ") + fmt::format("the manifest could not be stored ({})", e.what());
  }
  m.report.restart = report_json(r);
  m.tee(fmt::format("restart data stored in {:.1f} s: {}",
                    std::chrono::duration<double>(Clock::now() - began).count(), r.summary()));
  for (const auto& p : r.parts) {
    std::uintmax_t bytes = 0;
    for (const auto& f : p.files) bytes += f.second;
    m.tee(fmt::format("  node {}: {} file(s), {} bytes", p.node, p.files.size(), bytes));
  }
}

// Logs, the moment a stop signal arrives, the deadlines derived from it and the contract's kill window.
class DeadlineLog {
 public:
  explicit DeadlineLog(const MainRun& m)
      : thread_([&m](std::stop_token stop) {
          while (!stop.stop_requested()) {
            if (const auto at = m.signals->received_at()) {
              const auto wall =
                  std::chrono::system_clock::now() -
                  std::chrono::duration_cast<std::chrono::system_clock::duration>(Clock::now() - *at);
              m.tee(stop_deadlines(*at, m.c.kill_window_s, m.c.grace_s)
                        .describe(strsignal(m.signals->received()), wall));
              return;
            }
            std::this_thread::sleep_for(std::chrono::milliseconds(50));
          }
        }) {}

 private:
  std::jthread thread_;
};

// 4. Whatever happened: the restart data, the report, the outputs and the log to the store; DONE to the
// children.
int finish(MainRun& m, RendezvousServer& rv, std::ofstream& log_file) {
  store_restart(m, rv);
  write_report(m.report, (m.work / output_name::kReport).string());
  log_file.flush();
  if (m.store) {
    // pw.x writes CRASH in its own directory, which is not the work directory when the input was in a
    // subdirectory of the bundle.
    std::vector<std::string> extra = m.kept;
    if (m.run_dir != m.work) extra.push_back((m.run_dir / output_name::kCrash).string());
    const StoreReport stored = store_outputs(*m.store, m.location, m.work.string(),
                                             (m.save_dir / output_name::kXml).string(), extra);
    for (const auto& f : stored.failed) m.tee("could not store " + f);
  }
  rv.finish(m.report.exit_code);
  if (const auto at = m.signals->received_at())
    m.tee(fmt::format(
        "{} s after the {}: pw.x stopped, the restart data and outputs stored, the children told{}",
        fmt::format("{:.1f}", std::chrono::duration<double>(Clock::now() - *at).count()),
        strsignal(m.signals->received()),
        m.c.kill_window_s > 0 ? fmt::format(" (SIGKILL expected at {:.3g} s)", m.c.kill_window_s)
                              : std::string()));
  // Last, so that it is the peak of the whole run (the stored log ends just before it).
  m.tee(fmt::format("peak resident memory {:.1f} MiB", peak_rss_mib()));
  return m.report.exit_code;
}

}  // namespace

int run_main(const NodeEnv& node, const NodeContract& c, const Log& log, bool dry_run) {
  const auto started = Clock::now();
  raise_file_limit();
  MainRun m{node, c};
  m.work = fs::path(c.work_root) / node.job_id;
  m.run_dir = (m.work / fs::path(c.input).parent_path()).lexically_normal();
  fs::create_directories(m.run_dir);
  std::ofstream log_file(m.work / output_name::kMainLog, std::ios::app);
  std::mutex log_mu;
  m.tee = [&](const std::string& line) {
    std::lock_guard lock(log_mu);
    log(line);
    log_file << line << '\n' << std::flush;
  };
  const std::string address = !c.address.empty() ? c.address : primary_ipv4();
  if (address.empty()) {
    m.tee("this node has no IPv4 address other than loopback; set " + std::string(node_var::kAddress));
    return kExitFailure;
  }
  // From here on SIGINT/SIGTERM (Slurm's time-limit signal, `scancel --batch`, Batch's stop) end the job
  // with a report; run_mpi's own StopSignals shares the flag, so one received before pw.x starts stops it.
  StopSignals signals;
  m.signals = &signals;
  DeadlineLog deadlines(m);
  RendezvousServer rv(node, c, m.tee);  // listening from now on: children may join while we fetch
  m.tee(fmt::format("main node {} of {} ({}, {}) listening on port {}", node.node_index, node.num_nodes,
                    hostname(), address, rv.port()));
  try {
    if (!dry_run && !fetch_and_validate(m)) return finish(m, rv, log_file);
    if (!gather(m, rv, address, started)) return finish(m, rv, log_file);
    if (const int sig = signals.received()) {
      m.report.state = JobState::kStopped;
      m.report.exit_code = kExitStopped;
      m.report.message = fmt::format("stopped by {} before pw.x started", strsignal(sig));
      m.tee(m.report.message);
      return finish(m, rv, log_file);
    }
    if (dry_run) {
      m.report.state = JobState::kSucceeded;
      m.report.exit_code = kExitOk;
      m.report.message = "dry run: every node joined; nothing ran";
      return finish(m, rv, log_file);
    }
    apply_time_limit(m, started);
    run_mpi(m, rv);
  } catch (const std::exception& e) {
    m.report.exit_code = kExitFailure;
    m.report.message = std::string("qecloud agent failed: ") + e.what();
    m.tee(m.report.message);
  }
  return finish(m, rv, log_file);
}

}  // namespace qecloud::agent
