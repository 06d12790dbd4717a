#include "backends/local/local_backend.hpp"

#include <unistd.h>

#include <filesystem>

#include <fmt/format.h>

#include "core/error.hpp"
#include "core/stop_signals.hpp"
#include "core/topology.hpp"
#include "job/core_ledger.hpp"
#include "job/foreground.hpp"
#include "job/outputs.hpp"
#include "job/pw_run.hpp"
#include "job/reconcile.hpp"
#include "job/recovery.hpp"
#include "job/restart_set.hpp"
#include "job/start.hpp"
#include "job/time_limit.hpp"

namespace fs = std::filesystem;

namespace qecloud::backends::local {
namespace {

// Everything one run carries from step to step.
struct LocalRun {
  const JobOptions& o;
  const RunObserver& obs;
  JobDb db{job_db_path()};
  StopSignals signals;  // from before validation: a Ctrl-C while staging stops the job, and says so
  StartedJob job;
  std::optional<JobGuard> guard;
  std::optional<Heartbeat> heartbeat;
  RunResult res;
  qe::Layout layout;
  std::optional<CoreClaim> cores;
  fs::path work, run_dir;
  std::chrono::steady_clock::time_point started =
      std::chrono::steady_clock::now();              // --time counts from here
  nlohmann::json remote = nlohmann::json::object();  // the record's: work_dir, restart, resumed_from

  void note(const std::string& s) const {
    if (obs.on_note) obs.on_note(s);
  }
  // A stop signal before pw.x started: the job ends `stopped`, with nothing to keep.
  bool stopped_before_start() {
    if (!signals.received()) return false;
    res.stop_signal = signals.received();
    res.state = JobState::kStopped;
    res.exit_code = kExitStopped;
    res.message = fmt::format("stopped by {} before pw.x started", strsignal(res.stop_signal));
    guard->finish(res.state, res.exit_code, nlohmann::json::object(), res.message);
    return true;
  }
};

qe::LayoutRequest layout_request(const LocalRun& r, int cores) {
  const qe::JobNeeds& needs = r.job.report.needs;
  qe::LayoutRequest lr;
  lr.cores = cores;
  lr.ranks = r.o.ranks;
  lr.pools = r.o.pools;
  if (r.job.resume)  // pw.x's per-rank restart files need the layout that wrote them
    lr.ranks = r.job.resume->manifest.ranks, lr.pools = r.job.resume->manifest.pools;
  lr.kpoints = needs.irreducible_kpoints ? needs.irreducible_kpoints : needs.kpoints_listed;
  lr.allow_oversubscribe = r.o.oversubscribe;
  return lr;
}

// Cores from the machine's ledger, then the layout for them. false when a stop signal ended the wait.
bool plan(LocalRun& r) {
  r.guard->step("planning the layout");
  const int machine = detect_topology().physical_cores;
  try {
    (void)qe::plan_layout(layout_request(r, machine));  // an impossible --ranks/--pools fails before any wait
  } catch (const UsageError& e) {
    if (!r.job.resume) throw;
    // "use fewer ranks" cannot be followed by a resume: say what can.
    throw UsageError(fmt::format(
        "{}: job {}'s restart data was written by {} ranks and pw.x needs the same; add --oversubscribe, or "
        "resume it on a backend with more cores (--backend netns|slurm|awsbatch)",
        e.what(), r.job.resume->from.id, r.job.resume->manifest.ranks));
  }
  r.guard->step("waiting for cores");
  CoreRequest cr{machine, layout_request(r, machine).ranks, r.o.oversubscribe, r.res.job_id, ""};
  r.cores = claim_cores(cr, {[&](const std::string& s) { r.note(s); }, [&] { return r.signals.received(); },
                             [&] { r.heartbeat->tick(); }});
  if (!r.cores) return false;
  r.started = std::chrono::steady_clock::now();  // --time is the run's: waiting for cores does not count
  r.layout = qe::plan_layout(layout_request(r, std::min(machine, r.cores->cores())));
  r.res.layout = r.layout;
  if (r.obs.on_layout) r.obs.on_layout(r.layout, r.job.report.needs);
  r.db.set_layout(r.res.job_id, {{"nodes", r.layout.nodes},
                                 {"ranks", r.layout.ranks},
                                 {"pools", r.layout.pools},
                                 {"why", r.layout.why},
                                 {"conv_thr_ry", r.job.report.needs.conv_thr_ry}});
  return true;
}

// The input bundle into the work directory (the same tree as the store's input/) and into the store.
void stage(LocalRun& r) {
  r.guard->step("staging the input");
  r.work = local_work_dir(r.res.job_id);
  fs::create_directories(r.work);
  copy_bundle(r.job.bundle, r.work.string());
  r.run_dir = r.work / r.job.bundle.run_dir_rel();
  r.remote["work_dir"] = r.run_dir.string();
  r.db.set_remote(r.res.job_id, r.remote);
  stage_inputs(r.job);
}

// `run --time`: pw.x's max_seconds on the staged copy of the input, early enough to stop and store the
// restart data. Returns the note for the record ("; &control max_seconds = 3197 (…)"), empty without a limit.
std::string apply_time_limit(LocalRun& r) {
  const fs::path input = r.work / r.job.bundle.input_rel;
  const double elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - r.started).count();
  const auto edit = max_seconds_edit(r.o.run_time_limit_s, elapsed, input_max_seconds(input.string()));
  if (!edit) return {};
  qe::edit_input_file(input.string(), std::span(&*edit, 1));
  r.note(fmt::format("time limit: {} on the staged input ({})", edit->display(), edit->why));
  return fmt::format("; {} ({})", edit->display(), edit->why);
}

RecoveredRun execute(LocalRun& r, const ProgramRunner& runner) {
  const qe::JobNeeds& needs = r.job.report.needs;
  const fs::path outdir = (r.run_dir / needs.outdir).lexically_normal();
  MpiLaunch m;
  m.mpirun = r.o.mpirun;
  m.pw = r.o.pw;
  m.input = fs::path(r.job.bundle.input_rel).filename().string();
  m.ranks = r.layout.ranks;
  m.pools = r.layout.pools;
  m.oversubscribe = r.layout.oversubscribed;
  m.as_root = ::geteuid() == 0;
  RecoveringRun rr{.input = (r.run_dir / m.input).string(),
                   .save_dir = (outdir / (needs.prefix + ".save")).string(),
                   .job_id = r.res.job_id,
                   .policy = {.enabled = r.o.recover}};
  rr.on_recovery = [&](const RecoveryStep& s) {
    r.note(s.note);
    r.db.set_state(r.res.job_id, JobState::kRunning, s.history());
  };
  PwRun& run = rr.run;
  run.command.argv = pw_argv(m);
  run.command.cwd = r.run_dir.string();
  run.command.stdout_path = (r.run_dir / output_name::kPwOut).string();
  run.command.stderr_path = (r.run_dir / output_name::kPwErr).string();
  run.exit_file = (outdir / (needs.prefix + ".EXIT")).string();
  run.xml = (outdir / (needs.prefix + ".save") / output_name::kXml).string();
  run.results_json = (r.run_dir / output_name::kResults).string();
  run.grace = std::chrono::seconds(r.o.grace_s);
  PwRunEvents ev;
  ev.on_progress = r.obs.on_progress;
  ev.on_note = r.obs.on_note;
  ev.stop_signal = [&] { return r.signals.received(); };
  ev.on_tick = [&] { r.heartbeat->tick(); };
  const std::string limit = apply_time_limit(r);
  r.guard->step("running pw.x");
  r.db.set_state(r.res.job_id, JobState::kRunning,
                 fmt::format("{} ranks, {} pools{}", r.layout.ranks, r.layout.pools, limit));
  return run_pw_recovering(rr, runner, ev);
}

// Outputs into the store (every file tried; what could not be stored is named), then the record.
void finish(LocalRun& r, const RecoveredRun& attempts) {
  r.guard->step("storing the outputs");
  const PwRunResult& pw = attempts.last;
  r.res.results = pw.results;
  r.res.stop_signal = pw.stop_signal;
  r.res.state = pw.outcome.state;
  r.res.exit_code = pw.outcome.exit_code;
  r.res.message = pw.outcome.message;
  const qe::JobNeeds& needs = r.job.report.needs;
  const fs::path outdir = (r.run_dir / needs.outdir).lexically_normal();
  r.note("storing outputs in " + r.job.location.url());
  // Earlier attempts' outputs, and the staged input a recovery edited (the one these outputs came from).
  std::vector<std::string> extra = attempts.kept;
  if (!attempts.steps.empty())
    extra.push_back((r.run_dir / fs::path(r.job.bundle.input_rel).filename()).string());
  const StoreReport stored =
      store_outputs(*r.job.store, r.job.location, r.run_dir.string(),
                    (outdir / (needs.prefix + ".save") / output_name::kXml).string(), extra);
  std::vector<std::string> lost = pw.not_written;
  if (!stored.ok()) lost.push_back(stored.summary());
  const RestartManifest restart =
      store_restart_set(*r.job.store, r.job.location, outdir.string(), needs.prefix, r.layout.ranks,
                        r.layout.pools, untrusted_restart(pw.killed, pw.lost, pw.results.job_done));
  if (!restart.parts.empty()) {
    r.note("restart data stored: " + restart.summary());
    r.remote["restart"] = summary_json(restart);
    try {
      r.db.set_remote(r.res.job_id, r.remote);
    } catch (const std::exception&) {  // a full disk: guard->finish below says the record was not written
    }
    if (!restart.complete) lost.push_back("restart data not whole: " + restart.note);
    if (restart.complete && r.res.state == JobState::kStopped &&
        r.res.message.find("qecloud resume") == std::string::npos)
      r.res.message += fmt::format("{}`qecloud resume {}` continues from its restart data",
                                   r.res.message.empty() ? "" : "; ", r.res.job_id);
  }
  for (const auto& l : lost) {
    r.res.message += (r.res.message.empty() ? "" : "; ") + l;
    if (r.res.exit_code == kExitOk) r.res.exit_code = kExitFailure, r.res.state = JobState::kFailed;
  }
  r.res.outputs_url = r.job.location.url();
  try {
    r.guard->finish(r.res.state, r.res.exit_code, qe::to_json(r.res.results), r.res.message);
  } catch (const std::exception& e) {  // a full disk: say what happened rather than only that SQLite failed
    r.guard->release();
    r.res.message += fmt::format("{}not recorded: {}", r.res.message.empty() ? "" : "; ", e.what());
    if (r.res.exit_code == kExitOk) r.res.exit_code = kExitFailure, r.res.state = JobState::kFailed;
  }
}

}  // namespace

RunResult run_with(const JobOptions& o, const RunObserver& obs, const ProgramRunner& runner) {
  refuse_options(o, "local",
                 {"--ranks", "--pools", "--oversubscribe", "--pw", "--grace", "--store", "--name", "--mpirun",
                  "--time", "--no-recover"},
                 "it runs on this machine (for several nodes, give --nodes)");
  LocalRun r{o, obs};
  r.job = start_job({.input = o.input,
                     .name = o.name,
                     .store_url = o.store_url,
                     .backend = "local",
                     .pw = o.pw,
                     .resume = o.resume},
                    r.db, obs.on_validated);
  r.res.job_id = r.job.record.id;
  r.res.outputs_url = r.job.location.url();
  if (r.job.refused) {
    r.res.state = JobState::kInvalid;
    r.res.exit_code = kExitBadInput;
    r.res.message = r.job.record.message;
    return r.res;
  }
  r.guard.emplace(r.db, r.res.job_id);
  r.heartbeat.emplace(r.db, r.res.job_id);
  try {
    if (r.stopped_before_start()) return r.res;
    if (!plan(r)) {  // a stop signal while waiting for cores
      r.stopped_before_start();
      return r.res;
    }
    stage(r);
    if (r.stopped_before_start()) return r.res;
    finish(r, execute(r, runner));
  } catch (const std::exception& e) {
    r.guard->fail(e);
    throw;
  }
  return r.res;
}

RunResult run(const JobOptions& o, const RunObserver& obs) {
  return run_with(o, obs, real_program_runner());
}

JobStatus refresh(JobDb& db, const JobRecord& job) {
  JobStatus s;
  s.job = reconcile(db, job);
  s.backend_state = is_final(s.job.state) ? std::string(to_string(s.job.state))
                                          : fmt::format("{} (pid {} on {})", to_string(s.job.state),
                                                        s.job.owner.pid, s.job.owner.host);
  return s;
}

int logs(JobDb&, const JobRecord& job, std::optional<int> node, LogCursor& cursor, const LogLine& line) {
  if (node && *node != 0)
    throw UsageError(fmt::format("--node {}: job {} ran on one node (0)", *node, job.id));
  return read_job_logs(job, {{0, output_name::kPwOut}}, cursor.position, line);
}

void cancel(JobDb&, const JobRecord& job, const std::string&) {
  stop_owner(job);
}

std::vector<std::string> fetch(JobDb& db, const JobRecord& job, const std::string& dir) {
  return fetch_job_outputs(db, job, dir);
}

}  // namespace qecloud::backends::local
