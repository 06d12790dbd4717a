// `qecloud agent` (the program on every node of a multi-node job) and `qecloud agent exec HOST CMD…`
// (OpenMPI's remote launcher, called by mpirun on the main node).
#include <unistd.h>

#include <chrono>
#include <ctime>

#include <fmt/format.h>
#include <CLI/CLI.hpp>

#include "agent/agent.hpp"
#include "agent/node_env.hpp"
#include "cli/commands.hpp"
#include "core/error.hpp"
#include "job/node_contract.hpp"

namespace qecloud::cli {
namespace {

agent::Log stderr_log(const std::string& who) {
  return [who](const std::string& line) {
    auto now = std::chrono::system_clock::now();
    std::time_t t = std::chrono::system_clock::to_time_t(now);
    std::tm tm{};
    gmtime_r(&t, &tm);
    auto msec = std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch()).count() % 1000;
    char stamp[32];
    std::strftime(stamp, sizeof stamp, "%H:%M:%S", &tm);
    fmt::print(stderr, "{}.{:03d} {}: {}\n", stamp, msec, who, line);
  };
}

int cmd_agent_exec(const std::vector<std::string>& args) {
  if (args.size() < 4 || args[2] == "--help" || args[2] == "-h") {
    fmt::print(
        stderr,
        "usage: qecloud agent exec HOST COMMAND…\n"
        "OpenMPI's remote launcher (mpirun --mca plm_rsh_agent \"qecloud agent exec\"): runs COMMAND as one\n"
        "shell command line on HOST's agent, authenticated with $QECLOUD_JOB_SECRET; exits with its status,\n"
        "or 255 when the agent cannot be reached or goes silent.\n");
    return args.size() >= 3 && (args[2] == "--help" || args[2] == "-h") ? 0 : kExitUsage;
  }
  std::string command;
  for (std::size_t i = 3; i < args.size(); ++i) command += (i > 3 ? " " : "") + args[i];
  auto settings = NodeContract::from_env(process_env(), /*need_job=*/false);
  return agent::run_exec(args[2], command, settings);
}

}  // namespace

int cmd_agent(std::vector<std::string> args) {
  if (args.size() >= 2 && args[1] == "exec") return cmd_agent_exec(args);
  CLI::App app{
      "Run on every node of a multi-node job (the container's CMD on AWS Batch). Reads the node's role from "
      "the scheduler's environment (AWS Batch: AWS_BATCH_JOB_NODE_INDEX, …; Slurm: SLURM_JOB_ID, …) and the "
      "job from QECLOUD_* "
      "variables (QECLOUD_JOB_SECRET, and on the main QECLOUD_STORE, QECLOUD_STORE_JOB, QECLOUD_INPUT). The "
      "main waits for every child to join, runs pw.x across all nodes with `qecloud agent exec` as mpirun's "
      "launcher, stores outputs and logs, and exits with the job's status; children exit when it ends.",
      args[0]};
  std::string scheduler;
  bool dry_run = false;
  app.add_option("--scheduler", scheduler,
                 "whose environment to read (default: detect; known: awsbatch, slurm)");
  app.add_flag(
      "--dry-run", dry_run,
      "rendezvous only: every node joins, the main writes the hostfile and ends the job; nothing runs");
  if (auto rc = parse_command_line(app, args)) return *rc;
  const EnvLookup env = process_env();
  agent::NodeEnv node = agent::read_node_env(env, scheduler);
  NodeContract settings = NodeContract::from_env(env, node.is_main() && !dry_run);
  agent::read_secret_from_store(settings);
  auto log = stderr_log(fmt::format("agent[{}]", node.node_index));
  if (node.is_main()) return agent::run_main(node, settings, log, dry_run);
  return agent::run_child(node, settings, log);
}

}  // namespace qecloud::cli
