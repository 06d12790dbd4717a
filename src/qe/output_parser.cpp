#include "qe/output_parser.hpp"

#include <algorithm>
#include <cmath>

#include "qe/output_text.hpp"

namespace qecloud::qe {

namespace {
using std::string_view;
using namespace output_text;

constexpr size_t kMaxWarnings = 100;       // a pathological output must not grow the results without bound
constexpr size_t kMaxErrorText = 2000;     // characters kept of an error block's message
constexpr int kMaxErrorBlockLines = 40;    // QE's error blocks are a few lines; citation boxes about 20
constexpr int kMaxPositionRows = 1000000;  // rows of one ATOMIC_POSITIONS block we are prepared to keep
}  // namespace

struct OutputParser::State {
  ProgressFn on_progress;
  Results r;

  // Multi-line blocks: the block we are in and how many of its rows we have read.
  enum class Block {
    kNone,
    kForces,
    kStress,
    kPositions,
    kCell,
    kHeaderPositions,
    kHeaderCell,
    kError,
    kMessage
  };
  Block block = Block::kNone;
  int block_rows = 0;
  std::string error_routine, error_text, message_routine;

  // The structure pw.x is working on now; each '!' energy opens a step that records it.
  std::vector<Vec3> positions, pending_positions;
  std::vector<std::string> labels, pending_labels;
  std::string positions_units;
  std::optional<Mat3> cell;
  std::string cell_units;
  std::optional<double> alat_bohr;

  // What kind of run this is (pw.x does not print `calculation`; its headers tell).
  bool saw_relax = false, saw_md = false, saw_dynamics = false, saw_cell_change = false;
  bool saw_bands = false, printed_levels_after_bands = false;
  // How it ended.
  bool stopped = false, out_of_time = false, last_scf_failed = false;
  int unconverged_cycles = 0, unconverged_bands = 0;
  std::string crash_message;
  // Progress: the ionic step pw.x is in, whether the geometry moved since the last energy, and hybrid
  // functionals, whose outer (exchange) loop repeats the SCF cycle, and its '!' energy, for one geometry.
  int ionic_step = 1;
  bool geometry_changed = false, exx_refine_pending = false, exx_cycle_open = false;
  int current_iteration = 0;
  std::optional<double> iteration_energy;

  void emit(ProgressEvent::Kind kind, int iteration, std::optional<double> acc,
            std::optional<double> e) const {
    if (on_progress) on_progress(ProgressEvent{kind, iteration, ionic_step, acc, e});
  }
  void warn(std::string w) {
    if (r.warnings.size() < kMaxWarnings &&
        std::find(r.warnings.begin(), r.warnings.end(), w) == r.warnings.end())
      r.warnings.push_back(std::move(w));
  }

  // A converged energy: '!' (or '!!', the final energy of a hybrid-functional run).
  void converged_energy(double e, bool final_exx) {
    r.total_energy_ry = e;
    iteration_energy = e;
    // A hybrid functional's outer loop prints '!' once per exchange refinement and '!!' at the end, all for
    // one geometry: they update that geometry's step rather than add steps.
    const bool same_geometry = !r.steps.empty() && (final_exx ? exx_cycle_open : exx_refine_pending);
    if (same_geometry) {
      r.steps.back().energy_ry = e;
    } else {
      r.forces_ry_bohr.clear();
      IonicStep st;
      st.energy_ry = e;
      st.positions = positions;
      st.labels = labels;
      st.positions_units = positions_units;
      st.cell = cell;
      st.cell_units = cell_units;
      st.alat_bohr = alat_bohr;
      r.steps.push_back(std::move(st));
    }
    exx_cycle_open = !final_exx;
    exx_refine_pending = false;
  }

  void positions_done() {
    if (pending_positions.empty()) return;
    positions = std::move(pending_positions), labels = std::move(pending_labels);
    pending_positions.clear(), pending_labels.clear();
    if (!r.steps.empty()) geometry_changed = true, exx_cycle_open = false;
  }

  void error_block_done() {
    block = Block::kNone;
    // A %%%% box without "Error in routine" is a notice (vdW-DF prints its citations in one). The first error
    // wins: a later block (another rank's copy, an MPI note) does not overwrite it.
    if (error_routine.empty() || r.error_kind != ErrorKind::kNone) return;
    r.error_kind = classify_error(error_routine, error_text);
    r.error_message = error_routine + ": " + error_text;
  }

  void dynamics_header(string_view t) {
    // "BFGS Geometry Optimization", "Damped Dynamics Calculation", "Wentzcovitch Damped Cell Dynamics
    // Minimization:" are relaxations; "Molecular Dynamics Calculation", "... Cell Dynamics Calculation" MD.
    if (t.find("Dynamics") == string_view::npos && t.find("Optimization") == string_view::npos) return;
    if (t.find("Damped") != string_view::npos || t.find("Minimization") != string_view::npos ||
        t.find("Optimization") != string_view::npos || t.find("FIRE") != string_view::npos)
      saw_relax = true;
    else if (t.find("Dynamics Calculation") != string_view::npos)
      saw_md = true;
    else
      return;
    if (t.find("Cell") != string_view::npos) saw_cell_change = true;
  }

  void feed(string_view line);
  void feed_block(string_view line, string_view t);
  void feed_t(string_view t);
};

void OutputParser::State::feed_block(string_view line, string_view t) {
  switch (block) {
    case Block::kForces:
      if (t.empty()) {
        if (block_rows > 0) block = Block::kNone;
        return;
      }
      if (starts_with(t, "atom ")) {
        if (auto f = vec_after(t, "force =")) r.forces_ry_bohr.push_back(*f), ++block_rows;
        return;
      }
      block = Block::kNone;
      return feed(line);
    case Block::kStress: {
      Vec3 kbar{};
      size_t pos = 0;
      for (int k = 0; k < 6; ++k) {  // Ry/bohr^3 then kbar
        auto v = next_number(t, pos);
        if (!v) {
          block = Block::kNone;
          return;
        }
        if (k >= 3) kbar[static_cast<size_t>(k - 3)] = *v;
      }
      if (block_rows == 0) r.stress_kbar = Mat3{};
      (*r.stress_kbar)[static_cast<size_t>(block_rows)] = kbar;
      if (++block_rows == 3) block = Block::kNone;
      return;
    }
    case Block::kPositions: {
      // "Si  0.0 0.0 0.0 [0 0 0]": a label, three numbers, maybe if_pos flags.
      size_t label_end = t.find_first_of(" \t");
      if (label_end != string_view::npos && block_rows < kMaxPositionRows) {
        size_t pos = label_end;
        auto x = next_number(t, pos), y = next_number(t, pos), z = next_number(t, pos);
        if (x && y && z) {
          pending_labels.emplace_back(t.substr(0, label_end));
          pending_positions.push_back({*x, *y, *z});
          if (++block_rows == r.n_atoms.value_or(-1)) block = Block::kNone, positions_done();
          return;
        }
      }
      block = Block::kNone;
      positions_done();
      return feed(line);
    }
    case Block::kCell:
    case Block::kHeaderCell: {
      auto v = block == Block::kCell ? vec_after(t, "") : vec_after(t, ") = (");
      if (!v) {
        block = Block::kNone;
        return;
      }
      if (block_rows == 0) cell = Mat3{};
      (*cell)[static_cast<size_t>(block_rows)] = *v;
      if (++block_rows == 3) block = Block::kNone;
      return;
    }
    case Block::kHeaderPositions:
      // "1           Si  tau(   1) = (   0.0000000   0.0000000   0.0000000  )"
      if (auto v = vec_after(t, ") = (")) {
        size_t b = t.find_first_of(" \t");
        string_view rest = b == string_view::npos ? string_view{} : trim(t.substr(b));
        pending_labels.emplace_back(rest.substr(0, rest.find_first_of(" \t")));
        pending_positions.push_back(*v);
        return;
      }
      block = Block::kNone;
      positions_units = "alat";
      positions_done();
      return;
    case Block::kError:
      if (starts_with(t, "%%%%")) return error_block_done();
      if (++block_rows > kMaxErrorBlockLines) {  // an unclosed box: give up on it, read on normally
        error_block_done();
        return feed(line);
      }
      if (starts_with(t, "Error in routine")) {
        size_t pos = 16;
        while (pos < t.size() && t[pos] == ' ') ++pos;
        error_routine = std::string(t.substr(pos, t.find_first_of(" (:", pos) - pos));
        if (error_routine.empty()) error_routine = "?";
      } else if (!t.empty() && !starts_with(t, "task #") && error_text.size() < kMaxErrorText) {
        error_text += (error_text.empty() ? "" : " ") + std::string(t.substr(0, kMaxErrorText));
      }
      return;
    case Block::kMessage:
      // infomsg: "Message from routine ROUTINE:" then the message on the next line.
      if (t.empty() && ++block_rows < 2) return;
      block = Block::kNone;
      if (!t.empty()) warn(message_routine + ": " + std::string(t));
      return;
    case Block::kNone:
      return;
  }
}

void OutputParser::State::feed(string_view line) {
  const string_view t = trim(line);
  if (block != Block::kNone) return feed_block(line, t);
  if (!t.empty()) feed_t(t);
}

// One trimmed, non-empty line outside any block. Dispatches on the first character first: most lines of a
// long run are eigenvalues and iteration chatter, which fall through after one comparison.
void OutputParser::State::feed_t(string_view t) {
  switch (t[0]) {
    case '!':
      if (auto e = number_after(t, "total energy")) converged_energy(*e, starts_with(t, "!!"));
      return;
    case '%':
      if (starts_with(t, "%%%%"))
        block = Block::kError, block_rows = 0, error_routine.clear(), error_text.clear();
      return;
    case 'A':
      if (starts_with(t, "ATOMIC_POSITIONS") && (t.size() == 16 || t[16] != ':')) {
        block = Block::kPositions, block_rows = 0;
        pending_positions.clear(), pending_labels.clear();
        const size_t open = t.find_first_of("({");
        positions_units = open == string_view::npos
                              ? "alat"
                              : std::string(trim(t.substr(open + 1, t.find_first_of(")}", open) - open - 1)));
      }
      return;
    case 'C':
      if (starts_with(t, "CELL_PARAMETERS")) {
        block = Block::kCell, block_rows = 0;
        saw_cell_change = true;
        if (auto a = number_after(t, "alat="))
          cell_units = "alat", alat_bohr = *a;
        else
          cell_units = t.find("angstrom") != string_view::npos ? "angstrom"
                       : t.find("bohr") != string_view::npos   ? "bohr"
                                                               : "alat";
      }
      return;
    case 'E':
      if (starts_with(t, "EXX: now go back to refine"))
        exx_refine_pending = true;
      else if (starts_with(t, "Entering Dynamics"))
        saw_dynamics = true;
      return;
    case 'F':
      if (starts_with(t, "Forces acting on atoms"))
        block = Block::kForces, block_rows = 0, r.forces_ry_bohr.clear();
      else
        dynamics_header(t);
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
        dynamics_header(t);
      return;
    case 'N':
      if (starts_with(t, "Number of MPI processes:")) r.parallel.mpi_processes = int_after(t, ":");
      return;
    case 'P':
      if (starts_with(t, "Program PWSCF")) {
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
      } else {
        dynamics_header(t);
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
      }
      return;
    case 'B':
    case 'D':
    case 'L':
    case 'W':
      if (starts_with(t, "Band Structure Calculation"))
        saw_bands = true;
      else
        dynamics_header(t);
      return;
    case 'a':
      if (starts_with(t, "a(1) = (")) {
        block = Block::kHeaderCell, block_rows = 0;
        return feed_block(t, t);
      }
      if (starts_with(t, "absolute magnetization"))
        r.absolute_magnetization = number_after(t, "=");
      else if (starts_with(t, "application called MPI_Abort"))
        crash_message = std::string(t);
      return;
    case 'c':
      if (starts_with(t, "convergence has been achieved in")) {
        r.scf_converged = true, last_scf_failed = false;
        r.scf_iterations = int_after(t, " in ").value_or(current_iteration);
        emit(ProgressEvent::Kind::kScfConverged, r.scf_iterations, {}, r.total_energy_ry);
      } else if (starts_with(t, "convergence NOT achieved")) {
        r.scf_converged = false, last_scf_failed = true, ++unconverged_cycles;
        r.scf_iterations = int_after(t, "after").value_or(current_iteration);
        emit(ProgressEvent::Kind::kScfFailed, r.scf_iterations, {}, {});
      } else if (starts_with(t, "c_bands:") && t.find("not converged") != string_view::npos) {
        ++unconverged_bands;
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
      }
      return;
    case 'h':
      if (saw_bands && starts_with(t, "highest occupied")) printed_levels_after_bands = true;
      return;
    case 'i':
      if (starts_with(t, "iteration #")) {
        auto n = int_after(t, "#");
        if (!n) return;
        current_iteration = *n;
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
      return;
    case 's':
      if (starts_with(t, "site n.") && t.find("alat units") != string_view::npos) {
        block = Block::kHeaderPositions, block_rows = 0;
        pending_positions.clear(), pending_labels.clear();
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
      } else if (starts_with(t, "the Fermi energy is")) {
        r.fermi_energy_ev = number_after(t, " is"), printed_levels_after_bands = saw_bands;
      } else if (starts_with(t, "the spin up/dw Fermi energies are")) {
        r.fermi_energy_ev = number_after(t, "are"), printed_levels_after_bands = saw_bands;
      }
      return;
    default:
      return;
  }
}

OutputParser::OutputParser(ProgressFn on_progress) : s_(std::make_unique<State>()) {
  s_->on_progress = std::move(on_progress);
}
OutputParser::~OutputParser() = default;

void OutputParser::feed(std::string_view line) {
  s_->feed(line);
}

Results OutputParser::finish() const {
  const State& s = *s_;
  Results r = s.r;
  if (s.block == State::Block::kError && !s.error_routine.empty() && r.error_kind == ErrorKind::kNone) {
    // The output ends inside an error block (pw.x killed while writing it): classify what we have.
    r.error_kind = classify_error(s.error_routine, s.error_text);
    r.error_message = s.error_routine + ": " + s.error_text;
  }
  if (!r.steps.empty() && r.steps.back().forces_ry_bohr.empty())
    r.steps.back().forces_ry_bohr = r.forces_ry_bohr;
  if (s.saw_relax)
    r.calculation = s.saw_cell_change ? "vc-relax" : "relax";
  else if (s.saw_md || s.saw_dynamics)
    r.calculation = s.saw_cell_change ? "vc-md" : "md";
  else if (s.saw_bands)
    r.calculation = s.printed_levels_after_bands ? "nscf" : "bands";
  else
    r.calculation = "scf";
  // Steps are a trajectory: a single-point run (one geometry, even with several hybrid-functional '!') has
  // none.
  if (!s.saw_relax && !s.saw_md && !s.saw_dynamics && s.ionic_step == 1) r.steps.clear();
  if (r.parallel.mpi_processes) {  // pw.x prints no pool or thread line when there is one of each
    if (!r.parallel.pools) r.parallel.pools = 1;
    if (!r.parallel.threads) r.parallel.threads = 1;
  }
  if (s.unconverged_bands > 0)
    r.warnings.push_back("c_bands: eigenvalues not converged (" + std::to_string(s.unconverged_bands) +
                         " times)");
  if (s.unconverged_cycles > 0 && !s.last_scf_failed)
    r.warnings.push_back("SCF did not converge in " + std::to_string(s.unconverged_cycles) +
                         " cycle(s) before the last one (scf_must_converge=.false.)");
  if (r.error_kind != ErrorKind::kNone) return r;
  // pw.x prints JOB DONE after a user stop or a time-out too; the text says which it was.
  if (s.stopped) {
    r.error_kind = ErrorKind::kStoppedByUser, r.error_message = "Program stopped by user request";
  } else if (s.out_of_time) {
    r.error_kind = ErrorKind::kOutOfWalltime, r.error_message = "Maximum CPU time exceeded (max_seconds)";
  } else if (s.last_scf_failed) {
    r.error_kind = ErrorKind::kScfNotConverged;
    r.error_message = "convergence NOT achieved after " + std::to_string(r.scf_iterations) + " iterations";
  } else if (!s.crash_message.empty()) {
    r.error_kind = ErrorKind::kCrash, r.error_message = s.crash_message;
  } else if (!r.job_done) {
    r.error_kind = ErrorKind::kIncomplete, r.error_message = "the output ends without JOB DONE";
  }
  return r;
}

}  // namespace qecloud::qe
