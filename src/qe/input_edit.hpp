#pragma once
// Changes to a staged copy of a pw.x input: qecloud never edits the file the user wrote; what it changes
// for a run (restart_mode = 'restart' on a resume, max_seconds from a time limit, a recovery's mixing_beta)
// is made on the copy in the work directory and recorded with the job.
//
// An edit sets one variable in one namelist: the assignment pw.x reads (gfortran's namelist read — pw.x's
// read_namelists — lets the last one win) is rewritten where it is; a variable the namelist does not set is
// added just before the namelist's closing '/'. Nothing else of the text changes. A namelist
// the input lacks (an input may omit &ELECTRONS and &IONS) is added in pw.x's order: CONTROL, SYSTEM,
// ELECTRONS, IONS, CELL (QE's INPUT_PW: "namelists must appear in this order").
#include <span>
#include <string>
#include <string_view>

#include "core/expected.hpp"

namespace qecloud::qe {

struct InputEdit {
  std::string namelist;         // lower case, without '&': "control"
  std::string variable;         // lower case: "restart_mode"
  std::string value;            // a Fortran literal as pw.x reads it: "'restart'", "0.49", "1800", ".true."
  std::string why;              // for people and the job's record: "resume from job 20261130-…"
  std::string display() const;  // "&control restart_mode = 'restart'"
};

// The text with each edit applied in order. An error (for people) when a namelist the edit needs cannot be
// found or closed (an unterminated namelist, an unknown namelist name).
Expected<std::string, std::string> apply_edits(std::string_view text, std::span<const InputEdit> edits);

// Reads `path`, applies the edits and writes it back in place (aside, then rename). Throws qecloud::Error
// naming the file when it cannot be read, edited or written.
void edit_input_file(const std::string& path, std::span<const InputEdit> edits);

}  // namespace qecloud::qe
