#pragma once
// Jobs on Slurm: submit (validate, stage the input into the store, write the batch script, `sbatch
// --parsable`, record `queued` with the Slurm job id), refresh (squeue while Slurm holds the job, then sacct
// where accounting exists, then the job's report in the store), logs (the job's output file), cancel. Every
// Slurm command goes through a SlurmRunner, so the unit tests drive all of it with a fake that answers as
// Slurm does. After submit, everything is read from the job's record (`remote`), never from today's
// qecloud.toml.
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "backends/backend.hpp"
#include "backends/slurm/config.hpp"
#include "core/process.hpp"
#include "job/database.hpp"

namespace qecloud::backends::slurm {

// Runs one Slurm command (argv[0]: sbatch, squeue, sacct, scancel) and returns its status and output
// (stdout and stderr together, as a person would see them). Throws qecloud::Error when it cannot start.
using SlurmRunner = std::function<Captured(const std::vector<std::string>& argv)>;
SlurmRunner real_slurm_runner();

// What submit makes of the options and the config: the user's option wins over the config's default.
struct SubmitPlan {
  int nodes = 1;
  int ntasks_per_node = 0;
  std::optional<int> time_s;
  std::string partition, account, qos, store_url;
  bool recover = true;  // the main node's automatic recovery (--no-recover: false)
};
// Throws qecloud::UsageError for options the Slurm backend does not take or values it refuses.
SubmitPlan plan_submit(const SlurmConfig& c, const JobOptions& o);

// `qecloud_exe`: this program, which the nodes run unless the config names another.
Submitted submit(const SlurmRunner& run, const SlurmConfig& c, const JobOptions& o, const RunObserver& obs,
                 const Notes& notes, const std::string& qecloud_exe);

// What Slurm says of a job now.
struct SlurmView {
  std::string state;     // squeue's %T or sacct's State, empty when Slurm no longer knows the job
  std::string reason;    // squeue's %r (why it waits), sacct's ExitCode
  std::string nodelist;  // squeue's %N ("node-[0-2]")
  std::string source;    // "squeue", "sacct" or "" (nothing: the job's report decides)
};
SlurmView query(const SlurmRunner& run, const std::string& slurm_id);

JobStatus refresh(const SlurmRunner& run, JobDb& db, const JobRecord& job);
// A running job stops cleanly (SIGTERM to the main agent only: `scancel --batch`, as the time-limit
// signal does); a pending one is removed from the queue (`scancel`).
void cancel(const SlurmRunner& run, JobDb& db, const JobRecord& job, const std::string& reason);

// Throws qecloud::UsageError unless the job was submitted to Slurm.
const nlohmann::json& remote_of(const JobRecord& job);

}  // namespace qecloud::backends::slurm
