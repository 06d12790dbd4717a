#pragma once
// How every job begins, whatever the backend: refuse an input that is not a file before anything is
// recorded, record the job (owned by this process), validate the input once (an invalid one is recorded
// as `invalid` and nothing may run), and work out the input bundle that stages it (job/store_layout.hpp).
// JobGuard keeps the record truthful until the job ends or a scheduler takes it.
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "job/database.hpp"
#include "job/node_contract.hpp"
#include "job/resume.hpp"
#include "job/store_layout.hpp"
#include "qe/validator.hpp"
#include "storage/object_store.hpp"

namespace qecloud {

struct JobRequest {
  std::string input;         // the user's pw.x input file
  std::string name;          // default: the input's file name
  std::string store_url;     // the store's root URL; empty = default_store_url()
  std::string backend;       // the backend's name, as in the backend table
  std::string store_region;  // s3://: the bucket's region (else the environment's)
  // The pw.x that will run the input, whose release the input is judged for (a name in $PATH or a path);
  // empty: not on this machine (an image's, a cluster's), judged against every release with a note.
  std::string pw = "pw.x";
  // The release of a pw.x that is not on this machine, when something recorded it (a container image's
  // label): the input is judged for it, and `qe_version_source` names where it came from.
  std::optional<qe::QeVersion> qe_version;
  std::string qe_version_source;
  // A resume (job/resume.hpp): `input` is the plan's copy; the record names the stopped job's input and
  // links to it, and the bundle carries its restart data.
  std::shared_ptr<const ResumePlan> resume;
};

struct StartedJob {
  JobRecord record;
  JobLocation location;
  std::unique_ptr<storage::ObjectStore> store;
  qe::ValidationReport report;
  InputBundle bundle;    // valid inputs only
  bool refused = false;  // invalid input: recorded as invalid, exit kExitBadInput; nothing may run
  std::shared_ptr<const ResumePlan> resume;  // a resume: the layout to keep (resume->manifest)
};

// Throws qecloud::Error (exit kExitBadInput) when `path` is missing, not a regular file (a directory, a
// FIFO), unreadable, or its name is too long — before any job is recorded.
void check_input_file(const std::string& path);

// Checks the input file, records the job, validates (diagnostics through on_validated before anything else
// happens). Throws qecloud::Error for what is not the input's fault (the store cannot be opened, …).
StartedJob start_job(const JobRequest& req, JobDb& db,
                     const std::function<void(const qe::ValidationReport&)>& on_validated);

// Puts the bundle under the job's input/ in its store (what a node's agent fetches and reruns).
void stage_inputs(const StartedJob& job);
// The node contract of a job its backend starts on several nodes: a fresh per-job secret, the store, the
// job's key in it, the input's path in the bundle and, for a resume, the layout to keep; the rest keeps the
// contract's defaults.
NodeContract job_contract(const StartedJob& job);
// Copies the bundle into `dir` (a local run's work directory) with the same layout as input/.
void copy_bundle(const InputBundle& bundle, const std::string& dir);

// Until finish() or release(), a JobGuard that goes out of scope records its job `failed` (naming the step
// it was in, and the exception when fail() was given it), so a record never stays `created` or `running`
// because qecloud itself gave up. Never throws from its destructor.
class JobGuard {
 public:
  JobGuard(JobDb& db, std::string id) : db_(db), id_(std::move(id)) {}
  ~JobGuard();
  JobGuard(const JobGuard&) = delete;
  JobGuard& operator=(const JobGuard&) = delete;

  void step(std::string what) { step_ = std::move(what); }  // "staging inputs"
  void fail(const std::exception& e);                       // records `failed` with e.what() now
  void finish(JobState state, int exit_code, const nlohmann::json& results, const std::string& message);
  void release() { done_ = true; }  // a scheduler has the job: nothing to record on the way out
  bool done() const { return done_; }

 private:
  JobDb& db_;
  std::string id_, step_ = "starting the job";
  bool done_ = false;
};

}  // namespace qecloud
