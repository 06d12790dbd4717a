#include "backends/slurm/sbatch_script.hpp"

#include <algorithm>
#include <regex>

#include <fmt/format.h>

#include "backends/slurm/config.hpp"

namespace qecloud::backends::slurm {
namespace {

void directive(std::string& s, const std::string& option, const std::string& value = {}) {
  s += value.empty() ? fmt::format("#SBATCH {}\n", option) : fmt::format("#SBATCH {}={}\n", option, value);
}

void header(std::string& s, const SbatchJob& j) {
  // A login shell where modules are loaded: that is where sites define the `module` command.
  s += j.modules.empty() ? "#!/bin/bash\n" : "#!/bin/bash -l\n";
  s += fmt::format("# qecloud job {} ({}): pw.x on {} node{} under Slurm.\n", j.job_id, j.name, j.nodes,
                   j.nodes > 1 ? "s" : "");
  s += "# Written by `qecloud submit --backend slurm`. `sbatch` on this file runs the same job again, into "
       "the\n"
       "# same place in the store. It holds the job's secret: keep it private (mode 600).\n";
}

void directives(std::string& s, const SbatchJob& j) {
  directive(s, "--job-name", slurm_job_name(j.name, j.job_id));
  directive(s, "--nodes", std::to_string(j.nodes));
  if (j.ntasks_per_node > 0) {
    directive(s, "--ntasks-per-node", std::to_string(j.ntasks_per_node));
  } else {
    s += "# Whole nodes: the main agent plans one MPI rank per physical core of each node.\n";
    directive(s, "--exclusive");
  }
  if (j.time_s) directive(s, "--time", slurm_time_text(*j.time_s));
  s += fmt::format(
      "# {} s before the time limit Slurm sends SIGTERM to the batch shell only (\"B:\"; it may come up to\n"
      "# 60 s early, sbatch(1) --signal): the main agent, below, then stops pw.x cleanly and stores the\n"
      "# restart data before the limit.\n",
      signal_margin(j));
  directive(s, "--signal", fmt::format("B:TERM@{}", signal_margin(j)));
  if (!j.partition.empty()) directive(s, "--partition", j.partition);
  if (!j.account.empty()) directive(s, "--account", j.account);
  if (!j.qos.empty()) directive(s, "--qos", j.qos);
  directive(s, "--output", j.output);
  directive(s, "--chdir", j.chdir);
  for (const auto& o : j.extra_options) directive(s, o);
}

void body(std::string& s, const SbatchJob& j) {
  s += "\nset -eu\n";
  for (const auto& m : j.modules) s += fmt::format("module load {}\n", shell_quote(m));
  s += "\n# The node contract: what qecloud decided for this job (its docs/ARCHITECTURE.md, \"Slurm\").\n";
  for (const auto& [name, value] : j.contract) s += fmt::format("export {}={}\n", name, shell_quote(value));
  const std::string agent = shell_quote(j.qecloud) + " agent --scheduler slurm";
  if (j.nodes > 1) {
    s += fmt::format(
        "\n# One agent on each of the other nodes, as one step in the background. They join the main agent "
        "on\n"
        "# this node (srun gives them its address as SLURM_LAUNCH_NODE_IPADDR) and start what mpirun asks\n"
        "# of them. The step has all the job's CPUs on its nodes (srun(1): without --exact a step gets "
        "every\n"
        "# non-GRES resource); --cpu-bind=none keeps the agent, and the ranks it starts, off a single core;\n"
        "# --overlap lets a later step (mpirun's own) share them; --mpi=none: the agents are not MPI "
        "programs.\n"
        "srun --nodes={0} --ntasks={0} --relative=1 --overlap --cpu-bind=none --mpi=none {1} &\n",
        j.nodes - 1, agent);
  }
  s += "\n# The main agent: this shell becomes it, so that Slurm's signal reaches it and nothing else. It "
       "runs\n"
       "# pw.x across all nodes, stores outputs, restart data and results.json, and exits with the job's "
       "code.\n";
  s += fmt::format("exec {}\n", agent);
}

}  // namespace

int signal_margin(const SbatchJob& j) {
  return j.time_s ? std::max(1, std::min(j.signal_margin_s, *j.time_s / 2)) : j.signal_margin_s;
}

std::string slurm_job_name(const std::string& name, const std::string& id) {
  const std::string clean = std::regex_replace(name, std::regex("[^A-Za-z0-9._-]"), "_");
  return fmt::format("qecloud-{}-{}", clean.substr(0, 60), id);
}

std::string sbatch_script(const SbatchJob& j) {
  std::string s;
  header(s, j);
  directives(s, j);
  body(s, j);
  return s;
}

std::string shell_quote(const std::string& text) {
  std::string out = "'";
  for (char c : text) out += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return out + "'";
}

}  // namespace qecloud::backends::slurm
