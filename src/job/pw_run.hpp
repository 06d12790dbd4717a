#pragma once
// The one pw.x supervisor, for a local run and for the main node of a multi-node job: run (mpirun …) pw.x
// in its own process group while parsing its output live (progress events), stop it cleanly on
// SIGINT/SIGTERM through QE's <prefix>.EXIT file (pw.x stops at its next check and writes restart data),
// SIGKILL the group after a grace period, stop mpirun when a node is lost (SIGTERM, then SIGKILL), and
// classify the outcome from the text (job/outcome.hpp) — then write results.json. It starts the program
// through a ProgramRunner, so tests drive it with a fake program: no pw.x, no MPI, no root.
#include <chrono>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "core/process.hpp"
#include "job/outcome.hpp"
#include "qe/output_parser.hpp"
#include "qe/results.hpp"

namespace qecloud {

// The command line: `pw.x -in INPUT` for one rank, else `mpirun -np R … pw.x -nk K -in INPUT`.
struct MpiLaunch {
  std::string mpirun = "mpirun";
  std::string pw = "pw.x";
  std::string input;  // -in INPUT, relative to the run directory
  int ranks = 1;
  int pools = 1;                  // -nk
  bool oversubscribe = false;     // more ranks than cores: --oversubscribe, ranks yield when idle
  bool yield_when_idle = false;   // nodes share cores (a rehearsal)
  bool as_root = false;           // --allow-run-as-root (containers run as root)
  std::string hostfile;           // multi-node: --hostfile FILE --map-by slot --display-map
  std::string rsh_agent;          // multi-node: mpirun's remote launcher (`<qecloud> agent exec`)
  bool scheduler_launch = false;  // multi-node through mpirun's own scheduler support (Slurm: srun starts
                                  // its daemons); the allocation comes from the scheduler, not a hostfile
  // multi-node: the job's network (CIDR); OpenMPI's TCP transports (BTL) and its daemons' channel (OOB) use
  // only interfaces on it — never, say, the link-local ecs-eth0 every AWS Batch container also has (the seed
  // pinned btl_tcp_if_include eth0; AWS's batch-mpi sample excludes lo,ecs-eth0).
  std::string network;
};
std::vector<std::string> pw_argv(const MpiLaunch& m);

struct PwRun {
  SpawnOptions command;      // argv (pw_argv), cwd = the run directory, env, pw.out and pw.err paths
  std::string exit_file;     // <outdir>/<prefix>.EXIT: written to stop pw.x; a stale one is removed first
  std::string xml;           // <outdir>/<prefix>.save/data-file-schema.xml, merged into the results
  std::string results_json;  // where results.json is written
  std::chrono::milliseconds grace{30000};      // after the EXIT file, before SIGKILL
  std::chrono::milliseconds lost_grace{3000};  // after a node is lost: SIGTERM, then SIGKILL this much later
};

struct PwRunEvents {
  std::function<void(const qe::ProgressEvent&)> on_progress;
  std::function<void(const std::string&)> on_note;   // "SIGTERM received: asking pw.x to stop (up to 30 s)"
  std::function<int()> stop_signal;                  // the SIGINT/SIGTERM received so far, 0 for none
  std::function<std::optional<std::string>()> lost;  // multi-node: why a node is lost, nullopt while none
  std::function<void()> on_tick;                     // about every 100 ms while pw.x runs (heartbeats)
};

struct PwRunResult {
  qe::Results results;
  ExitStatus status;
  Outcome outcome;      // the text decides; a lost node or a stop signal override
  bool killed = false;  // SIGKILLed after its grace period
  int stop_signal = 0;
  std::optional<std::string> lost;
  std::vector<std::string> not_written;  // files that could not be written whole ("…/pw.out: No space …")
};

// Throws qecloud::Error only when the program cannot be started.
PwRunResult run_pw(const PwRun& run, const ProgramRunner& runner, const PwRunEvents& events);

}  // namespace qecloud
