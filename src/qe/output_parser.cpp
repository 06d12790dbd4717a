// The line dispatch of the streaming pw.x output parser: one trimmed line at a time, on its first character.
// Blocks and steps: output_blocks.cpp; run kind and outcome: output_outcome.cpp.
#include "qe/output_parser.hpp"

#include <cmath>

#include "qe/output_state.hpp"
#include "qe/output_text.hpp"

namespace qecloud::qe {

namespace {
using std::string_view;
using namespace output_text;

bool ends_with(string_view s, string_view suffix) {
  return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

// "Program PWSCF v.6.7MaX starts on ..." (QE 4.x: "Program PWSCF     v.4.0    starts ...") → "PWSCF": the
// banner every QE program prints first. Not "Program stopped by user request" nor "Program received signal":
// a banner's name is followed by its version, "v.".
string_view banner_program(string_view t) {
  const string_view rest = trim(t.substr(7));
  const size_t end = rest.find(' ');
  if (end == string_view::npos || end == 0 || !starts_with(trim(rest.substr(end)), "v.")) return {};
  return rest.substr(0, end);
}
}  // namespace

void OutputParser::State::feed(string_view line) {
  if (line.size() > kMaxOutputLineBytes) {  // not pw.x's: never read as data
    ++skipped_long_lines;
    return;
  }
  const string_view t = trim(line);
  if (block != Block::kNone) return feed_block(line, t);
  if (!t.empty()) feed_t(t);
}

// One trimmed, non-empty line outside any block. Dispatches on the first character first: most lines of a
// long run are eigenvalues and iteration chatter, which fall through after one comparison.
void OutputParser::State::feed_t(string_view t) {
  switch (t[0]) {
    case '!':
      // "!    total energy  =  -15.84452726 Ry" ('!!': a hybrid functional's final energy). The unit must
      // close the line: a line cut inside the number is not an energy.
      if (ends_with(t, "Ry"))
        if (auto e = number_after(t, "total energy")) converged_energy(*e);
      return;
    case '%':
      if (starts_with(t, "%%%%"))
        block = Block::kError, block_rows = 0, error_routine.clear(), error_text.clear();
      return;
    case '[':
      if (starts_with(t, "[Q, R] = qr(X, 0) failed")) diagonalizer_stop_message = "ppcg: " + std::string(t);
      return;
    case 'A':
      if (starts_with(t, "ATOMIC_POSITIONS") && (t.size() == 16 || t[16] != ':')) {
        block = Block::kPositions, block_rows = 0;
        pending_positions.clear(), pending_labels.clear();
        const size_t open = t.find_first_of("({");
        pending_positions_units =
            open == string_view::npos
                ? "alat"
                : std::string(trim(t.substr(open + 1, t.find_first_of(")}", open) - open - 1)));
        geometry_block_starts();
      }
      return;
    case 'B':
      if (starts_with(t, "Begin final coordinates"))
        in_final_coordinates = true;
      else if (starts_with(t, "Band Structure Calculation"))
        saw_bands = true;
      else
        ionic_line(t);
      return;
    case 'C':
      if (starts_with(t, "CELL_PARAMETERS")) {
        block = Block::kCell, block_rows = 0;
        // Every relaxation prints a cell among its final coordinates (damped and FIRE ones too): only a cell
        // printed during the run says the cell moves.
        if (!in_final_coordinates) saw_variable_cell = true;
        pending_cell_alat.reset();
        if (auto a = number_after(t, "alat="))
          pending_cell_units = "alat", pending_cell_alat = *a;
        else
          pending_cell_units = t.find("angstrom") != string_view::npos ? "angstrom"
                               : t.find("bohr") != string_view::npos   ? "bohr"
                                                                       : "alat";
        geometry_block_starts();
      }
      return;
    case 'E':
      if (starts_with(t, "End final coordinates"))
        in_final_coordinates = false;
      else if (starts_with(t, "ELPA") && t.find("Aborting") != string_view::npos)
        diagonalizer_stop_message = std::string(t);
      else
        ionic_line(t);
      return;
    case 'F':
      if (starts_with(t, "Forces acting on atoms"))
        block = Block::kForces, block_rows = 0, r.forces_ry_bohr.clear();
      else
        ionic_line(t);
      return;
    case 'J':
      if (starts_with(t, "JOB DONE")) r.job_done = true, emit(ProgressEvent::Kind::kJobDone, 0, {}, {});
      return;
    case 'K':
      if (starts_with(t, "K-points division")) r.parallel.pools = int_after(t, "npool");
      return;
    case 'M':
      if (starts_with(t, "MPI processes distributed on"))
        r.parallel.nodes = int_after(t, " on ");
      else if (starts_with(t, "Message from routine")) {
        block = Block::kMessage, block_rows = 0;
        string_view routine = trim(t.substr(20));
        while (!routine.empty() && (routine.back() == ':' || routine.back() == ' ')) routine.remove_suffix(1);
        message_routine = std::string(routine);
      } else if (starts_with(t, "Maximum CPU time exceeded"))
        out_of_time = true;
      else if (starts_with(t, "MPI_ABORT was invoked"))
        crash_message = std::string(t);
      else
        ionic_line(t);
      return;
    case 'N':
      if (starts_with(t, "Number of MPI processes:")) r.parallel.mpi_processes = int_after(t, ":");
      return;
    case 'P':
      if (starts_with(t, "Program ") && program.empty() && !banner_program(t).empty()) {
        program = std::string(banner_program(t));
        if (auto v = t.find(" v."); v != string_view::npos) {
          string_view rest = t.substr(v + 3);
          rest = rest.substr(0, rest.find_first_of(" \t"));
          if (!rest.empty()) r.qe_version = std::string(rest);
        }
      } else if (starts_with(t, "Parallel version")) {
        r.parallel.mpi_processes = int_after(t, "running on");
      } else if (starts_with(t, "PWSCF") && t.find(':') != string_view::npos) {
        // "PWSCF : 1.50s CPU 1.90s WALL"; QE 4.x: "PWSCF : 4.61s CPU time, 4.79s wall time"
        const size_t colon = t.find(':'), cpu = t.find("CPU", colon);
        size_t wall = t.find("WALL", colon);
        if (wall == string_view::npos) wall = t.find("wall", colon);
        if (cpu != string_view::npos && wall != string_view::npos && wall > cpu) {
          r.cpu_time_s = duration(t.substr(colon + 1, cpu - colon - 1));
          r.wall_time_s = duration(t.substr(cpu + 3, wall - cpu - 3));
        }
      } else if (starts_with(t, "Program stopped by user request")) {
        stopped = true;
      } else if (starts_with(t, "Program received signal")) {
        crash_message = std::string(t);
      } else if (starts_with(t, "Problem") && t.find("ELPA") != string_view::npos) {
        diagonalizer_stop_message = std::string(t);
      } else {
        ionic_line(t);
      }
      return;
    case 'S':
      if (starts_with(t, "Serial") && t.find("version") != string_view::npos) r.parallel.mpi_processes = 1;
      return;
    case 'T':
      if (starts_with(t, "Total force =")) {
        r.total_force_ry_bohr = number_after(t, "=");
        if (!r.steps.empty()) r.steps.back().forces_ry_bohr = r.forces_ry_bohr;
      } else if (starts_with(t, "Threads/MPI process:")) {
        r.parallel.threads = int_after(t, ":");
      } else {
        ionic_line(t);
      }
      return;
    case '(':
    case 'D':
    case 'L':
    case 'O':
    case 'W':
    case 'b':
    case 'g':
      ionic_line(t);
      return;
    case 'a':
      if (starts_with(t, "a(1) = (")) {
        block = Block::kHeaderCell, block_rows = 0;
        pending_cell_units = "alat", pending_cell_alat.reset();  // the header's axes: alat units
        return feed_block(t, t);
      }
      if (starts_with(t, "absolute magnetization"))
        r.absolute_magnetization = number_after(t, "=");
      else if (starts_with(t, "application called MPI_Abort"))
        crash_message = std::string(t);
      return;
    case 'c':
      if (starts_with(t, "convergence has been achieved in")) {
        r.scf_converged = true, last_scf_failed = false, scf_cycle_open = false;
        r.scf_iterations = int_after(t, " in ").value_or(current_iteration);
        emit(ProgressEvent::Kind::kScfConverged, r.scf_iterations, {}, r.total_energy_ry);
      } else if (starts_with(t, "convergence NOT achieved")) {
        r.scf_converged = false, last_scf_failed = true, scf_cycle_open = false, ++unconverged_cycles;
        r.scf_iterations = int_after(t, "after").value_or(current_iteration);
        emit(ProgressEvent::Kind::kScfFailed, r.scf_iterations, {}, {});
      } else if (starts_with(t, "c_bands:") && t.find("not converged") != string_view::npos) {
        ++unconverged_bands;
      } else if (starts_with(t, "celldm(1)=")) {
        // alat to six decimals (the "lattice parameter (alat)" line has four): what alat units multiply.
        if (auto a = number_after(t, "="); a && *a > 0) alat_bohr = *a;
      }
      return;
    case 'e':
      if (starts_with(t, "estimated scf accuracy")) {
        size_t pos = t.find_first_of("<=");
        if (pos == string_view::npos) return;
        if (auto acc = next_number(t, ++pos)) {
          r.scf_accuracy_ry.push_back(*acc);
          emit(ProgressEvent::Kind::kScfIteration, current_iteration, acc, iteration_energy);
        }
      } else {
        ionic_line(t);
      }
      return;
    case 'h':
      if (saw_bands && starts_with(t, "highest occupied")) printed_levels_after_bands = true;
      return;
    case 'i':
      if (starts_with(t, "iteration #")) {
        auto n = int_after(t, "#");
        if (!n) return;
        current_iteration = *n, scf_cycle_open = true;
        iteration_energy.reset();
        if (current_iteration == 1) {  // a new SCF cycle: its convergence history starts afresh
          r.scf_accuracy_ry.clear();
          r.scf_converged = false, r.scf_iterations = 0;
          if (geometry_changed) {
            geometry_changed = false, ++ionic_step;
            emit(ProgressEvent::Kind::kIonicStep, 0, {}, {});
          }
        }
      }
      return;
    case 'l':
      if (starts_with(t, "lattice parameter (alat)")) alat_bohr = number_after(t, "=");
      return;
    case 'n':
      if (starts_with(t, "number of atoms/cell"))
        r.n_atoms = int_after(t, "=");
      else if (starts_with(t, "number of k points="))
        r.n_kpoints = int_after(t, "=");
      else
        ionic_line(t);
      return;
    case 's':
      if (starts_with(t, "site n.") && t.find("alat units") != string_view::npos) {
        block = Block::kHeaderPositions, block_rows = 0;
        pending_positions.clear(), pending_labels.clear();
        geometry_block_starts();
      }
      return;
    case 't':
      if (starts_with(t, "total energy")) {
        if (t.find('=') != string_view::npos) iteration_energy = number_after(t, "=");
      } else if (starts_with(t, "total   stress")) {
        r.pressure_kbar = number_after(t, "P=");
        block = Block::kStress, block_rows = 0;
      } else if (starts_with(t, "total magnetization")) {
        // Collinear: one number; non-collinear: a vector, of which the contract keeps the length.
        size_t pos = t.find('=');
        if (pos == string_view::npos) return;
        double sq = 0;
        int n = 0;
        std::optional<double> first;
        for (auto v = next_number(t, pos); v && n < 3; v = next_number(t, pos)) {
          if (!first) first = v;
          sq += *v * *v, ++n;
        }
        r.total_magnetization = n == 3 ? std::optional<double>(std::sqrt(sq)) : first;
      } else if (starts_with(t, "the Fermi energy is") && ends_with(t, "ev")) {
        r.fermi_energy_ev = number_after(t, " is"), printed_levels_after_bands = saw_bands;
        r.fermi_energy_up_ev.reset(), r.fermi_energy_down_ev.reset();
      } else if (starts_with(t, "the spin up/dw Fermi energies are") && ends_with(t, "ev")) {
        // Fixed total magnetization: one Fermi energy per spin, and no single one.
        size_t pos = t.find(" are") + 4;
        auto up = next_number(t, pos), down = next_number(t, pos);
        if (up && down) r.fermi_energy_up_ev = up, r.fermi_energy_down_ev = down, r.fermi_energy_ev.reset();
        printed_levels_after_bands = saw_bands;
      }
      return;
    default:
      return;
  }
}

OutputParser::OutputParser(ProgressFn on_progress) : s_(std::make_unique<State>()) {
  s_->on_progress = std::move(on_progress);
}
OutputParser::OutputParser(const OutputParser& other) : s_(std::make_unique<State>(*other.s_)) {}
OutputParser::~OutputParser() = default;

void OutputParser::feed(std::string_view line) {
  s_->feed(line);
}

void OutputParser::feed_partial(std::string_view tail) {
  const string_view t = trim(tail);
  if (t.empty()) return;  // only blanks were cut: nothing is lost
  s_->torn = true;
  s_->warn("the output ends in the middle of a line, which was not read: \"" + std::string(t.substr(0, 80)) +
           (t.size() > 80 ? "…\"" : "\""));
}

Results OutputParser::finish() const {
  Results r = s_->r;
  s_->classify(r);
  return r;
}

}  // namespace qecloud::qe
