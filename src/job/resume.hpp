#pragma once
// `qecloud resume JOB`: a new job that continues a stopped one from its restart data.
//
// A resumed job is an ordinary job whose input bundle is the stopped job's input bundle (from its store)
// plus the stopped job's whole restart set (job/restart_set.hpp: every node's part, merged) at
// <run dir>/<outdir>, with restart_mode = 'restart' set on qecloud's copy of the input (qe/input_edit.hpp).
// So every backend runs it the way it runs any job — a local run copies the bundle into its work directory,
// each node of a multi-node job fetches it — and pw.x continues at the SCF iteration and k-point (or the
// ionic step) where it stopped. The MPI layout is the stopped job's: pw.x's per-rank files are per rank
// (a different layout fails in davcio), so the ranks and pools are kept and the backend may not replan.
#include <memory>
#include <string>
#include <vector>

#include "job/database.hpp"
#include "job/restart_set.hpp"
#include "job/store_layout.hpp"
#include "qe/input_edit.hpp"
#include "qe/validator.hpp"

namespace qecloud {

struct ResumePlan {
  JobRecord from;            // the stopped job
  RestartManifest manifest;  // its restart data: prefix, layout, files
  std::string dir;           // where its input bundle was fetched (removed when the plan goes)
  std::string input;         // the copy of its input in `dir`, edited: what the new job validates and runs
  std::vector<qe::InputEdit> edits;
  ResumePlan() = default;
  ResumePlan(const ResumePlan&) = delete;
  ResumePlan& operator=(const ResumePlan&) = delete;
  ~ResumePlan();
};

// Checks that `from` can be resumed and fetches what a resume needs into $QECLOUD_HOME/resume/. Throws
// qecloud::UsageError when the job has not ended, succeeded, did not converge (a resume would repeat the same
// iterations), never ran (invalid), or was resumed already by a job that succeeded, got further or runs; and
// qecloud::Error when its store holds no restart data, or only part of it (the manifest says what is
// missing). An absolute outdir is made relative on the copy (the restart data comes with the job).
std::shared_ptr<const ResumePlan> prepare_resume(JobDb& db, const JobRecord& from);

// After the new job's input was validated: puts the restart set into the bundle at <run dir>/<outdir>.
// Throws qecloud::Error when the input's prefix differs from the restart data's or its outdir is outside
// the bundle (an absolute outdir: the data would not travel with the input).
void add_restart_set(const ResumePlan& plan, const qe::JobNeeds& needs, InputBundle& bundle);

// "resumes job X: 11 files, 23.4 MB of restart data; restart_mode = 'restart'; 2 ranks, 2 pools kept"
std::string resume_note(const ResumePlan& plan);

}  // namespace qecloud
