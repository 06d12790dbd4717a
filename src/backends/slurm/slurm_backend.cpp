#include "backends/slurm/slurm_backend.hpp"

#include <filesystem>

#include <fmt/format.h>

#include "backends/slurm/config.hpp"
#include "backends/slurm/slurm_jobs.hpp"
#include "core/error.hpp"
#include "core/process.hpp"
#include "job/foreground.hpp"
#include "qe/qe_version.hpp"

namespace fs = std::filesystem;

namespace qecloud::backends::slurm {
namespace {

Submitted submit_job(const JobOptions& o, const RunObserver& obs, const Notes& notes) {
  const SlurmConfig c = load_config(o.config_path);  // a bad [slurm] is refused before anything is recorded
  plan_submit(c, o);
  if (find_program("sbatch").empty())
    throw UsageError(
        "sbatch not found in PATH: `submit --backend slurm` hands the job to Slurm's sbatch; run it where "
        "Slurm's commands are (a cluster's login node, or after loading the site's slurm module)");
  return submit(real_slurm_runner(), c, o, obs, notes, fs::read_symlink("/proc/self/exe").string());
}

JobStatus refresh_job(JobDb& db, const JobRecord& job) {
  return refresh(real_slurm_runner(), db, job);
}

// A Slurm job has one output file (--output): the main agent's lines and, through srun, every child's,
// each tagged agent[<node>].
int job_logs(JobDb&, const JobRecord& job, std::optional<int> node, LogCursor& cursor, const LogLine& line) {
  const auto& r = remote_of(job);
  if (node)
    throw UsageError(fmt::format(
        "--node: Slurm job {} has one output file, with every node's lines (tagged agent[<node>]); "
        "`qecloud logs {}` shows it",
        r.value("slurm_job_id", ""), job.id));
  return read_job_logs(job, {{0, r.value("output", "")}}, cursor.position, line);
}

void cancel_job(JobDb& db, const JobRecord& job, const std::string& reason) {
  cancel(real_slurm_runner(), db, job, reason);
}

std::vector<std::string> fetch_job(JobDb& db, const JobRecord& job, const std::string& dir) {
  remote_of(job);
  return fetch_job_outputs(db, job, dir);
}

}  // namespace

Backend backend() {
  return {"slurm",     "a Slurm cluster: sbatch from a login node (`qecloud submit --backend slurm`)",
          nullptr,     submit_job,
          refresh_job, job_logs,
          cancel_job,  fetch_job};
}

}  // namespace qecloud::backends::slurm
