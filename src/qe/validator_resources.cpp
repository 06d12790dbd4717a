// The validator's checks of what lies outside the input file: pseudopotential files, and the irreducible
// k-point count of an automatic grid (which needs the lattice, the positions and the symmetry).
#include <filesystem>

#include <fmt/format.h>

#include "core/text.hpp"
#include "qe/kpoints.hpp"
#include "qe/lattice.hpp"
#include "qe/upf.hpp"
#include "qe/validator_checks.hpp"

namespace qecloud::qe::detail {

void check_pseudopotentials(Checks& c) {
  const PwInput& in = c.in;
  PseudoSearch search;
  search.base_dir = c.env.run_dir;
  search.espresso_pseudo = c.env.espresso_pseudo;
  search.home = c.env.home;
  auto dir = in.get_string("control", "pseudo_dir");
  if (dir) {
    search.pseudo_dir = *dir;
    // pw.x falls back to its default directory when pseudo_dir does not exist, and may then run with
    // different pseudopotentials of the same name. Refuse instead.
    if (!directory_exists(*dir, c.env.run_dir)) {
      c.error(c.where("control", "pseudo_dir"),
              fmt::format("pseudo_dir '{}' does not exist (pw.x would silently look in its default directory "
                          "instead)",
                          *dir),
              "pseudo_dir");
      return;
    }
  }
  for (const auto& s : in.species) {
    PseudoNeed need{s.label, s.pseudo_file, "", "", ""};
    c.pseudo_infos.emplace_back();
    auto found = resolve_pseudo(s.pseudo_file, search);
    if (!found) {
      c.error(s.pseudo_loc,
              fmt::format("pseudopotential file '{}' not found in {}", s.pseudo_file, found.error()),
              "ATOMIC_SPECIES");
      c.needs.pseudos.push_back(std::move(need));
      continue;
    }
    need.path = *found;
    auto info = inspect_pseudo(*found);
    if (!info) {
      c.error(s.pseudo_loc, fmt::format("pseudopotential '{}': {}", s.pseudo_file, info.error()),
              "ATOMIC_SPECIES");
    } else {
      need.format = info->format;
      need.element = info->element;
      c.pseudo_infos.back() = *info;
      if (text::starts_with(info->format, "legacy"))
        c.warn(s.pseudo_loc,
               fmt::format("pseudopotential '{}' is not UPF ({}); QE 6.x reads it, QE 7.x does not",
                           s.pseudo_file, info->format),
               "ATOMIC_SPECIES");
      std::string label_element;
      for (char ch : s.label) {
        if (!std::isalpha(static_cast<unsigned char>(ch)) || (label_element.size() == 2)) break;
        if (!label_element.empty() && std::isupper(static_cast<unsigned char>(ch))) break;
        label_element += ch;
      }
      if (!info->element.empty() && !label_element.empty() && !text::iequals(label_element, info->element) &&
          !text::iequals(s.label.substr(0, info->element.size()), info->element))
        c.warn(s.pseudo_loc,
               fmt::format("species '{}' uses a pseudopotential for element '{}'", s.label, info->element),
               "ATOMIC_SPECIES");
    }
    c.needs.pseudos.push_back(std::move(need));
  }
}

void count_kpoints(Checks& c) {
  JobNeeds& n = c.needs;
  if (!n.kpoint_grid) return;
  const PwInput& in = c.in;
  auto note = [&](std::string why) { n.irreducible_kpoints_note = std::move(why); };
  if (in.get_int("system", "space_group").value_or(0) != 0)
    return note("space-group input: pw.x builds the cell and the atoms from the space group");
  auto ibrav = in.get_int("system", "ibrav");
  if (!ibrav) return note("no ibrav");
  std::array<double, 6> celldm{};
  for (int i = 0; i < 6; ++i)
    if (auto v = in.get_real("system", "celldm", {i + 1})) celldm[static_cast<size_t>(i)] = *v;
  if (in.entry("system", "a")) {
    auto get = [&](const char* name) { return in.get_real("system", name).value_or(0.0); };
    celldm = celldm_from_abc(static_cast<int>(*ibrav), get("a"), get("b"), get("c"), get("cosab"),
                             get("cosac"), get("cosbc"));
  }
  Expected<Mat3, std::string> lattice =
      *ibrav == 0 ? (in.cell ? cell_from_parameters(
                                   *in.cell, celldm[0] > 0 ? std::optional<double>(celldm[0]) : std::nullopt)
                             : Expected<Mat3, std::string>(unexpected(std::string("no CELL_PARAMETERS"))))
                  : bravais_lattice(static_cast<int>(*ibrav), celldm);
  if (!lattice) return note(lattice.error());
  double alat = celldm[0] > 0
                    ? celldm[0]
                    : std::sqrt((*lattice)[0][0] * (*lattice)[0][0] + (*lattice)[0][1] * (*lattice)[0][1] +
                                (*lattice)[0][2] * (*lattice)[0][2]);
  auto crystal = to_crystal(in.atoms, in.positions_units, *lattice, alat);
  if (!crystal) return note(crystal.error());
  // Atoms of one species but different starting magnetisation are different for symmetry; pw.x splits
  // nothing further, so species index is the type.
  std::vector<int> types;
  for (const auto& a : in.atoms) {
    int t = 0;
    for (size_t s = 0; s < in.species.size(); ++s)
      if (in.species[s].label == a.label) t = static_cast<int>(s) + 1;
    types.push_back(t);
  }
  // Time reversal (k ≡ -k) holds unless noinv, or the run is noncollinear and magnetic.
  bool magnetic = false;
  for (size_t s = 1; s <= in.species.size(); ++s)
    magnetic =
        magnetic || in.get_real("system", "starting_magnetization", {static_cast<int>(s)}).value_or(0) != 0;
  KpointSymmetry sym;
  sym.time_reversal = !in.get_bool("system", "noinv").value_or(false) && !(n.noncolin && magnetic);
  sym.use_symmetry = !in.get_bool("system", "nosym").value_or(false);
  auto count = irreducible_kpoints_cached(*lattice, *crystal, types, *n.kpoint_grid, *n.kpoint_shift, sym,
                                          c.env.cache_dir.empty() ? "" : c.env.cache_dir + "/kpoints");
  if (!count) return note(count.error());
  n.irreducible_kpoints = *count;
}

}  // namespace qecloud::qe::detail
