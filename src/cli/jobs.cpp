// `qecloud list` and `qecloud show JOB [--plot FILE] [--json]`: what the job database knows.
#include <fmt/format.h>
#include <CLI/CLI.hpp>

#include "cli/commands.hpp"
#include "core/error.hpp"
#include "core/job_db.hpp"
#include "core/json_text.hpp"
#include "core/paths.hpp"
#include "qe/results.hpp"
#include "report/scf_plot.hpp"

namespace qecloud::cli {
namespace {

nlohmann::json job_json(const JobRecord& j) {
  return {{"job_id", j.id},
          {"name", j.name},
          {"input", j.input},
          {"backend", j.backend},
          {"state", j.state},
          {"exit_code", j.exit_code ? nlohmann::json(*j.exit_code) : nlohmann::json()},
          {"created_at", j.created_at},
          {"started_at", j.started_at},
          {"finished_at", j.finished_at},
          {"layout", j.layout},
          {"results", j.results},
          {"outputs", j.store_url},
          {"message", j.message}};
}

std::string energy_of(const JobRecord& j) {
  if (j.results.contains("total_energy_ry") && j.results["total_energy_ry"].is_number())
    return fmt::format("{:.8f}", j.results["total_energy_ry"].get<double>());
  return "-";
}

}  // namespace

int cmd_list(std::vector<std::string> args) {
  CLI::App app{"List jobs, newest first.", args[0]};
  int limit = 50;
  bool json = false;
  app.add_option("-n,--limit", limit, "how many jobs");
  app.add_flag("--json", json, "print a JSON array");
  if (auto rc = parse_command_line(app, args)) return *rc;
  JobDb db(job_db_path());
  auto jobs = db.list(limit);
  if (json) {
    nlohmann::json a = nlohmann::json::array();
    for (const auto& j : jobs) a.push_back(job_json(j));
    fmt::print("{}\n", json_text(a));
    return kExitOk;
  }
  fmt::print("{:<22} {:<20} {:<14} {:>16} {:>12} {}\n", "JOB", "NAME", "STATE", "ENERGY (Ry)", "RANKS/POOLS",
             "CREATED");
  for (const auto& j : jobs) {
    std::string layout = j.layout.contains("ranks") ? fmt::format("{}/{}", j.layout["ranks"].get<int>(),
                                                                  j.layout["pools"].get<int>())
                                                    : "-";
    fmt::print("{:<22} {:<20} {:<14} {:>16} {:>12} {}\n", j.id, j.name.substr(0, 20), j.state, energy_of(j),
               layout, j.created_at);
  }
  return kExitOk;
}

int cmd_show(std::vector<std::string> args) {
  CLI::App app{"Show one job: state and its transitions, layout, results, SCF convergence.", args[0]};
  std::string id, plot;
  bool json = false;
  app.add_option("JOB", id, "job id (or a unique prefix)")->required();
  app.add_option("--plot", plot, "write the SCF convergence plot to FILE.png or FILE.svg");
  app.add_flag("--json", json, "print one JSON object");
  if (auto rc = parse_command_line(app, args)) return *rc;
  JobDb db(job_db_path());
  auto job = db.find(id);
  if (!job) throw Error(fmt::format("no job '{}' in {} (see `qecloud list`)", id, job_db_path()));
  const qe::Results r = qe::results_from_json(job->results);
  if (!plot.empty()) {
    std::vector<report::ScfSeries> series{{"", r.scf_accuracy_ry}};
    if (r.scf_accuracy_ry.empty()) throw Error(fmt::format("job {} has no SCF iterations to plot", job->id));
    std::optional<double> thr;
    if (job->layout.contains("conv_thr_ry")) thr = job->layout["conv_thr_ry"].get<double>();
    report::plot_scf_convergence(series, thr, fmt::format("{} — SCF convergence ({})", job->name, job->id),
                                 plot);
  }
  if (json) {
    auto j = job_json(*job);
    j["transitions"] = nlohmann::json::array();
    for (const auto& t : db.transitions(job->id))
      j["transitions"].push_back({{"state", t.state}, {"at", t.at}, {"note", t.note}});
    fmt::print("{}\n", json_text(j));
    return kExitOk;
  }
  fmt::print("job {}  ({})\n  input     {}\n  state     {}", job->id, job->name, job->input, job->state);
  if (job->exit_code) fmt::print(" (exit {})", *job->exit_code);
  fmt::print("\n");
  if (!job->message.empty()) fmt::print("  message   {}\n", job->message);
  if (job->layout.contains("why")) fmt::print("  layout    {}\n", job->layout["why"].get<std::string>());
  if (r.total_energy_ry)
    fmt::print("  energy    {:.8f} Ry = {:.6f} eV\n", *r.total_energy_ry,
               *r.total_energy_ry * qe::kRydbergEv);
  if (r.fermi_energy_ev) fmt::print("  Fermi     {:.4f} eV\n", *r.fermi_energy_ev);
  if (r.pressure_kbar) fmt::print("  pressure  {:.2f} kbar\n", *r.pressure_kbar);
  if (r.total_force_ry_bohr) fmt::print("  force     {:.6f} Ry/bohr (total)\n", *r.total_force_ry_bohr);
  if (!r.steps.empty()) fmt::print("  steps     {} ionic steps\n", r.steps.size());
  fmt::print("  SCF       {} in {} iterations:", r.scf_converged ? "converged" : "not converged",
             r.scf_iterations);
  for (double a : r.scf_accuracy_ry) fmt::print(" {:.1e}", a);
  fmt::print("\n");
  if (r.wall_time_s) fmt::print("  wall      {:.2f} s\n", *r.wall_time_s);
  fmt::print("  outputs   {}\n  history  ", job->store_url);
  for (const auto& t : db.transitions(job->id)) fmt::print(" {} {} →", t.at, t.state);
  fmt::print(" end\n");
  if (!plot.empty()) fmt::print("  plot      {}\n", plot);
  return kExitOk;
}

}  // namespace qecloud::cli
