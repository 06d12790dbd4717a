#pragma once
// Where a job runs: one row per backend in one table (backends/registry.cpp), like flux-core's job-exec
// implementations[] — the simulated beside the real. A backend is one folder under backends/ plus its row;
// backends never include each other or the agent (they start `qecloud agent` by argv and the node
// contract's environment, job/node_contract.hpp). Every later command — status, logs, cancel, fetch —
// finds the backend from the job's record and reads everything it needs (region, queue, log group, store)
// from that record, never from today's configuration.
#include <functional>
#include <map>
#include <optional>
#include <set>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "job/database.hpp"
#include "job/start.hpp"
#include "qe/layout.hpp"
#include "qe/output_parser.hpp"
#include "qe/validator.hpp"

namespace qecloud::backends {

// What `run` and `submit` ask of a backend. `given` names the options the user set, so that a backend
// refuses an option it would otherwise ignore (UsageError), instead of ignoring it.
struct JobOptions {
  std::string input;
  std::string name;       // default: the input's file name
  std::string store_url;  // the store's root; empty: the backend's default
  int nodes = 1;
  std::optional<int> ranks, pools;  // nullopt = auto
  bool oversubscribe = false;
  std::string pw = "pw.x";
  std::string mpirun = "mpirun";
  int grace_s = 30;                     // after the EXIT file, before pw.x is killed
  bool recover = true;                  // QE-aware automatic recovery (job/recovery.hpp); --no-recover
  int join_timeout_s = 60;              // multi-node: how long the main waits for every node
  int slots_per_node = 0;               // netns: 0 = cores / nodes
  int time_limit_s = 24 * 3600;         // submit: each attempt's limit
  int run_time_limit_s = 0;             // run: --time, from the run's start; 0 = none
  std::string instance_type;            // awsbatch
  std::string partition, account, qos;  // slurm: sbatch's --partition, --account, --qos
  std::string slurm_time;               // slurm: --time, in Slurm's formats ("90", "12:00:00", "2-00")
  int tasks_per_node = 0;               // slurm: --ntasks-per-node; 0 = the config's, else whole nodes
  std::vector<std::string> faults;      // netns, for tests: KIND:NODE[:SECONDS]
  std::string config_path;              // qecloud.toml, for backends configured there
  std::set<std::string> given;          // "--ranks", "--pw", … as typed
  // A container image's (`--image`): netns runs every node inside `rootfs`, its root filesystem unpacked
  // (shared read-only), and the image's own qecloud, mpirun and pw.x run the job.
  std::string image, rootfs;
  // The QE release of a pw.x not on this machine (an image's label), and where that came from; the input
  // is judged for it.
  std::optional<qe::QeVersion> qe_version;
  std::string qe_version_source;
  // What release a container image holds, when it is known here (the CLI answers from image labels);
  // awsbatch asks it about qecloud.toml's [aws] image. Null: not known.
  std::function<std::optional<std::pair<qe::QeVersion, std::string>>(const std::string& image)> image_release;
  // `qecloud resume`: the stopped job, its restart data and the layout to keep (job/resume.hpp); `input` is
  // the plan's copy of the stopped job's input.
  std::shared_ptr<const ResumePlan> resume;
};

// Progress for people while a job runs in the foreground.
struct RunObserver {
  std::function<void(const qe::ValidationReport&)> on_validated;  // diagnostics, before anything runs
  std::function<void(const qe::Layout&, const qe::JobNeeds&)> on_layout;
  std::function<void(const qe::ProgressEvent&)> on_progress;
  std::function<void(const std::string&)> on_note;  // "stopping: SIGTERM received", "storing outputs"
};

struct RunResult {
  std::string job_id;
  JobState state = JobState::kFailed;
  int exit_code = 0;  // what qecloud exits with (core/error.hpp)
  qe::Layout layout;
  qe::Results results;
  std::string outputs_url;
  std::string message;
  int stop_signal = 0;  // SIGINT/SIGTERM that stopped the run; the caller re-raises it after reporting
  nlohmann::json to_json() const;
};

struct Submitted {
  std::string job_id;
  std::string remote_id;  // the scheduler's job id
  std::string outputs_url;
  std::string estimate;  // a cost line, when the backend bills
  bool refused = false;  // invalid input: recorded, nothing submitted
};

// What submit answers once the job is recorded: its id and store URL; `refused` when the input was invalid
// (recorded as such; nothing may be submitted).
Submitted submitted_of(const StartedJob& job);

struct NodeStatus {
  int index = 0;
  std::string status;  // the backend's word (RUNNING, SUCCEEDED, …)
  std::string reason;
  std::optional<int> exit_code;
};

struct JobStatus {
  JobRecord job;              // refreshed (and reconciled) record
  std::string backend_state;  // the backend's own word for it ("RUNNING", "running as pid 4242")
  std::string reason;
  std::vector<NodeStatus> nodes;
  nlohmann::json cost;  // {"hours", "line", "usd"} when the backend bills; null otherwise
  nlohmann::json fields = nlohmann::json::object();  // the backend's own, added to `status --json`
  bool final() const { return is_final(job.state); }
};

// Where `logs` got to, per log (the backend's own keys: a file offset, a CloudWatch token).
struct LogCursor {
  std::map<std::string, std::string> position;
};
using LogLine = std::function<void(int node, const std::string& text)>;
using Notes = std::function<void(const std::string&)>;

struct Backend {
  const char* name;
  const char* summary;
  // Runs the job to its end here, in the foreground; null when the backend only submits.
  RunResult (*run)(const JobOptions& o, const RunObserver& obs);
  // Hands the job to a scheduler and returns; null when the backend only runs in the foreground.
  Submitted (*submit)(const JobOptions& o, const RunObserver& obs, const Notes& notes);
  JobStatus (*refresh)(JobDb& db, const JobRecord& job);
  // Prints new log lines; returns how many. `node`: only that node's (0 is the main).
  int (*logs)(JobDb& db, const JobRecord& job, std::optional<int> node, LogCursor& cursor,
              const LogLine& line);
  void (*cancel)(JobDb& db, const JobRecord& job, const std::string& reason);
  // Downloads the job's outputs into `dir` and records its results; returns the files written.
  std::vector<std::string> (*fetch)(JobDb& db, const JobRecord& job, const std::string& dir);
};

std::span<const Backend> all();
// Throws qecloud::UsageError for an unknown name ("did you mean …").
const Backend& named(const std::string& name);
const Backend& of(const JobRecord& job);

// Throws qecloud::UsageError naming each option in `given` that is not in `taken`: a backend refuses what
// it would ignore ("--pools: the netns backend plans the layout on the main node").
void refuse_options(const JobOptions& o, const char* backend, std::initializer_list<const char*> taken,
                    const char* why);

}  // namespace qecloud::backends
