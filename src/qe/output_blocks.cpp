// The multi-line blocks of pw.x's output (forces, stress, positions, cells, error boxes, messages) and the
// ionic steps they make up. Part of OutputParser (see output_state.hpp).
#include <algorithm>

#include "qe/output_state.hpp"
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

void OutputParser::State::warn(std::string w) {
  if (r.warnings.size() < kMaxWarnings &&
      std::find(r.warnings.begin(), r.warnings.end(), w) == r.warnings.end())
    r.warnings.push_back(std::move(w));
}

// A converged energy: '!' (or '!!', the final energy of a hybrid-functional run). It opens a step for the
// structure pw.x is working on, unless no structure block came since the last step's energy: then it is the
// same geometry's next energy (a hybrid functional prints one '!' per exchange refinement, QE 6.0 even its
// final one), and it replaces that step's energy.
void OutputParser::State::converged_energy(double e) {
  r.total_energy_ry = e;
  iteration_energy = e;
  if (!r.steps.empty() && !new_geometry) {
    r.steps.back().energy_ry = e;
    return;
  }
  new_geometry = false;
  r.forces_ry_bohr.clear();  // they were the previous geometry's
  IonicStep st;
  st.energy_ry = e;
  st.positions = positions;
  st.labels = labels;
  st.positions_units = positions_units;
  st.cell = cell;
  if (cell) st.cell_units = cell_units;
  st.alat_bohr = alat_bohr;
  r.steps.push_back(std::move(st));
}

void OutputParser::State::geometry_block_starts() {
  new_geometry = true;
  if (!r.steps.empty()) geometry_changed = true;
}

void OutputParser::State::positions_done() {
  if (pending_positions.empty()) return;
  positions = std::move(pending_positions), labels = std::move(pending_labels);
  positions_units = pending_positions_units;
  pending_positions.clear(), pending_labels.clear();
}

void OutputParser::State::error_block_done() {
  block = Block::kNone;
  // A %%%% box without "Error in routine" is a notice (vdW-DF prints its citations in one). The first error
  // wins: a later block (another rank's copy, an MPI note) does not overwrite it.
  if (error_routine.empty() || r.error_kind != ErrorKind::kNone) return;
  r.error_kind = classify_error(error_routine, error_text);
  r.error_message = error_routine + ": " + error_text;
}

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
      // CELL_PARAMETERS rows ("  1.0 0.0 0.0") or the header's crystal axes ("a(1) = ( 1.0 0.0 0.0 )").
      auto v = block == Block::kCell ? vec_after(t, "") : vec_after(t, ") = (");
      if (!v) {
        block = Block::kNone;
        return;
      }
      pending_cell[static_cast<size_t>(block_rows)] = *v;
      if (++block_rows < 3) return;
      block = Block::kNone;
      cell = pending_cell;
      cell_units = pending_cell_units;
      if (pending_cell_alat) alat_bohr = pending_cell_alat;
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
      pending_positions_units = "alat";
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
      if (t.empty()) return;
      warn(message_routine + ": " + std::string(t));
      // QE 6.x's BFGS gives up this way and then prints "bfgs converged" all the same.
      if (message_routine == "bfgs" && t.find("history already reset") != string_view::npos)
        ionic_stop_message = "bfgs: " + std::string(t);
      return;
    case Block::kNone:
      return;
  }
}

}  // namespace qecloud::qe
