#pragma once
// QE-aware automatic recovery (issue 15): after a pw.x run that failed in a way a changed setting often
// cures, rerun it in the same job with that setting changed on the staged input (qe/input_edit.hpp; the
// user's file is never edited), record every step in the job's history, and give up — saying why — when
// nothing is left to try. Off with `run --no-recover` (the node contract's QECLOUD_RECOVER=0).
//
// The rules, each measured with Debian's pw.x 6.7 on the seed silicon case (docs/ARCHITECTURE.md,
// "Automatic recovery"):
//  - SCF not converged → restart from the last charge density (&electrons startingpot = 'file' reads
//    <outdir>/<prefix>.save/charge-density.dat, which pw.x 6.7 writes also when the SCF did not converge)
//    with mixing_beta × 0.7 (INPUT_PW's default mixing_beta is 0.7). Without a charge density, only the
//    smaller mixing_beta.
//  - diagonalization failed (cholesky, "S matrix not positive definite", a diagonalizer's error box) → the
//    next of david → ppcg → cg (INPUT_PW's `diagonalization`, default 'david'; paro and the rmm-* solvers
//    go to ppcg as david does). After cg, nothing.
//  - too few bands (efermig cannot bracket the Fermi level: smearing with no empty band) → nbnd =
//    max(⌈1.2 nbnd⌉, nbnd + 4), the rule PW/src/setup.f90 uses for its own default with smearing. Only when
//    the input sets nbnd (pw.x's own choice already has empty bands).
//  - out of walltime (max_seconds reached) → never rerun in the same job: it ends `stopped`, and the reason
//    points to `qecloud resume JOB`, which continues from the restart data.
//  - the input's fault (bad_input), a crash, a stop signal, a lost node: never retried.
// Bounded: at most RecoveryPolicy::max_attempts recoveries per job, and never the same edits twice.
#include <functional>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "core/process.hpp"
#include "job/pw_run.hpp"
#include "qe/input_edit.hpp"
#include "qe/results.hpp"

namespace qecloud {

struct RecoveryPolicy {
  bool enabled = true;   // false: --no-recover, QECLOUD_RECOVER=0
  int max_attempts = 3;  // recoveries per job, after the first run
};

// What a finished run left and what the staged input says now (after the edits so far).
struct RecoveryFacts {
  qe::ErrorKind error = qe::ErrorKind::kNone;
  std::string error_message;  // pw.x's, for the notes
  int scf_iterations = 0;     // of the last SCF cycle
  bool interrupted =
      false;  // a stop signal, a lost node or a kill after the grace period: not pw.x's failure
  double mixing_beta = 0.7;               // &electrons mixing_beta (dimensionless), INPUT_PW's default 0.7
  std::string diagonalization = "david";  // &electrons diagonalization, lower case; INPUT_PW's default
  std::optional<int> nbnd;                // &system nbnd, when the input sets it
  bool charge_density = false;  // <outdir>/<prefix>.save/charge-density.{dat,hdf5} exists where every rank
                                // can read it
  std::string job_id;           // for the resume hint
};

// One recovery: the edits for the next attempt and what to tell people (and the job's history).
struct RecoveryStep {
  std::vector<qe::InputEdit> edits;
  std::string note;  // "SCF not converged after 3 iterations: restarting from the last charge density with
                     // mixing_beta 0.7 → 0.49 (recovery 1 of 3)"
  // The job's history line: the note and the edits made ("…; staged input: &electrons mixing_beta = 0.49").
  std::string history() const;
};

struct RecoveryDecision {
  std::optional<RecoveryStep> step;  // the next attempt; nullopt: the run's outcome stands
  std::string reason;  // why not, for the job's message ("automatic recovery is off (--no-recover)");
                       // empty when there was nothing recovery handles (a success, a crash, a bad input)
};

// The next step after a run with `facts`, given the recoveries already made (`tried`, in order).
RecoveryDecision decide_recovery(const RecoveryFacts& facts, std::span<const RecoveryStep> tried,
                                 const RecoveryPolicy& policy);

// The job's message after its last attempt: pw.x's outcome message, then the recoveries made and why
// there was no further one ("convergence NOT achieved …; recoveries tried: …; gave up: …"); a run that
// succeeded after recoveries says "recovered: …".
std::string recovery_message(const std::string& outcome_message, std::span<const RecoveryStep> steps,
                             const std::string& reason);

// The facts of a finished run: its results, and the staged input's text as it is now (unreadable
// namelists leave INPUT_PW's defaults).
RecoveryFacts recovery_facts(const PwRunResult& run, std::string_view input_text, bool charge_density,
                             const std::string& job_id);

// One pw.x run under job/pw_run, rerun while recovery has a step. What the local backend and the main
// node of a multi-node job both call.
struct RecoveringRun {
  PwRun run;             // the first attempt's; each attempt reruns the same command
  std::string input;     // the staged input file (edited between attempts)
  std::string save_dir;  // <outdir>/<prefix>.save, where pw.x leaves the charge density
  // Whether every rank reads this save_dir. pw.x 6.7 reads startingpot='file' on each pool's first rank: on
  // several nodes without a shared filesystem a child's rank stopped (MPI_ABORT) for want of the file
  // (measured on `run --nodes 2`), so there an SCF recovery reruns from scratch with the smaller beta only.
  bool density_on_every_node = true;
  std::string job_id;
  RecoveryPolicy policy;
  // Each recovery as it starts (its note): the caller records it in the job's history and tells people.
  std::function<void(const RecoveryStep&)> on_recovery;
};

struct RecoveredRun {
  PwRunResult last;                 // the last attempt's result; its outcome's message names the recoveries
  std::vector<RecoveryStep> steps;  // the recoveries made, in order
  std::vector<std::string> kept;    // earlier attempts' outputs, renamed (pw.attempt1.out, …): store them
};

// Throws qecloud::Error only when pw.x cannot be started or the staged input cannot be edited.
RecoveredRun run_pw_recovering(const RecoveringRun& rr, const ProgramRunner& runner, const PwRunEvents& ev);

}  // namespace qecloud
