#pragma once
// Fortran namelist reading as gfortran does it for pw.x: `&name … /`, case-insensitive names, `!` comments,
// values separated by commas, blanks or newlines, indexed names (`celldm(1)`), repeat counts (`3*0.0`),
// logicals written `.true.`/`.t.`/`t`/`true`, reals written `1.0d-8`, quoted strings with doubled quotes.
#include <string>
#include <vector>

#include "core/diagnostic.hpp"
#include "qe/pw_input.hpp"

namespace qecloud::qe {

// True when `line` starts (after blanks) with a pw.x card keyword such as ATOMIC_SPECIES.
bool is_card_line(std::string_view line);

// Reads the namelists of `in.lines` into `in.namelists`, starting at line index 0. Stops at the first line
// that begins a card outside any namelist and returns its index (in.lines.size() when there is none).
// Syntax errors go to `diags`; reading continues after each one.
size_t read_namelists(PwInput& in, std::vector<Diagnostic>& diags);

}  // namespace qecloud::qe
