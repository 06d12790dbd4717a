// What follows a job, whichever backend ran it: `list`, `show` (the job database, reconciled with the
// owners' liveness), and `status`, `logs`, `cancel`, `fetch` (through the backend table, from the job's
// record).
#include <chrono>
#include <cstdio>
#include <thread>

#include <fmt/format.h>
#include <CLI/CLI.hpp>

#include "backends/backend.hpp"
#include "cli/commands.hpp"
#include "core/error.hpp"
#include "core/json_text.hpp"
#include "job/database.hpp"
#include "job/reconcile.hpp"
#include "qe/results.hpp"
#include "report/scf_plot.hpp"

namespace qecloud::cli {
namespace {

using json = nlohmann::json;

json job_json(const JobRecord& j) {
  return {{"job_id", j.id},
          {"name", j.name},
          {"input", j.input},
          {"backend", j.backend},
          {"state", std::string(to_string(j.state))},
          {"exit_code", j.exit_code ? json(*j.exit_code) : json()},
          {"created_at", j.created_at},
          {"started_at", j.started_at},
          {"finished_at", j.finished_at},
          {"layout", j.layout},
          {"results", j.results},
          {"outputs", j.store_url},
          {"message", j.message},
          {"resumed_from", j.resumed_from.empty() ? json() : json(j.resumed_from)}};
}

std::string energy_of(const JobRecord& j) {
  if (j.results.contains("total_energy_ry") && j.results["total_energy_ry"].is_number())
    return fmt::format("{:.8f}", j.results["total_energy_ry"].get<double>());
  return "-";
}

// A read-only $QECLOUD_HOME still lists what is recorded, and says so.
void say_if_read_only(const JobDb& db) {
  if (db.read_only())
    fmt::print(stderr,
               "qecloud: {} is read-only: showing it as it is (jobs whose process died are not updated)\n",
               db.path());
}

JobRecord find_job(JobDb& db, const std::string& id) {
  auto job = db.find(id);
  if (!job) throw Error(fmt::format("no job '{}' in {} (see `qecloud list`)", id, db.path()));
  return reconcile(db, *job);
}

// Every attempt of the job's run, oldest first: the first job of the run (following resumed_from back) and
// every job that resumed it or one of its resumes — all of them, when a job was resumed more than once.
std::vector<JobRecord> attempts(JobDb& db, const JobRecord& job) {
  JobRecord root = job;
  for (int hops = 0; !root.resumed_from.empty() && hops < 1000; ++hops) {
    auto prev = db.find(root.resumed_from);
    if (!prev) break;
    root = *prev;
  }
  std::vector<JobRecord> all = {root};
  for (std::size_t i = 0; i < all.size() && all.size() < 1000; ++i)
    for (auto& next : db.resumed_by(all[i].id)) all.push_back(std::move(next));
  std::stable_sort(all.begin(), all.end(),
                   [](const JobRecord& a, const JobRecord& b) { return a.created_at < b.created_at; });
  return all;
}

void print_show(JobDb& db, const JobRecord& job, const qe::Results& r) {
  fmt::print("job {}  ({})\n  input     {}\n  backend   {}\n  state     {}", job.id, job.name, job.input,
             job.backend, to_string(job.state));
  if (job.exit_code) fmt::print(" (exit {})", *job.exit_code);
  fmt::print("\n");
  if (!job.message.empty()) fmt::print("  message   {}\n", job.message);
  if (job.layout.contains("why")) fmt::print("  layout    {}\n", job.layout["why"].get<std::string>());
  if (r.total_energy_ry)
    fmt::print("  energy    {:.8f} Ry = {:.6f} eV\n", *r.total_energy_ry,
               *r.total_energy_ry * qe::kRydbergEv);
  if (r.fermi_energy_ev) fmt::print("  Fermi     {:.4f} eV\n", *r.fermi_energy_ev);
  if (r.fermi_energy_up_ev && r.fermi_energy_down_ev)  // fixed total magnetization: one per spin
    fmt::print("  Fermi     {:.4f} eV (up), {:.4f} eV (down)\n", *r.fermi_energy_up_ev,
               *r.fermi_energy_down_ev);
  if (r.pressure_kbar) fmt::print("  pressure  {:.2f} kbar\n", *r.pressure_kbar);
  if (r.total_force_ry_bohr) fmt::print("  force     {:.6f} Ry/bohr (total)\n", *r.total_force_ry_bohr);
  if (!r.steps.empty()) fmt::print("  steps     {} ionic steps\n", r.steps.size());
  fmt::print("  SCF       {} in {} iterations:", r.scf_converged ? "converged" : "not converged",
             r.scf_iterations);
  for (double a : r.scf_accuracy_ry) fmt::print(" {:.1e}", a);
  fmt::print("\n");
  if (r.wall_time_s) fmt::print("  wall      {:.2f} s\n", *r.wall_time_s);
  fmt::print("  outputs   {}\n", job.store_url);
  if (job.remote.contains("restart") && job.remote["restart"].is_object()) {
    const json& rs = job.remote["restart"];
    fmt::print("  restart   {} files, {:.1f} MB{}\n", rs.value("files", 0),
               static_cast<double>(rs.value("bytes", std::uintmax_t{0})) / 1e6,
               rs.value("complete", false) ? ", whole (`qecloud resume` continues from it)"
                                           : ", NOT whole: " + rs.value("note", std::string()));
  }
  const auto chain = attempts(db, job);
  if (chain.size() > 1) {
    const char* label = "  attempts  ";
    for (const auto& a : chain) {
      fmt::print("{}{} ({}{}){}\n", label, a.id, to_string(a.state), a.id == job.id ? ", this one" : "",
                 a.resumed_from.empty() ? "" : ", resumes " + a.resumed_from);
      label = "            ";
    }
  }
  const char* label = "  history   ";
  for (const auto& t : db.transitions(job.id)) {
    fmt::print("{}{} {}{}\n", label, t.at, t.state, t.note.empty() ? "" : " — " + t.note);
    label = "            ";
  }
}

json status_json(const backends::JobStatus& s) {
  json nodes = json::array();
  for (const auto& n : s.nodes)
    nodes.push_back({{"index", n.index},
                     {"status", n.status},
                     {"reason", n.reason},
                     {"exit_code", n.exit_code ? json(*n.exit_code) : json()}});
  json out = {{"job_id", s.job.id},
              {"backend", s.job.backend},
              {"state", std::string(to_string(s.job.state))},
              {"backend_state", s.backend_state},
              {"reason", s.reason},
              {"message", s.job.message},
              {"nodes", nodes},
              {"outputs", s.job.store_url}};
  if (!s.cost.is_null()) out["cost"] = s.cost;
  if (s.job.results.contains("total_energy_ry")) out["total_energy_ry"] = s.job.results["total_energy_ry"];
  for (const auto& [k, v] : s.fields.items()) out[k] = v;
  return out;
}

void print_status(const backends::JobStatus& s) {
  const std::string state(to_string(s.job.state));
  // The backend's own word only when it says more ("RUNNING", "never submitted"), not "succeeded —
  // succeeded".
  const bool same = s.backend_state.empty() || s.backend_state == state;
  fmt::print("job {} ({})\n  state     {}{}{}\n", s.job.id, s.job.backend, state,
             same ? "" : " — " + s.backend_state, s.reason.empty() ? "" : ": " + s.reason);
  if (!s.job.message.empty()) fmt::print("  message   {}\n", s.job.message);
  for (const auto& n : s.nodes)
    fmt::print("  node {:<3} {:<10} {}{}\n", n.index, n.status,
               n.exit_code ? fmt::format("exit {} ", *n.exit_code) : "", n.reason);
  if (s.job.results.contains("total_energy_ry"))
    fmt::print("  energy    {:.8f} Ry\n", s.job.results["total_energy_ry"].get<double>());
  if (!s.cost.is_null()) fmt::print("  cost      {}\n", s.cost["line"].get<std::string>());
  fmt::print("  outputs   {}\n", s.job.store_url);
}

}  // namespace

int cmd_list(std::vector<std::string> args) {
  CLI::App app{"List jobs, newest first.", args[0]};
  int limit = 50;
  bool json_out = false;
  app.add_option("-n,--limit", limit, "how many jobs")->check(CLI::Range(1, 1000000));
  app.add_flag("--json", json_out, "print a JSON array");
  if (auto rc = parse_command_line(app, args)) return *rc;
  JobDb db(job_db_path(), /*allow_read_only=*/true);
  say_if_read_only(db);
  auto jobs = db.list(limit);
  for (auto& j : jobs) j = reconcile(db, j);
  if (json_out) {
    json a = json::array();
    for (const auto& j : jobs) a.push_back(job_json(j));
    fmt::print("{}\n", json_text(a));
    return kExitOk;
  }
  fmt::print("{:<22} {:<20} {:<14} {:>16} {:>12} {}\n", "JOB", "NAME", "STATE", "ENERGY (Ry)", "RANKS/POOLS",
             "CREATED");
  for (const auto& j : jobs) {
    std::string layout =
        j.layout.contains("ranks") && j.layout.contains("pools")
            ? fmt::format("{}/{}", j.layout["ranks"].get<int>(), j.layout["pools"].get<int>())
            : "-";
    fmt::print("{:<22} {:<20} {:<14} {:>16} {:>12} {}\n", j.id, j.name.substr(0, 20), to_string(j.state),
               energy_of(j), layout, j.created_at);
  }
  return kExitOk;
}

int cmd_show(std::vector<std::string> args) {
  CLI::App app{"Show one job: state and its transitions, layout, results, SCF convergence.", args[0]};
  std::string id, plot;
  bool json_out = false;
  app.add_option("JOB", id, "job id (or a unique prefix)")->required();
  app.add_option("--plot", plot, "write the SCF convergence plot to FILE.png or FILE.svg");
  app.add_flag("--json", json_out, "print one JSON object");
  if (auto rc = parse_command_line(app, args)) return *rc;
  JobDb db(job_db_path(), /*allow_read_only=*/true);
  say_if_read_only(db);
  const JobRecord job = find_job(db, id);
  const qe::Results r = qe::results_from_json(job.results);
  if (!plot.empty()) {
    std::vector<report::ScfSeries> series{{"", r.scf_accuracy_ry}};
    if (r.scf_accuracy_ry.empty()) throw Error(fmt::format("job {} has no SCF iterations to plot", job.id));
    std::optional<double> thr;
    if (job.layout.contains("conv_thr_ry")) thr = job.layout["conv_thr_ry"].get<double>();
    report::plot_scf_convergence(series, thr, fmt::format("{} — SCF convergence ({})", job.name, job.id),
                                 plot);
  }
  if (json_out) {
    auto j = job_json(job);
    j["transitions"] = json::array();
    for (const auto& t : db.transitions(job.id))
      j["transitions"].push_back({{"state", t.state}, {"at", t.at}, {"note", t.note}});
    j["attempts"] = json::array();
    for (const auto& a : attempts(db, job))
      j["attempts"].push_back({{"job_id", a.id},
                               {"state", std::string(to_string(a.state))},
                               {"resumed_from", a.resumed_from.empty() ? json() : json(a.resumed_from)},
                               {"exit_code", a.exit_code ? json(*a.exit_code) : json()}});
    if (job.remote.contains("restart")) j["restart"] = job.remote["restart"];
    fmt::print("{}\n", json_text(j));
    return kExitOk;
  }
  print_show(db, job, r);
  if (!plot.empty()) fmt::print("  plot      {}\n", plot);
  return kExitOk;
}

namespace {

// A job its scheduler never received — its input was refused, or the submit failed before the scheduler
// answered (sbatch's refusal, no credentials): its record is all there is, and the backend has nothing to
// ask.
bool never_submitted(const backends::Backend& backend, const JobRecord& job) {
  return backend.run == nullptr && (job.remote.is_null() || job.remote.empty());
}

std::string never_submitted_note(const JobRecord& job) {
  return fmt::format("job {} was never submitted to {} ({}{}{})", job.id, job.backend, to_string(job.state),
                     job.message.empty() ? "" : ": ", job.message);
}

}  // namespace

int cmd_status(std::vector<std::string> args) {
  CLI::App app{"A job's state from its backend, per node, and what it cost.", args[0]};
  std::string id;
  bool json_out = false, watch = false;
  app.add_option("JOB", id, "job id (or a unique prefix)")->required();
  app.add_flag("-w,--watch", watch, "refresh every 5 s until the job ends");
  std::string ignored;
  app.add_option("--config", ignored, "ignored: a job is followed with what its record says")->group("");
  app.add_flag("--json", json_out, "print one JSON object");
  if (auto rc = parse_command_line(app, args)) return *rc;
  JobDb db(job_db_path());
  JobRecord job = find_job(db, id);
  const backends::Backend& backend = backends::of(job);
  backends::JobStatus s;
  for (;;) {
    if (never_submitted(backend, job)) {
      s.job = job;
      s.backend_state = "never submitted";
      break;
    }
    s = backend.refresh(db, job);
    job = s.job;
    if (!watch || s.final()) break;
    fmt::print(stderr, "qecloud: {} {}\n", s.backend_state, s.reason);
    std::this_thread::sleep_for(std::chrono::seconds(5));
  }
  if (json_out)
    fmt::print("{}\n", json_text(status_json(s)));
  else
    print_status(s);
  return kExitOk;
}

int cmd_logs(std::vector<std::string> args) {
  CLI::App app{
      "A job's logs from its backend: pw.out here, every node's log for multi-node jobs, CloudWatch "
      "Logs on AWS Batch, the job's output file on Slurm.",
      args[0]};
  std::string id;
  bool follow = false;
  std::optional<int> node;
  app.add_option("JOB", id, "job id (or a unique prefix)")->required();
  app.add_flag("-f,--follow", follow, "keep printing new lines until the job ends");
  app.add_option("--node", node, "only this node's log (0 is the main)");
  std::string ignored;
  app.add_option("--config", ignored, "ignored: a job is followed with what its record says")->group("");
  if (auto rc = parse_command_line(app, args)) return *rc;
  JobDb db(job_db_path());
  JobRecord job = find_job(db, id);
  const backends::Backend& backend = backends::of(job);
  if (never_submitted(backend, job)) {
    fmt::print(stderr, "qecloud: {}: it has no logs\n", never_submitted_note(job));
    return kExitOk;
  }
  backends::LogCursor cursor;
  auto print = [](int n, const std::string& text) {
    fmt::print("[node {}] {}\n", n, text);
    std::fflush(stdout);
  };
  for (;;) {
    const bool was_final = is_final(job.state);
    const int fresh = backend.logs(db, job, node, cursor, print);
    if (!follow || (was_final && fresh == 0)) break;
    std::this_thread::sleep_for(std::chrono::seconds(1));
    job = backend.refresh(db, job).job;
  }
  return kExitOk;
}

int cmd_cancel(std::vector<std::string> args) {
  CLI::App app{
      "Stop a job: a run here stops cleanly as with Ctrl-C (restart data kept); AWS Batch's nodes are "
      "stopped (TerminateJob); a running Slurm job stops as at its time limit (restart data kept), a pending "
      "one is removed. What it stored is kept.",
      args[0]};
  std::string id, reason = "cancelled with qecloud cancel";
  app.add_option("JOB", id, "job id (or a unique prefix)")->required();
  app.add_option("--reason", reason, "recorded as the job's status reason");
  std::string ignored;
  app.add_option("--config", ignored, "ignored: a job is followed with what its record says")->group("");
  if (auto rc = parse_command_line(app, args)) return *rc;
  JobDb db(job_db_path());
  const JobRecord job = find_job(db, id);
  if (never_submitted(backends::of(job), job)) {
    fmt::print("{}: nothing to cancel\n", never_submitted_note(job));
    return kExitOk;
  }
  backends::of(job).cancel(db, job, reason);
  fmt::print("job {}: cancel requested ({}); `qecloud status {}` shows when it has stopped\n", job.id, reason,
             job.id);
  return kExitOk;
}

int cmd_fetch(std::vector<std::string> args) {
  CLI::App app{"Download a job's outputs (pw.out, results.json, logs, restart data) and record its results.",
               args[0]};
  std::string id, dir;
  app.add_option("JOB", id, "job id (or a unique prefix)")->required();
  app.add_option("--to", dir, "directory to write into (default ./<job id>)");
  if (auto rc = parse_command_line(app, args)) return *rc;
  JobDb db(job_db_path());
  const JobRecord job = find_job(db, id);
  if (dir.empty()) dir = job.id;
  if (never_submitted(backends::of(job), job))
    throw Error(never_submitted_note(job) + ": it has no outputs; `qecloud show " + job.id +
                "` shows its record");
  const auto files = backends::of(job).fetch(db, job, dir);
  fmt::print("job {}: {} file{} in {}\n", job.id, files.size(), files.size() == 1 ? "" : "s", dir);
  return kExitOk;
}

}  // namespace qecloud::cli
