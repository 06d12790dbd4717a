#pragma once
// Internal to the validator: the state the checks share. Not part of the public API.
#include <string>
#include <vector>

#include "qe/validator.hpp"

namespace qecloud::qe::detail {

struct Checks {
  const PwInput& in;
  const ValidationEnv& env;
  std::vector<Diagnostic>& out;
  JobNeeds& needs;

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
};

void check_namelists(Checks& c);         // validator.cpp: names, types, allowed values, required variables
void check_cards(Checks& c);             // validator_cards.cpp: card rows vs nat/ntyp, species, cell
void check_pseudopotentials(Checks& c);  // validator_cards.cpp
void count_kpoints(Checks& c);           // validator_cards.cpp: irreducible k-points for automatic grids

}  // namespace qecloud::qe::detail
