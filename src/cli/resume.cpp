// `qecloud resume JOB`: a new job that continues a stopped one from the restart data in its store
// (job/resume.hpp), through `run` (here, or the netns rehearsal) or `submit` (Slurm, AWS Batch) with the
// options those take.
#include <algorithm>

#include <fmt/format.h>
#include <CLI/CLI.hpp>

#include "backends/backend.hpp"
#include "cli/commands.hpp"
#include "core/error.hpp"
#include "job/reconcile.hpp"
#include "job/resume.hpp"

namespace qecloud::cli {

std::vector<std::string> resume_options(const std::string& where, int nodes, int ranks,
                                        const std::vector<std::string>& extras) {
  auto given = [&](const std::string& opt) {
    return std::any_of(extras.begin(), extras.end(),
                       [&](const std::string& a) { return a == opt || a.rfind(opt + "=", 0) == 0; });
  };
  std::vector<std::string> out;
  if ((where == "netns" || where == "slurm" || where == "awsbatch") && !given("--nodes"))
    out.insert(out.end(), {"--nodes", std::to_string(nodes)});
  // Without it Slurm gives whole nodes, one slot per core, and mpirun fills the first node's slots with the
  // kept ranks: the other nodes would idle.
  if (where == "slurm" && !given("--ntasks-per-node") && nodes > 0 && ranks % nodes == 0)
    out.insert(out.end(), {"--ntasks-per-node", std::to_string(ranks / nodes)});
  if (where == "slurm" || where == "awsbatch") out.insert(out.end(), {"--backend", where});
  out.insert(out.end(), extras.begin(), extras.end());
  return out;
}

int cmd_resume(std::vector<std::string> args) {
  CLI::App app{
      "Continue a job that stopped (a signal, a time limit, a lost node) from the restart data in its store: "
      "a new job, linked to it (`qecloud show` lists the attempts), runs the same input with "
      "restart_mode = 'restart' on qecloud's copy and the same MPI layout, so pw.x continues at the SCF "
      "iteration or ionic step where it stopped. Options after JOB are those of `qecloud run` (local, "
      "netns) or `qecloud submit` (slurm, awsbatch).",
      args[0]};
  std::string id, backend = "same";
  app.add_option("JOB", id, "the stopped job (id or unique prefix)")->required();
  app.add_option("--backend", backend, "where to run it: same (where it ran), local, netns, slurm, awsbatch")
      ->capture_default_str();
  app.allow_extras();
  app.footer("Exit status: that of `qecloud run` or `qecloud submit`.");
  if (auto rc = parse_command_line(app, args)) return *rc;
  std::vector<std::string> extras = app.remaining();
  JobDb db(job_db_path());
  auto found = db.find(id);
  if (!found) throw UsageError(fmt::format("no job '{}' in {} (see `qecloud list`)", id, db.path()));
  JobRecord job = reconcile(db, *found);
  if (!is_final(job.state)) job = backends::of(job).refresh(db, job).job;  // a scheduler's job may have ended
  const std::string where = backend == "same" ? job.backend : backend;
  (void)backends::named(where);  // an unknown name: "did you mean"
  auto plan = prepare_resume(db, job);
  const int nodes = plan->manifest.nodes;
  if (where == "netns" && nodes < 2)
    throw UsageError(
        fmt::format("--backend netns: job {} ran on one node; resume it here (--backend local)", job.id));
  std::vector<std::string> forward = {args[0], plan->input};
  for (auto& a : resume_options(where, nodes, plan->manifest.ranks, extras)) forward.push_back(std::move(a));
  if (where == "local" || where == "netns") return run_job(std::move(forward), std::move(plan));
  return submit_job(std::move(forward), std::move(plan));
}

}  // namespace qecloud::cli
