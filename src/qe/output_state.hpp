#pragma once
// The streaming pw.x output parser's state, shared by its three parts: the line dispatch
// (output_parser.cpp), the multi-line blocks and ionic steps (output_blocks.cpp), and the run kind and
// outcome (output_outcome.cpp). Internal to qe/: nothing outside the parser includes it.
#include <string>
#include <string_view>
#include <vector>

#include "qe/output_parser.hpp"

namespace qecloud::qe {

// Lines longer than this are not pw.x's (its longest are a few hundred characters): they are skipped with
// a warning, and the file reader never buffers more than this of one line.
inline constexpr size_t kMaxOutputLineBytes = 64 * 1024;

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

  // The structure pw.x is working on now. A block is read into pending_* and becomes the structure only
  // when complete, with the units of the block that printed it: a cut block never half-updates a step.
  std::vector<Vec3> positions, pending_positions;
  std::vector<std::string> labels, pending_labels;
  std::string positions_units, pending_positions_units;
  std::optional<Mat3> cell;
  Mat3 pending_cell{};
  std::string cell_units, pending_cell_units;
  std::optional<double> alat_bohr, pending_cell_alat;
  // A structure block began since the last step's energy: the next '!' energy opens a new step. Without
  // one, a '!' updates the current step (a hybrid functional's inner and outer loops: one geometry).
  bool new_geometry = false;

  // What kind of run this is (pw.x does not print `calculation`; the ionic algorithm's lines tell).
  bool saw_relax = false, saw_md = false, saw_dynamics = false, saw_variable_cell = false;
  bool saw_bands = false, printed_levels_after_bands = false;
  bool in_final_coordinates = false;  // between "Begin final coordinates" and "End final coordinates"
  // How it ended.
  bool stopped = false, out_of_time = false, last_scf_failed = false, torn = false;
  int unconverged_cycles = 0, unconverged_bands = 0, skipped_long_lines = 0;
  std::string crash_message, ionic_stop_message, diagonalizer_stop_message;
  // Which program printed this: the first "Program NAME v.X" banner ("PWSCF" for pw.x).
  std::string program;
  // Progress: the ionic step pw.x is in, whether the geometry moved since the last energy, the SCF
  // iteration, and whether an SCF cycle is open (its iterations counted when the output ends inside it).
  int ionic_step = 1;
  bool geometry_changed = false, scf_cycle_open = false;
  int current_iteration = 0;
  std::optional<double> iteration_energy;

  void emit(ProgressEvent::Kind kind, int iteration, std::optional<double> acc,
            std::optional<double> e) const {
    if (on_progress) on_progress(ProgressEvent{kind, iteration, ionic_step, acc, e});
  }
  void warn(std::string w);

  // output_parser.cpp: one line, inside a block or not.
  void feed(std::string_view line);
  void feed_t(std::string_view t);
  // output_blocks.cpp
  void feed_block(std::string_view line, std::string_view t);
  void converged_energy(double e);
  void geometry_block_starts();
  void positions_done();
  void error_block_done();
  // output_outcome.cpp: the lines that name the ionic algorithm and how it ended (false: not one of them).
  bool ionic_line(std::string_view t);
  void classify(Results& r) const;
};

}  // namespace qecloud::qe
