#pragma once
// The batch script of a Slurm job: readable and documented, so that a user can read what runs and hand it
// to sbatch again. Its shape (the "why" of each line is in the script's own comments):
//   #SBATCH lines       nodes, tasks per node (or whole nodes), time, partition/account/QOS, output file,
//                       and --signal=B:TERM@<margin>: the time-limit warning goes to the batch shell only;
//   module load …       the site's modules;
//   export QECLOUD_…    the node contract (job/node_contract.hpp): store, job, input, secret, programs;
//   srun … agent &      one agent on every other node (a step of its own, --overlap);
//   exec … agent        the main agent, as the batch shell itself: Slurm's signal reaches it and only it.
// Pure: the same job always gives the same text (tests compare it whole).
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace qecloud::backends::slurm {

struct SbatchJob {
  std::string job_id;  // qecloud's job id
  std::string name;    // the job's name (the input's file name by default)
  int nodes = 1;
  int ntasks_per_node = 0;    // MPI ranks per node; 0: whole nodes (--exclusive), one rank per core
  std::optional<int> time_s;  // nullopt: the partition's default
  int signal_margin_s = 120;  // as configured; see signal_margin()
  std::string partition, account, qos;
  std::vector<std::string> extra_options;  // "--constraint=skylake"
  std::string output;                      // the job's output file (%j: Slurm's job id)
  std::string chdir;                       // where the batch script starts
  std::vector<std::string> modules;
  std::map<std::string, std::string> contract;  // NodeContract::to_env()
  std::string qecloud;                          // the qecloud the nodes run (an absolute path)
};

// The margin actually used: the configured one, at most half the time limit (Slurm checks limits about
// every 30 s and may signal up to 60 s early — sbatch(1), --signal — so a short job still runs half its
// time).
int signal_margin(const SbatchJob& j);
// A Slurm job name: the job's name and id with anything but letters, digits, '.', '_' and '-' replaced.
std::string slurm_job_name(const std::string& name, const std::string& id);
// The script's text.
std::string sbatch_script(const SbatchJob& j);
// 'text' quoted for the shell (single quotes; a quote inside becomes '\'').
std::string shell_quote(const std::string& text);

}  // namespace qecloud::backends::slurm
