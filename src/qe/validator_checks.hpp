#pragma once
// Internal to the validator: the state the checks share. Not part of the public API.
#include <optional>
#include <string>
#include <vector>

#include "qe/pw_schema.hpp"
#include "qe/upf.hpp"
#include "qe/validator.hpp"

namespace qecloud::qe::detail {

struct Checks {
  const PwInput& in;
  const ValidationEnv& env;
  std::vector<Diagnostic>& out;
  JobNeeds& needs;
  // The cell as pw.x builds it (bohr, rows a1 a2 a3) and alat (bohr), once check_cell found it well formed.
  std::optional<Mat3> lattice;
  double alat_bohr = 0;
  // What each ATOMIC_SPECIES row's pseudopotential says (valence, functional), in row order; nullopt when
  // the file was not found or not readable.
  std::vector<std::optional<PseudoInfo>> pseudo_infos;

  void error(SourceLocation loc, std::string msg, std::string field = {}) {
    out.push_back(in.diag(loc, std::move(msg), Severity::kError, std::move(field)));
  }
  void warn(SourceLocation loc, std::string msg, std::string field = {}) {
    out.push_back(in.diag(loc, std::move(msg), Severity::kWarning, std::move(field)));
  }
  // Where to point for a variable: its assignment, else its namelist, else the top of the file.
  SourceLocation where(std::string_view nl, std::string_view name, std::vector<int> index = {}) const {
    if (const auto* e = in.entry(nl, name, index)) return e->loc;
    if (const auto* n = in.namelist(nl)) return n->loc;
    return {1, 0};
  }
  // The release the input is judged for (major*100+minor), or nullopt: any release of the table.
  std::optional<int> release() const {
    return env.qe_version ? std::optional<int>(env.qe_version->code()) : std::nullopt;
  }
  // "; the pw.x that will run this is 6.7 (/usr/bin/pw.x)", for messages about a release mismatch.
  std::string judged_for() const;
  // True when the variable is set in the namelist (whatever its value, even one that did not parse).
  bool is_set(std::string_view nl, std::string_view name) const;
};

void check_namelists(Checks& c);         // validator_namelists.cpp: names, types, values, releases
void check_cards(Checks& c);             // validator_cards.cpp: card rows vs nat/ntyp, species, releases
void check_cell(Checks& c);              // validator_cell.cpp: the lattice (latgen, cell_base_init), overlaps
void check_pseudopotentials(Checks& c);  // validator_resources.cpp
void check_electrons(Checks& c);         // validator_electrons.cpp: spin, occupations, bands, cutoffs, XC
void count_kpoints(Checks& c);           // validator_resources.cpp: irreducible k-points for automatic grids

}  // namespace qecloud::qe::detail
