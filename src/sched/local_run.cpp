#include "sched/local_run.hpp"

#include <unistd.h>

#include <chrono>
#include <csignal>
#include <filesystem>
#include <fstream>

#include <fmt/format.h>

#include "core/error.hpp"
#include "core/job_db.hpp"
#include "core/json_text.hpp"
#include "core/paths.hpp"
#include "core/stop_signals.hpp"
#include "core/subprocess.hpp"
#include "core/text.hpp"
#include "core/topology.hpp"
#include "qe/outcome.hpp"
#include "qe/pw_input.hpp"
#include "qe/xml_results.hpp"
#include "storage/object_store.hpp"

namespace fs = std::filesystem;
using namespace std::chrono_literals;

namespace qecloud::sched {
namespace {

fs::path resolve(const std::string& p, const fs::path& base) {
  fs::path path(p);
  return (path.is_absolute() ? path : base / path).lexically_normal();
}

}  // namespace

nlohmann::json LocalRunResult::to_json() const {
  return {{"job_id", job_id},
          {"state", state},
          {"exit_code", exit_code},
          {"layout",
           {{"nodes", layout.nodes},
            {"ranks", layout.ranks},
            {"pools", layout.pools},
            {"oversubscribed", layout.oversubscribed},
            {"why", layout.why}}},
          {"results", qe::to_json(results)},
          {"outputs", outputs_url},
          {"message", message}};
}

JobStart begin_job(const LocalRunOptions& o, const std::string& backend, const RunObserver& obs, JobDb& db) {
  const fs::path input = fs::absolute(o.input).lexically_normal();
  JobStart js;
  js.res.job_id = new_job_id();
  js.rec.id = js.res.job_id;
  js.rec.name = o.name.empty() ? input.filename().string() : o.name;
  js.rec.input = input.string();
  js.rec.backend = backend;
  js.store = storage::open_store(o.store_url.empty() ? default_store_url() : o.store_url);
  js.key = "jobs/" + js.res.job_id;
  js.rec.store_url = js.store->url(js.key);
  // Refuse invalid input before anything runs (but record that it was refused).
  js.report = qe::validate_file(o.input, qe::ValidationEnv::from_process(input.parent_path().string()));
  if (obs.on_validated) obs.on_validated(js.report);
  if (!js.report.ok()) {
    js.rec.state = job_state::kInvalid;
    js.refused = true;
    js.res.state = job_state::kInvalid;
    js.res.exit_code = kExitBadInput;
    js.res.message = "the input is invalid; nothing ran";
  }
  db.insert(js.rec);
  if (js.refused)
    db.finish(js.res.job_id, js.res.state, js.res.exit_code, nlohmann::json::object(), js.res.message);
  return js;
}

void stage_inputs(storage::ObjectStore& store, const std::string& input_path,
                  const qe::ValidationReport& report, const std::string& key) {
  const fs::path input = fs::absolute(input_path).lexically_normal();
  store.put_file(input.string(), key + "/input/" + input.filename().string());
  const qe::PwInput parsed = qe::parse_pw_input(text::read_file(input.string()), input.string()).input;
  if (auto dir = parsed.get_string("control", "pseudo_dir"); dir && !fs::path(*dir).is_absolute()) {
    const fs::path rel = fs::path(*dir).lexically_normal();
    for (const auto& p : report.needs.pseudos)
      store.put_file(p.path, key + "/input/" + (rel / p.file).lexically_normal().string());
  }
}

void record_failure(JobDb& db, const std::string& job_id, const std::exception& e) {
  db.finish(job_id, job_state::kFailed, kExitFailure, nlohmann::json::object(),
            std::string("qecloud failed: ") + e.what());
}

LocalRunResult run_local(const LocalRunOptions& o, const RunObserver& obs, qe::ValidationReport* report_out) {
  const fs::path input = fs::absolute(o.input).lexically_normal();
  JobDb db(job_db_path());
  JobStart start = begin_job(o, "local", obs, db);
  if (report_out) *report_out = start.report;
  if (start.refused) return start.res;
  LocalRunResult& res = start.res;
  const qe::ValidationReport& report = start.report;
  auto& store = start.store;
  const std::string& prefix_key = start.key;
  const qe::JobNeeds& needs = report.needs;

  // 2. Plan the layout: one rank per physical core, pools from the irreducible k-points.
  qe::LayoutRequest lr;
  lr.cores = detect_topology().physical_cores;
  lr.ranks = o.ranks;
  lr.pools = o.pools;
  lr.kpoints = needs.irreducible_kpoints ? needs.irreducible_kpoints : needs.kpoints_listed;
  lr.allow_oversubscribe = o.oversubscribe;
  try {
    res.layout = qe::plan_layout(lr);
  } catch (const Error& e) {  // an impossible --ranks/--pools: the record must not stay 'created'
    db.finish(res.job_id, job_state::kFailed, e.exit_code(), nlohmann::json::object(), e.what());
    throw;
  }
  if (obs.on_layout) obs.on_layout(res.layout, needs);
  db.set_layout(res.job_id, {{"nodes", res.layout.nodes},
                             {"ranks", res.layout.ranks},
                             {"pools", res.layout.pools},
                             {"why", res.layout.why},
                             {"conv_thr_ry", needs.conv_thr_ry}});

  // From here on the job is recorded: whatever fails, the record must not stay 'running'.
  try {
    // 3. Stage: the input unchanged, pseudopotentials where its (relative) pseudo_dir points, outdir inside.
    const fs::path work = fs::path(qecloud_home()) / "work" / res.job_id;
    fs::create_directories(work);
    const fs::path staged_input = work / input.filename();
    fs::copy_file(input, staged_input, fs::copy_options::overwrite_existing);
    store->put_file(staged_input.string(), prefix_key + "/input/" + input.filename().string());
    const qe::PwInput parsed = qe::parse_pw_input(text::read_file(input.string()), input.string()).input;
    if (auto dir = parsed.get_string("control", "pseudo_dir"); dir && !fs::path(*dir).is_absolute()) {
      fs::create_directories(work / *dir);
      for (const auto& p : needs.pseudos) {
        fs::copy_file(p.path, work / *dir / p.file, fs::copy_options::overwrite_existing);
        store->put_file(p.path, prefix_key + "/input/" + p.file);
      }
    }
    const fs::path outdir = resolve(needs.outdir, work);
    fs::create_directories(outdir);
    const fs::path exit_file = outdir / (needs.prefix + ".EXIT");
    if (fs::exists(exit_file)) {  // a leftover would make pw.x stop at its first check
      fs::remove(exit_file);
      if (obs.on_note) obs.on_note("removed a stale " + exit_file.string());
    }

    // 4. Run.
    std::vector<std::string> argv;
    if (res.layout.ranks > 1) {
      argv = {o.mpirun, "-np", std::to_string(res.layout.ranks)};
      if (::geteuid() == 0) argv.push_back("--allow-run-as-root");
      if (res.layout.oversubscribed)
        argv.insert(argv.end(), {"--oversubscribe", "--mca", "mpi_yield_when_idle", "1"});
      argv.insert(argv.end(), {o.pw, "-nk", std::to_string(res.layout.pools)});
    } else {
      argv = {o.pw};
    }
    argv.insert(argv.end(), {"-in", input.filename().string()});
    const fs::path out_path = work / "pw.out", err_path = work / "pw.err";
    db.set_state(res.job_id, job_state::kRunning,
                 fmt::format("{} ranks, {} pools", res.layout.ranks, res.layout.pools));

    StopSignals signals;
    qe::OutputParser parser(obs.on_progress);
    std::optional<ExitStatus> status;
    bool stopping = false, killed = false;
    auto deadline = std::chrono::steady_clock::time_point::max();
    {
      Subprocess proc({argv, work.string(), {}, out_path.string(), err_path.string()});
      auto check_signals = [&] {
        if (signals.received() && !stopping) {
          stopping = true;
          std::ofstream(exit_file).put('\n');  // pw.x stops cleanly at its next check and writes restart data
          deadline = std::chrono::steady_clock::now() + std::chrono::seconds(o.grace_seconds);
          if (obs.on_note)
            obs.on_note(fmt::format("{} received: asking pw.x to stop (up to {} s)",
                                    strsignal(signals.received()), o.grace_seconds));
        }
        if (stopping && !killed && std::chrono::steady_clock::now() > deadline) {
          proc.signal_group(SIGKILL);
          killed = true;
          if (obs.on_note) obs.on_note("pw.x did not stop in time: killed");
        }
      };
      while (proc.pump([&](std::string_view l) { parser.feed(l); }, 100ms)) check_signals();
      while (!(status = proc.wait_for(100ms))) check_signals();
    }
    if (fs::exists(exit_file)) fs::remove(exit_file);
    res.stop_signal = signals.received();

    // 5. Results, outcome, storage — also for failed runs.
    res.results = parser.finish();
    const fs::path save = outdir / (needs.prefix + ".save");
    const fs::path xml = save / "data-file-schema.xml";
    if (fs::exists(xml)) (void)qe::merge_xml_results(xml.string(), res.results);
    qe::Outcome oc = qe::classify_outcome(res.results, *status, killed);
    if (res.stop_signal && oc.state == job_state::kFailed)
      oc = {job_state::kStopped, kExitStopped, "stopped by signal"};
    res.state = oc.state, res.exit_code = oc.exit_code, res.message = oc.message;
    const fs::path results_json = work / "results.json";
    std::ofstream(results_json) << json_text(qe::to_json(res.results)) << '\n';
    if (obs.on_note) obs.on_note("storing outputs in " + store->url(prefix_key));
    for (const fs::path& f : {out_path, err_path, results_json, work / "CRASH", xml})
      if (fs::exists(f)) store->put_file(f.string(), prefix_key + "/output/" + f.filename().string());
    if (fs::exists(save)) store->put_tree(save.string(), prefix_key + "/output/" + save.filename().string());
    res.outputs_url = store->url(prefix_key);
    db.finish(res.job_id, res.state, res.exit_code, qe::to_json(res.results), res.message);
  } catch (const std::exception& e) {
    record_failure(db, res.job_id, e);
    throw;
  }
  return res;
}

}  // namespace qecloud::sched
