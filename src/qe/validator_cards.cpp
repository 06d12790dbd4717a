// Card checks: rows against nat/ntyp, species declared and used, the cell. Pseudopotentials and k-points
// live in validator_resources.cpp.
#include <algorithm>
#include <map>

#include <fmt/format.h>

#include "core/text.hpp"
#include "qe/validator_checks.hpp"

namespace qecloud::qe::detail {
namespace {

void check_species(Checks& c) {
  const PwInput& in = c.in;
  const Card* card = in.card("ATOMIC_SPECIES");
  if (!card)
    return c.error({1, 0},
                   "missing card ATOMIC_SPECIES (one row per species: label, mass, "
                   "pseudopotential file)",
                   "ATOMIC_SPECIES");
  const int ntyp = c.needs.n_species;
  const int rows = static_cast<int>(card->rows.size());
  if (ntyp > 0 && rows != ntyp)
    c.error(card->loc,
            fmt::format("ATOMIC_SPECIES has {} row{} but ntyp = {}", rows, rows == 1 ? "" : "s", ntyp),
            "ATOMIC_SPECIES");
  std::map<std::string, int> seen;
  for (const auto& s : in.species) {
    if (auto [it, fresh] = seen.emplace(s.label, s.loc.line); !fresh)
      c.error(s.loc, fmt::format("species '{}' is declared twice (first at line {})", s.label, it->second),
              "ATOMIC_SPECIES");
    // QE 6.x keeps 3 characters of a label; longer ones collide silently ("Fe_up" and "Fe_dw" -> "Fe_").
    if (s.label.size() > 3)
      c.warn(s.loc,
             fmt::format("species label '{}' is longer than 3 characters; QE 6.x truncates it to '{}'",
                         s.label, s.label.substr(0, 3)),
             "ATOMIC_SPECIES");
    if (s.mass < 0)
      c.error(s.loc, fmt::format("mass of '{}' must not be negative", s.label), "ATOMIC_SPECIES");
  }
}

void check_positions(Checks& c) {
  const PwInput& in = c.in;
  const Card* card = in.card("ATOMIC_POSITIONS");
  if (!card)
    return c.error({1, 0}, "missing card ATOMIC_POSITIONS (one row per atom: label x y z)",
                   "ATOMIC_POSITIONS");
  const int nat = c.needs.n_atoms;
  const int rows = static_cast<int>(card->rows.size());
  if (nat > 0 && rows != nat)
    c.error(card->loc,
            fmt::format("ATOMIC_POSITIONS has {} row{} but nat = {}", rows, rows == 1 ? "" : "s", nat),
            "ATOMIC_POSITIONS");
  if (card->option.empty())
    c.warn(card->loc,
           "ATOMIC_POSITIONS without units: pw.x assumes alat (deprecated); write "
           "ATOMIC_POSITIONS {alat}",
           "ATOMIC_POSITIONS");
  if (card->option == "crystal_sg" && !in.entry("system", "space_group"))
    c.error(card->option_loc, "ATOMIC_POSITIONS {crystal_sg} needs 'space_group' in &system", "space_group");
  std::vector<std::string_view> labels;
  for (const auto& s : in.species) labels.push_back(s.label);
  for (const auto& a : in.atoms) {
    if (std::find(labels.begin(), labels.end(), a.label) != labels.end()) continue;
    if (in.species.empty()) break;
    std::string hint = text::closest_match(a.label, labels);
    c.error(a.loc,
            fmt::format("species '{}' is not declared in ATOMIC_SPECIES{}", a.label,
                        hint.empty() ? "" : fmt::format(" (did you mean '{}'?)", hint)),
            "ATOMIC_POSITIONS");
  }
  for (const auto& s : in.species) {
    bool used =
        std::any_of(in.atoms.begin(), in.atoms.end(), [&](const Atom& a) { return a.label == s.label; });
    if (!used && !in.atoms.empty())
      c.warn(s.loc, fmt::format("species '{}' is declared but no atom uses it", s.label), "ATOMIC_SPECIES");
  }
  for (const auto& a : in.atoms)
    for (int f : a.if_pos)
      if (f != 0 && f != 1) {
        c.error(a.loc, "fixed-coordinate flags (if_pos) must be 0 or 1", "ATOMIC_POSITIONS");
        break;
      }
}

void check_cell_and_kpoints(Checks& c) {
  const PwInput& in = c.in;
  auto ibrav = in.get_int("system", "ibrav");
  if (ibrav && *ibrav == 0 && !in.card("CELL_PARAMETERS"))
    c.error(c.where("system", "ibrav"), "ibrav = 0 needs a CELL_PARAMETERS card", "CELL_PARAMETERS");
  if (const Card* cell = in.card("CELL_PARAMETERS"); cell && ibrav && *ibrav != 0)
    c.warn(cell->loc, fmt::format("CELL_PARAMETERS is given but ibrav = {}; pw.x uses ibrav", *ibrav),
           "CELL_PARAMETERS");
  if (in.cell && in.cell->units == "alat" && !in.entry("system", "celldm", {1}) && !in.entry("system", "a"))
    c.error(in.cell->loc, "CELL_PARAMETERS {alat} needs celldm(1) or A for the lattice parameter",
            "CELL_PARAMETERS");
  const Card* k = in.card("K_POINTS");
  if (!k) c.warn({1, 0}, "no K_POINTS card: pw.x uses the Gamma point only", "K_POINTS");
  if (in.kpoints) {
    c.needs.kpoints_mode = in.kpoints->mode;
    if (in.kpoints->mode == "automatic") {
      c.needs.kpoint_grid = in.kpoints->grid;
      c.needs.kpoint_shift = in.kpoints->shift;
    } else if (in.kpoints->mode == "gamma") {
      c.needs.kpoints_listed = 1;
    } else {
      c.needs.kpoints_listed = static_cast<int>(in.kpoints->list.size());
    }
  } else if (!k) {
    c.needs.kpoints_mode = "gamma";
    c.needs.kpoints_listed = 1;
  }
  if (const Card* occ = in.card("OCCUPATIONS"); occ) {
    auto o = in.get_string("system", "occupations");
    if (!o || text::to_lower(*o) != "from_input")
      c.warn(occ->loc, "OCCUPATIONS card is ignored unless occupations = 'from_input'", "OCCUPATIONS");
  }
  if (const Card* cons = in.card("CONSTRAINTS"); cons && !cons->rows.empty()) {
    auto n = text::parse_int(cons->rows[0][0].text);
    if (!n)
      c.error(cons->rows[0][0].loc, "CONSTRAINTS must start with the number of constraints", "CONSTRAINTS");
    else if (static_cast<size_t>(*n) + 1 != cons->rows.size())
      c.error(cons->loc,
              fmt::format("CONSTRAINTS says {} constraint{} but lists {}", *n, *n == 1 ? "" : "s",
                          cons->rows.size() - 1),
              "CONSTRAINTS");
  }
}

}  // namespace

void check_cards(Checks& c) {
  check_species(c);
  check_positions(c);
  check_cell_and_kpoints(c);
}

}  // namespace qecloud::qe::detail
