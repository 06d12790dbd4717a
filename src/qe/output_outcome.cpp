// What kind of run a pw.x output is and how it ended. Part of OutputParser (see output_state.hpp).
//
// pw.x never prints `calculation`; its ionic algorithms announce themselves (PW/src/move_ions.f90,
// Modules/bfgs_module.f90, PW/src/dynamics_module.f90, PW/src/vcsmd.f90):
//   relax     "BFGS Geometry Optimization" (fixed cell), "Damped Dynamics Calculation" (proj_verlet),
//             "Minimization using the FIRE algorithm" / "Entering FIRE" (QE >= 7.0)
//   vc-relax  BFGS with "enthalpy" in place of "energy" ("enthalpy new", "Final enthalpy"); vcsmd's
//             "Wentzcovitch|Parrinello-Rahman|Beeman Damped ... Dynamics Minimization:"
//   md        "Molecular Dynamics Calculation" (Verlet), "Over-damped Langevin Dynamics Calculation",
//             "Entering Dynamics:"
//   vc-md     vcsmd's "Entering Dynamics;" (a semicolon) without a minimization header
// and a cell that moves shows as a CELL_PARAMETERS block during the run, "new lattice vectors" (vcsmd), or
// "The G-vectors are recalculated for the final unit cell" (a vc-relax's final SCF). A CELL_PARAMETERS block
// among "Begin final coordinates" proves nothing: damped and FIRE relaxations print one with a fixed cell.
//
// A relaxation that stops at nstep prints "The maximum number of steps has been reached." (BFGS, damped,
// FIRE) or "Maximum number of iterations reached, stopping" (vcsmd); BFGS that gives up prints "bfgs
// failed" (QE >= 7.1) or, before, the message "history already reset at previous step: stopping" and then
// "bfgs converged" all the same. MD runs print the same nstep line as their normal end.
#include "qe/output_state.hpp"
#include "qe/output_text.hpp"

namespace qecloud::qe {

namespace {
using output_text::starts_with;
using std::string_view;

bool has(string_view t, string_view s) {
  return t.find(s) != string_view::npos;
}
}  // namespace

bool OutputParser::State::ionic_line(string_view t) {
  switch (t[0]) {
    case 'D':  // proj_verlet's damped dynamics: a fixed-cell relaxation
      if (!starts_with(t, "Damped Dynamics Calculation")) return false;
      saw_relax = true;
      return true;
    case 'B':
    case 'P':
    case 'W':
      if (starts_with(t, "BFGS Geometry Optimization")) {
        saw_relax = true;
      } else if (has(t, "Dynamics Minimization")) {  // vcsmd's Wentzcovitch/Parrinello-Rahman/Beeman: vc
        saw_relax = saw_variable_cell = true;
      } else {
        return false;
      }
      return true;
    case 'E':
      if (starts_with(t, "Entering FIRE") || starts_with(t, "End of FIRE")) {
        saw_relax = true;
      } else if (starts_with(t, "Entering Dynamics")) {
        saw_dynamics = true;
        if (t.size() > 17 && t[17] == ';') saw_variable_cell = true;  // "Entering Dynamics;" is vcsmd's
      } else {
        return false;
      }
      return true;
    case 'F':
      if (starts_with(t, "FIRE"))
        saw_relax = true;
      else if (starts_with(t, "Final enthalpy") || starts_with(t, "Final grand-enthalpy"))
        saw_variable_cell = true;
      else
        return false;
      return true;
    case 'M':
      if (starts_with(t, "Minimization using the FIRE"))
        saw_relax = true;
      else if (starts_with(t, "Molecular Dynamics Calculation"))
        saw_md = true;
      else if (starts_with(t, "Maximum number of iterations reached"))
        ionic_stop_message = std::string(t);
      else
        return false;
      return true;
    case 'L':
    case 'O':
      if (!has(t, "Langevin Dynamics Calculation")) return false;
      saw_md = true;
      return true;
    case 'T':
      if (starts_with(t, "The maximum number of steps has been reached"))
        ionic_stop_message = std::string(t);
      else if (starts_with(t, "The G-vectors are recalculated for the final unit cell"))
        saw_variable_cell = true;
      else
        return false;
      return true;
    case 'b':
      if (!starts_with(t, "bfgs failed")) return false;
      ionic_stop_message = std::string(t);
      return true;
    case 'e':
    case 'g':
      // BFGS names what it minimizes: "enthalpy new = ..." (QE 7: "enthalpy           new") when the cell
      // moves, "grand-enthalpy" with a fictitious charge particle as well.
      if (!starts_with(t, "enthalpy") && !starts_with(t, "grand-enthalpy")) return false;
      saw_variable_cell = true;
      return true;
    case '(':  // BFGS's "(criteria: energy < ..., force < ..., cell < ...)" names a cell only when it moves
      if (!starts_with(t, "(criteria:") || !has(t, "cell <")) return false;
      saw_variable_cell = true;
      return true;
    case 'n':
      if (!starts_with(t, "new lattice vectors")) return false;
      saw_variable_cell = true;
      return true;
    default:
      return false;
  }
}

void OutputParser::State::classify(Results& out) const {
  if (block == Block::kError && !error_routine.empty() && out.error_kind == ErrorKind::kNone) {
    // The output ends inside an error block (pw.x killed while writing it): classify what we have.
    out.error_kind = output_text::classify_error(error_routine, error_text);
    out.error_message = error_routine + ": " + error_text;
  }
  if (!out.steps.empty() && out.steps.back().forces_ry_bohr.empty())
    out.steps.back().forces_ry_bohr = out.forces_ry_bohr;
  if (saw_relax)
    out.calculation = saw_variable_cell ? "vc-relax" : "relax";
  else if (saw_md || saw_dynamics)
    out.calculation = saw_variable_cell ? "vc-md" : "md";
  else if (saw_bands)
    out.calculation = printed_levels_after_bands ? "nscf" : "bands";
  else
    out.calculation = "scf";
  // Steps are a trajectory: a single-point run (one geometry, even with several hybrid-functional '!') has
  // none.
  if (!saw_relax && !saw_md && !saw_dynamics && ionic_step == 1) out.steps.clear();
  // An SCF cycle the output ends in (max_seconds, a kill): the iterations it printed, one accuracy each.
  if (scf_cycle_open) out.scf_iterations = static_cast<int>(out.scf_accuracy_ry.size());
  if (out.parallel.mpi_processes) {  // pw.x prints no pool or thread line when there is one of each
    if (!out.parallel.pools) out.parallel.pools = 1;
    if (!out.parallel.threads) out.parallel.threads = 1;
  }
  if (unconverged_bands > 0)
    out.warnings.push_back("c_bands: eigenvalues not converged (" + std::to_string(unconverged_bands) +
                           " times)");
  if (unconverged_cycles > 0 && !last_scf_failed)
    out.warnings.push_back("SCF did not converge in " + std::to_string(unconverged_cycles) +
                           " cycle(s) before the last one (scf_must_converge=.false.)");
  if (skipped_long_lines > 0)
    out.warnings.push_back(std::to_string(skipped_long_lines) + " line(s) longer than " +
                           std::to_string(kMaxOutputLineBytes / 1024) + " KiB skipped (not pw.x's)");
  if (program.empty()) out.warnings.push_back("no \"Program PWSCF\" banner: a fragment of a pw.x output?");
  if (out.error_kind != ErrorKind::kNone) return;
  // pw.x prints JOB DONE after a user stop, a time-out or an ionic non-convergence too; the text says which.
  if (!diagonalizer_stop_message.empty()) {
    out.error_kind = ErrorKind::kDiagonalizationFailed, out.error_message = diagonalizer_stop_message;
  } else if (stopped) {
    out.error_kind = ErrorKind::kStoppedByUser, out.error_message = "Program stopped by user request";
  } else if (out_of_time) {
    out.error_kind = ErrorKind::kOutOfWalltime, out.error_message = "Maximum CPU time exceeded (max_seconds)";
  } else if (last_scf_failed) {
    out.error_kind = ErrorKind::kScfNotConverged;
    out.error_message =
        "convergence NOT achieved after " + std::to_string(out.scf_iterations) + " iterations";
  } else if (!crash_message.empty()) {
    out.error_kind = ErrorKind::kCrash, out.error_message = crash_message;
  } else if (saw_relax && !ionic_stop_message.empty()) {
    out.error_kind = ErrorKind::kIonicNotConverged;
    out.error_message = "the relaxation did not converge: " + ionic_stop_message;
  } else if (!out.job_done) {
    out.error_kind = ErrorKind::kIncomplete;
    out.error_message = torn ? "the output ends without JOB DONE, in the middle of a line"
                             : "the output ends without JOB DONE";
  }
}

std::optional<std::string> OutputParser::not_pw_output() const {
  const State& s = *s_;
  if (s.program == "PWSCF") return std::nullopt;
  if (!s.program.empty()) return "it is the output of QE's " + s.program + ", not of pw.x (PWSCF)";
  // No banner at all: a fragment of a pw.x output still has pw.x's own lines.
  const Results& r = s.r;
  if (r.n_atoms || r.n_kpoints || r.total_energy_ry || !r.scf_accuracy_ry.empty()) return std::nullopt;
  return std::string("nothing in it is pw.x's (no \"Program PWSCF\" banner, no SCF, no energy)");
}

}  // namespace qecloud::qe
