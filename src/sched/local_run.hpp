#pragma once
// One pw.x job on this machine, from a validated input to stored results: stage the input and
// pseudopotentials into a work directory, run (mpirun …) pw.x -nk K in its own process group while parsing
// its output live, stop it cleanly on SIGINT/SIGTERM through QE's <prefix>.EXIT file, classify the outcome
// from the text, and keep everything in the store and the job database — also when the run fails.
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include <nlohmann/json.hpp>

#include "core/job_db.hpp"
#include "qe/layout.hpp"
#include "qe/output_parser.hpp"
#include "qe/validator.hpp"
#include "storage/object_store.hpp"

namespace qecloud::sched {

struct LocalRunOptions {
  std::string input;                // the user's pw.x input file
  std::string name;                 // job name; default: the input's file name
  std::optional<int> ranks, pools;  // nullopt = auto
  bool oversubscribe = false;
  std::string store_url;    // empty = default store under $QECLOUD_HOME
  std::string pw = "pw.x";  // the pw.x program
  std::string mpirun = "mpirun";
  int grace_seconds = 30;  // after the EXIT file, how long pw.x may take to stop before SIGKILL
};

struct LocalRunResult {
  std::string job_id;
  std::string state;  // a job_state::k* value
  int exit_code = 0;  // the process exit code qecloud should return (kExit*)
  qe::Layout layout;
  qe::Results results;
  std::string outputs_url;
  std::string message;
  int stop_signal = 0;  // SIGINT/SIGTERM that stopped the run; the caller re-raises it after reporting
  nlohmann::json to_json() const;
};

// Progress for people: called with each event of the live output parser, plus the layout once chosen.
struct RunObserver {
  std::function<void(const qe::ValidationReport&)> on_validated;  // diagnostics (warnings) before running
  std::function<void(const qe::Layout&, const qe::JobNeeds&)> on_layout;
  std::function<void(const qe::ProgressEvent&)> on_progress;
  std::function<void(const std::string&)> on_note;  // "stopping: SIGTERM received", "storing outputs"
};

// The start every run shares: a job id, its record and store, and the input validated. An invalid input
// is recorded (state invalid, exit kExitBadInput, `refused` set) and nothing may run; otherwise the record
// is inserted and the caller runs the job.
struct JobStart {
  LocalRunResult res;
  JobRecord rec;
  std::unique_ptr<storage::ObjectStore> store;
  std::string key;  // "jobs/<id>" in the store
  qe::ValidationReport report;
  bool refused = false;
};
JobStart begin_job(const LocalRunOptions& o, const std::string& backend, const RunObserver& obs, JobDb& db);

// Puts the input under <key>/input/ and, when pseudo_dir is relative, its pseudopotentials where it points
// (an absolute pseudo_dir must exist on the nodes, as in a container image): what a node's agent stages.
void stage_inputs(storage::ObjectStore& store, const std::string& input_path,
                  const qe::ValidationReport& report, const std::string& key);

// Marks a job that qecloud itself failed to carry through (the record must not stay 'running').
void record_failure(JobDb& db, const std::string& job_id, const std::exception& e);

// Runs the job to completion. Invalid input is recorded (state invalid) and nothing runs; the report's
// diagnostics come back through `invalid`. Throws qecloud::Error for failures of qecloud itself.
LocalRunResult run_local(const LocalRunOptions& opts, const RunObserver& observer,
                         qe::ValidationReport* invalid = nullptr);

}  // namespace qecloud::sched
