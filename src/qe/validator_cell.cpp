// The cell as pw.x builds it: system_checkin (a lattice parameter for ibrav != 0), cell_base_init
// (CELL_PARAMETERS only with ibrav = 0, its units against celldm(1)/A), latgen (the ibrav values and the
// celldm each one needs), invmat (a cell of zero volume) and check_atoms (two atoms on one site).
#include <cmath>
#include <string>

#include <fmt/format.h>

#include "qe/lattice.hpp"
#include "qe/validator_checks.hpp"

namespace qecloud::qe::detail {
namespace {

// latgen's messages name the celldm they are about ("ibrav = 4 needs celldm(3) > 0 (c/a)"): point there.
SourceLocation where_celldm(const Checks& c, const std::string& message) {
  size_t p = message.find("celldm(");
  if (p != std::string::npos && p + 7 < message.size() &&
      std::isdigit(static_cast<unsigned char>(message[p + 7])))
    if (c.in.entry("system", "celldm", {message[p + 7] - '0'}))
      return c.where("system", "celldm", {message[p + 7] - '0'});
  return c.where("system", "ibrav");
}

void check_overlaps(Checks& c) {
  const PwInput& in = c.in;
  if (!c.lattice || in.atoms.empty() || static_cast<int>(in.atoms.size()) != c.needs.n_atoms) return;
  // All pairs, as pw.x does; beyond this many atoms that is seconds of work for a check pw.x makes anyway.
  if (in.atoms.size() > 10000) return;
  for (const auto& a : in.atoms)
    if (!a.wyckoff.empty()) return;
  auto crystal = to_crystal(in.atoms, in.positions_units, *c.lattice, c.alat_bohr);
  if (!crystal) return;
  // check_atoms (PW/src/lchk_tauxk.f90): two atoms whose crystal coordinates differ by a lattice vector
  // within 1e-5 are one atom twice.
  constexpr double kAccept = 1e-5;
  const auto& r = *crystal;
  for (size_t i = 0; i < r.size(); ++i)
    for (size_t j = i + 1; j < r.size(); ++j) {
      std::array<long, 3> n{};
      bool same = true;
      for (int k = 0; k < 3 && same; ++k) {
        const double d = r[i][k] - r[j][k];
        n[k] = std::lround(d);
        same = std::abs(d - static_cast<double>(n[k])) < kAccept;
      }
      if (!same) continue;
      const std::string how =
          n == std::array<long, 3>{0, 0, 0}
              ? "are at the same position"
              : fmt::format("differ by the lattice vector ({}, {}, {}): they are one site", n[0], n[1], n[2]);
      c.error(in.atoms[j].loc, fmt::format("atoms {} and {} {} (pw.x stops: check_atoms)", i + 1, j + 1, how),
              "ATOMIC_POSITIONS");
      return;  // one is enough: pw.x stops at the first
    }
}

}  // namespace

void check_cell(Checks& c) {
  const PwInput& in = c.in;
  if (!in.namelist("system")) return;
  const Card* card = in.card("CELL_PARAMETERS");
  const bool given_ibrav = c.is_set("system", "ibrav");
  auto ibrav_value = in.get_int("system", "ibrav");
  if (given_ibrav && !ibrav_value) return;  // a value that did not read: already reported
  // Space-group input: sup_spacegroup sets ibrav from the space group (ibrav may be left out).
  if (in.get_int("system", "space_group").value_or(0) != 0) {
    if (!in.get_real("system", "celldm", {1}) && !in.get_real("system", "a"))
      c.error(c.where("system", "space_group"),
              "space-group input needs the lattice parameter: celldm(1) or A", "celldm");
    return;
  }
  // read_namelists' default ibrav is -1, which latgen calls a nonexistent Bravais lattice.
  if (!given_ibrav) {
    c.error(c.where("system", "ibrav"),
            "missing 'ibrav' in &system: the Bravais lattice index (0 = give CELL_PARAMETERS)", "ibrav");
    return;
  }
  const int ibrav = static_cast<int>(*ibrav_value);
  // iosys: the Makov-Payne correction is defined for cubic lattices only.
  if (auto isolated = in.get_string("system", "assume_isolated");
      isolated && (*isolated == "makov-payne" || *isolated == "m-p" || *isolated == "mp") &&
      (ibrav < 1 || ibrav > 3))
    c.error(c.where("system", "assume_isolated"),
            fmt::format("assume_isolated = '{}' needs a cubic lattice, ibrav = 1, 2 or 3 (iosys); ibrav = {}",
                        *isolated, ibrav),
            "assume_isolated");
  std::array<double, 6> celldm{};
  for (int i = 0; i < 6; ++i)
    celldm[static_cast<size_t>(i)] = in.get_real("system", "celldm", {i + 1}).value_or(0);
  const double a = in.get_real("system", "a").value_or(0);
  if (celldm[0] != 0 && a != 0) {
    c.error(c.where("system", "a"), "give either celldm(1..6) or A, B, C, cosAB, cosAC, cosBC, not both",
            "a");
    return;
  }
  if (ibrav == 0) {
    if (!card)
      return c.error(c.where("system", "ibrav"), "ibrav = 0 needs a CELL_PARAMETERS card", "CELL_PARAMETERS");
    if (!in.cell) return;  // malformed card: already reported
    const std::string& units = in.cell->units;
    const bool lattice_parameter = celldm[0] != 0 || a != 0;
    if ((units == "bohr" || units == "angstrom") && lattice_parameter)
      return c.error(card->loc,
                     fmt::format("CELL_PARAMETERS {{{}}} with celldm(1) or A: the lattice parameter is given "
                                 "twice (cell_base_init)",
                                 units),
                     "CELL_PARAMETERS");
    if (units == "alat" && !lattice_parameter)
      return c.error(card->loc, "CELL_PARAMETERS {alat} needs celldm(1) or A for the lattice parameter",
                     "CELL_PARAMETERS");
    std::optional<double> alat;
    if (celldm[0] != 0) alat = celldm[0];
    if (a != 0) alat = a / kBohrAngstrom;
    auto m = cell_from_parameters(*in.cell, alat);
    if (!m) return c.error(card->loc, fmt::format("{} (pw.x stops in invmat)", m.error()), "CELL_PARAMETERS");
    c.lattice = *m;
    c.alat_bohr =
        alat ? *alat : std::sqrt((*m)[0][0] * (*m)[0][0] + (*m)[0][1] * (*m)[0][1] + (*m)[0][2] * (*m)[0][2]);
  } else {
    if (card)
      return c.error(
          card->loc,
          fmt::format("CELL_PARAMETERS is given but ibrav = {}: pw.x stops ('redundant data for cell "
                      "parameters'); use ibrav = 0 or remove the card",
                      ibrav),
          "CELL_PARAMETERS");
    if (celldm[0] == 0 && a == 0)
      return c.error(
          c.where("system", "ibrav"),
          fmt::format("ibrav = {} needs the lattice parameter: celldm(1) in bohr or A in angstrom", ibrav),
          "celldm");
    const bool abc = a != 0;
    if (abc) {
      auto get = [&](const char* name) { return in.get_real("system", name).value_or(0.0); };
      celldm = celldm_from_abc(ibrav, a, get("b"), get("c"), get("cosab"), get("cosac"), get("cosbc"));
    }
    auto m = bravais_lattice(ibrav, celldm);
    if (!m)
      return c.error(where_celldm(c, m.error()),
                     fmt::format("{}{} (pw.x stops in latgen)", m.error(),
                                 abc ? " (celldm as pw.x computes it from A, B, C and the cosines)" : ""),
                     "ibrav");
    c.lattice = *m;
    c.alat_bohr = celldm[0];
  }
  check_overlaps(c);
}

}  // namespace qecloud::qe::detail
