#pragma once
// qecloud.toml's [slurm] section: a site's defaults for Slurm jobs. Optional — without it a job gets the
// cluster's own defaults (default partition, account, time limit). Read from ./qecloud.toml, else
// $QECLOUD_HOME/qecloud.toml (or the file given); every value is checked before anything is recorded or
// submitted: a wrong type, an unknown key or a malformed value is a qecloud::UsageError (exit 2) naming
// file:line and the field.
//
//   [slurm]
//   partition = "compute"            # sbatch --partition; `submit --partition` overrides
//   account = "chem-123"             # --account
//   qos = "normal"                   # --qos
//   time = "12:00:00"                # --time, in Slurm's formats (see parse_slurm_time)
//   ntasks_per_node = 0              # MPI ranks per node; 0: whole nodes (--exclusive), one per core
//   modules = ["quantum-espresso/7.2"]  # `module load` on the nodes before the agent starts
//   pw = "pw.x"                      # the pw.x and mpirun the nodes run (names in PATH or paths)
//   mpirun = "mpirun"
//   qecloud = "/shared/bin/qecloud"  # the qecloud the nodes run; default: this program
//   store = "file:///shared/qecloud" # where jobs keep inputs and outputs: a path every node sees, or s3://
//   signal_margin = 120              # seconds before the time limit at which the job stops cleanly
//   sbatch_options = ["--constraint=skylake"]   # more #SBATCH lines, as written
#include <optional>
#include <string>
#include <vector>

namespace qecloud::backends::slurm {

struct SlurmConfig {
  std::string source;  // the file read; empty when there was no [slurm] section
  std::string partition, account, qos;
  std::optional<int> time_s;  // nullopt: the partition's default
  int ntasks_per_node = 0;
  std::vector<std::string> modules;
  std::string pw = "pw.x", mpirun = "mpirun";
  std::string qecloud;  // empty: this program's own path (a shared filesystem, as $HOME is on clusters)
  std::string store;    // empty: the default store, file://$QECLOUD_HOME/store
  int signal_margin_s = 120;
  std::vector<std::string> sbatch_options;
};

// Slurm's time formats (sbatch(1), --time): "minutes", "minutes:seconds", "hours:minutes:seconds",
// "days-hours", "days-hours:minutes", "days-hours:minutes:seconds" → seconds; nullopt when malformed or 0
// (Slurm's "no limit", which a job that must stop cleanly before its limit cannot use).
std::optional<int> parse_slurm_time(const std::string& text);
// Seconds → "D-HH:MM:SS", rounded up to whole minutes as Slurm keeps limits in minutes.
std::string slurm_time_text(int seconds);

// The [slurm] section of the config found (find_config_file); defaults when there is none.
SlurmConfig load_config(const std::string& explicit_path = {});
SlurmConfig parse_config(const std::string& text, const std::string& source);

}  // namespace qecloud::backends::slurm
