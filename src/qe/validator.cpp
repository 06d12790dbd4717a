#include "qe/validator.hpp"

#include <algorithm>
#include <array>
#include <cstdlib>
#include <filesystem>

#include <fmt/format.h>

#include "core/error.hpp"
#include "core/text.hpp"
#include "qe/pw_schema.hpp"
#include "qe/validator_checks.hpp"

namespace qecloud::qe {
namespace detail {
namespace {

// pw.x reads its namelists in this order with Fortran READ statements: a namelist out of order is skipped
// over while looking for an earlier one and then never found.
constexpr std::array<std::string_view, 7> kNamelistOrder{"control", "system", "electrons", "ions",
                                                         "cell",    "fcp",    "rism"};

// Arrays indexed by species: the index must not exceed ntyp.
constexpr std::array<std::string_view, 14> kPerSpecies{"starting_magnetization",
                                                       "angle1",
                                                       "angle2",
                                                       "hubbard_u",
                                                       "hubbard_j0",
                                                       "hubbard_alpha",
                                                       "hubbard_beta",
                                                       "starting_charge",
                                                       "london_c6",
                                                       "london_rvdw",
                                                       "hubbard_u_back",
                                                       "hubbard_alpha_back",
                                                       "lback",
                                                       "l1back"};

bool needs_ions(std::string_view calc) {
  return calc == "relax" || calc == "md" || calc == "vc-relax" || calc == "vc-md";
}
bool needs_cell(std::string_view calc) {
  return calc == "vc-relax" || calc == "vc-md";
}

std::string join(const std::vector<std::string_view>& v) {
  std::string s;
  for (size_t i = 0; i < v.size(); ++i) s += (i ? ", " : "") + std::string(v[i]);
  return s;
}

void check_order_and_presence(Checks& c) {
  int last = -1;
  std::string last_name;
  for (const auto& nl : c.in.namelists) {
    auto it = std::find(kNamelistOrder.begin(), kNamelistOrder.end(), nl.name);
    if (it == kNamelistOrder.end()) {
      std::vector<std::string_view> known(kNamelistOrder.begin(), kNamelistOrder.end());
      std::string hint = text::closest_match(nl.name, known);
      c.error(nl.loc, fmt::format("unknown namelist &{}{}", nl.name,
                                  hint.empty() ? "" : fmt::format(" (did you mean &{}?)", hint)));
      continue;
    }
    int pos = static_cast<int>(it - kNamelistOrder.begin());
    for (const auto& other : c.in.namelists) {
      if (&other == &nl) break;
      if (other.name == nl.name) {
        c.error(nl.loc,
                fmt::format("namelist &{} appears twice (first at line {})", nl.name, other.loc.line));
        break;
      }
    }
    if (pos < last)
      c.error(nl.loc, fmt::format("namelist &{} must come before &{}: pw.x reads them in the order "
                                  "&CONTROL, &SYSTEM, &ELECTRONS, &IONS, &CELL",
                                  nl.name, last_name));
    if (pos > last) last = pos, last_name = nl.name;
  }
  auto misspelt = [&](std::string_view name) {
    std::vector<std::string_view> known(kNamelistOrder.begin(), kNamelistOrder.end());
    for (const auto& nl : c.in.namelists)
      if (!is_known_namelist(nl.name) && text::closest_match(nl.name, known) == name) return true;
    return false;
  };
  for (std::string_view required : {"control", "system", "electrons"})
    if (!c.in.namelist(required) && !misspelt(required))
      c.error({1, 0}, fmt::format("missing namelist &{} (pw.x needs &CONTROL, &SYSTEM and &ELECTRONS, "
                                  "even when empty)",
                                  required));
  const std::string calc = c.needs.calculation;
  if (needs_ions(calc) && !c.in.namelist("ions"))
    c.error(c.where("control", "calculation"),
            fmt::format("calculation = '{}' needs a &IONS namelist after &ELECTRONS", calc), "calculation");
  if (needs_cell(calc) && !c.in.namelist("cell"))
    c.error(c.where("control", "calculation"),
            fmt::format("calculation = '{}' needs a &CELL namelist after &IONS", calc), "calculation");
}

bool type_matches(VarType t, ValueKind k) {
  switch (t) {
    case VarType::kInteger:
      return k == ValueKind::kInteger;
    case VarType::kReal:
      return k == ValueKind::kReal || k == ValueKind::kInteger;
    case VarType::kLogical:
      return k == ValueKind::kLogical;
    case VarType::kCharacter:
      return k == ValueKind::kString;
  }
  return false;
}

const char* type_name(VarType t) {
  switch (t) {
    case VarType::kInteger:
      return "an integer";
    case VarType::kReal:
      return "a real number";
    case VarType::kLogical:
      return "a logical (.true. or .false.)";
    case VarType::kCharacter:
      return "a quoted string";
  }
  return "a value";
}

void check_entry(Checks& c, const Namelist& nl, const NamelistEntry& e) {
  const PwVariable* var = find_pw_variable(nl.name, e.name);
  if (!var) {
    if (auto home = namelist_of(e.name))
      return c.error(e.loc, fmt::format("'{}' belongs in &{}, not &{}", e.name, *home, nl.name), e.name);
    std::string hint = text::closest_match(e.name, pw_variable_names(nl.name));
    return c.error(e.loc,
                   fmt::format("unknown variable '{}' in &{}{}", e.name, nl.name,
                               hint.empty() ? "" : fmt::format(" (did you mean '{}'?)", hint)),
                   e.name);
  }
  // Indices: scalars take none; arrays take `rank` of them, each within its bound.
  if (!e.index.empty()) {
    if (var->rank == 0)
      return c.error(e.loc, fmt::format("'{}' is not an array; write '{} = …'", e.display(), e.name), e.name);
    if (static_cast<int>(e.index.size()) != var->rank)
      return c.error(e.loc,
                     fmt::format("'{}' takes {} ind{}, got {}", e.name, var->rank,
                                 var->rank == 1 ? "ex" : "ices", e.index.size()),
                     e.name);
    for (size_t i = 0; i < e.index.size(); ++i) {
      const bool per_species = var->max_index[i] == 0 && i == 0 &&
                               std::find(kPerSpecies.begin(), kPerSpecies.end(), e.name) != kPerSpecies.end();
      if (e.index[i] < 1)
        return c.error(e.loc, fmt::format("index {} of '{}' must be at least 1", e.index[i], e.name), e.name);
      if (per_species && c.needs.n_species > 0 && e.index[i] > c.needs.n_species)
        return c.error(
            e.loc, fmt::format("index {} of '{}' exceeds ntyp = {}", e.index[i], e.name, c.needs.n_species),
            e.name);
      if (var->max_index[i] > 0 && e.index[i] > var->max_index[i])
        return c.error(
            e.loc,
            fmt::format("index {} of '{}' is out of range 1..{}", e.index[i], e.name, var->max_index[i]),
            e.name);
    }
  }
  if (var->rank == 0 && e.values.size() > 1)
    c.error(e.values[1].loc, fmt::format("'{}' takes one value, got {}", e.name, e.values.size()), e.name);
  for (const auto& v : e.values) {
    if (!type_matches(var->type, v.kind)) {
      c.error(v.loc,
              fmt::format("'{}' must be {}, got {} '{}'", e.display(), type_name(var->type),
                          to_string(v.kind), v.text),
              e.name);
      continue;
    }
    if (var->type == VarType::kCharacter && !var->allowed.empty()) {
      const std::string_view value = text::trim(v.text);
      const bool known = std::any_of(var->allowed.begin(), var->allowed.end(),
                                     [&](std::string_view a) { return text::iequals(a, value); });
      if (!known) {
        const std::string low = text::to_lower(value);
        std::vector<std::string_view> allowed(var->allowed.begin(), var->allowed.end());
        std::string hint = text::closest_match(low, allowed);
        c.error(v.loc,
                fmt::format("'{}' = '{}' is not one of: {}{}", e.name, v.text, join(allowed),
                            hint.empty() ? "" : fmt::format(" (did you mean '{}'?)", hint)),
                e.name);
      }
    }
  }
  // gfortran lets a later assignment win silently; that is nearly always an editing accident.
  for (const auto& other : nl.entries) {
    if (&other == &e) break;
    if (other.name == e.name && other.index == e.index)
      c.warn(e.loc,
             fmt::format("'{}' is set twice (also at line {}); the last value wins", e.display(),
                         other.loc.line),
             e.name);
  }
}

// A required variable that is absent — unless the input has it under a misspelt name or a wrong index,
// which already has its own error.
void require(Checks& c, std::string_view nl, std::string_view name, std::string_view why) {
  const Namelist* n = c.in.namelist(nl);
  if (!n) return;
  for (const auto& e : n->entries) {
    if (e.name == name) return;
    if (!find_pw_variable(nl, e.name) && text::closest_match(e.name, pw_variable_names(nl)) == name) return;
  }
  c.error(c.where(nl, name), fmt::format("missing '{}' in &{}: {}", name, nl, why), std::string(name));
}

void check_values(Checks& c) {
  const PwInput& in = c.in;
  if (in.namelist("system")) {
    require(c, "system", "ibrav", "the Bravais lattice index (0 = give CELL_PARAMETERS)");
    require(c, "system", "nat", "the number of atoms");
    require(c, "system", "ntyp", "the number of species");
    require(c, "system", "ecutwfc", "the wavefunction cutoff in Ry");
  }
  auto positive = [&](std::string_view nl, std::string_view name, const char* what) {
    if (auto v = in.get_real(nl, name); v && *v <= 0)
      c.error(c.where(nl, name), fmt::format("'{}' must be positive ({})", name, what), std::string(name));
  };
  positive("system", "ecutwfc", "a cutoff in Ry");
  positive("system", "ecutrho", "a cutoff in Ry");
  positive("electrons", "conv_thr", "an energy threshold in Ry");
  positive("electrons", "mixing_beta", "a mixing factor");

  if (auto n = in.get_int("system", "nat"); n && *n < 1)
    c.error(c.where("system", "nat"), "'nat' must be at least 1", "nat");
  if (auto n = in.get_int("system", "ntyp"); n && *n < 1)
    c.error(c.where("system", "ntyp"), "'ntyp' must be at least 1", "ntyp");
  auto wfc = in.get_real("system", "ecutwfc"), rho = in.get_real("system", "ecutrho");
  if (wfc && rho && *rho < *wfc)
    c.error(c.where("system", "ecutrho"),
            fmt::format("'ecutrho' ({} Ry) must not be below 'ecutwfc' ({} Ry); "
                        "4 × ecutwfc is the usual choice",
                        *rho, *wfc),
            "ecutrho");
  if (auto ns = in.get_int("system", "nspin"); ns && *ns != 1 && *ns != 2 && *ns != 4)
    c.error(c.where("system", "nspin"), "'nspin' must be 1, 2 or 4 (4 means noncolin = .true.)", "nspin");
  // Spin-polarised runs start from zero magnetisation and stay there unless told otherwise; pw.x refuses.
  if (c.needs.nspin == 2 && !in.get_real("system", "tot_magnetization")) {
    bool any = false;
    if (const auto* sys = in.namelist("system"))
      for (const auto& e : sys->entries)
        if (e.name == "starting_magnetization")
          for (const auto& v : e.values) any = any || v.real != 0;
    if (!any)
      c.error(c.where("system", "nspin"),
              "nspin = 2 needs a nonzero starting_magnetization(i) for some "
              "species, or tot_magnetization",
              "nspin");
  }
  auto occ = in.get_string("system", "occupations");
  if (occ && text::to_lower(*occ) == "smearing") positive("system", "degauss", "a smearing width in Ry");
  if (occ && text::to_lower(*occ) == "smearing" && !in.entry("system", "degauss"))
    c.error(c.where("system", "occupations"),
            "occupations = 'smearing' needs 'degauss' (the smearing width "
            "in Ry)",
            "degauss");
  if (occ && text::to_lower(*occ) == "from_input" && !in.card("OCCUPATIONS"))
    c.error(c.where("system", "occupations"), "occupations = 'from_input' needs an OCCUPATIONS card",
            "occupations");
  const bool has_celldm = in.entry("system", "celldm", {1}) || in.entry("system", "celldm");
  if (has_celldm && in.entry("system", "a"))
    c.error(c.where("system", "a"), "give either celldm(1..6) or A, B, C, cosAB, cosAC, cosBC, not both",
            "a");
  if (auto ibrav = in.get_int("system", "ibrav");
      ibrav && *ibrav != 0 && !has_celldm && !in.entry("system", "a"))
    c.error(c.where("system", "ibrav"),
            fmt::format("ibrav = {} needs the lattice parameter: celldm(1) in bohr "
                        "or A in angstrom",
                        *ibrav),
            "celldm");
}

}  // namespace

void check_namelists(Checks& c) {
  check_order_and_presence(c);
  for (const auto& nl : c.in.namelists) {
    if (!is_known_namelist(nl.name)) continue;
    for (const auto& e : nl.entries) check_entry(c, nl, e);
  }
  check_values(c);
}

}  // namespace detail

ValidationEnv ValidationEnv::from_process(std::string run_dir) {
  ValidationEnv env;
  env.run_dir = std::move(run_dir);
  if (const char* p = std::getenv("ESPRESSO_PSEUDO"); p && *p) env.espresso_pseudo = p;
  if (const char* h = std::getenv("HOME"); h && *h) env.home = h;
  return env;
}

ValidationReport validate(const ParseResult& parsed, const ValidationEnv& env) {
  ValidationReport r;
  r.diagnostics = parsed.diagnostics;
  const PwInput& in = parsed.input;
  JobNeeds& n = r.needs;
  if (auto v = in.get_string("control", "calculation")) n.calculation = text::to_lower(*v);
  if (auto v = in.get_string("control", "prefix")) n.prefix = *v;
  if (auto v = in.get_string("control", "outdir")) n.outdir = *v;
  if (auto v = in.get_string("control", "pseudo_dir")) n.pseudo_dir = *v;
  if (auto v = in.get_int("system", "nat")) n.n_atoms = static_cast<int>(*v);
  if (auto v = in.get_int("system", "ntyp")) n.n_species = static_cast<int>(*v);
  if (auto v = in.get_int("system", "nspin")) n.nspin = static_cast<int>(*v);
  if (auto v = in.get_bool("system", "noncolin")) n.noncolin = *v;
  if (auto v = in.get_bool("system", "lspinorb"); v && *v) n.noncolin = true;
  if (n.nspin == 4) n.noncolin = true;
  n.ecutwfc_ry = in.get_real("system", "ecutwfc");
  n.ecutrho_ry = in.get_real("system", "ecutrho");
  if (auto v = in.get_int("system", "nbnd")) n.nbnd = static_cast<int>(*v);
  if (auto v = in.get_real("electrons", "conv_thr")) n.conv_thr_ry = *v;

  detail::Checks c{in, env, r.diagnostics, n};
  detail::check_namelists(c);
  detail::check_cards(c);
  detail::check_pseudopotentials(c);
  if (!has_errors(r.diagnostics)) detail::count_kpoints(c);
  return r;
}

ValidationReport validate_file(const std::string& path, const ValidationEnv& env) {
  std::string content;
  try {
    content = text::read_file(path);
  } catch (const Error& e) {
    ValidationReport r;
    r.diagnostics.push_back({Severity::kError, path, {}, "cannot read the input file", "", ""});
    return r;
  }
  return validate(parse_pw_input(content, path), env);
}

}  // namespace qecloud::qe

namespace qecloud::qe {

nlohmann::json to_json(const ValidationReport& r) {
  using nlohmann::json;
  json diags = json::array();
  int errors = 0, warnings = 0;
  for (const auto& d : r.diagnostics) {
    if (d.severity == Severity::kError) ++errors;
    if (d.severity == Severity::kWarning) ++warnings;
    json j{{"severity", to_string(d.severity)},
           {"file", d.file},
           {"line", d.loc.line},
           {"column", d.loc.column},
           {"message", d.message}};
    if (!d.field.empty()) j["field"] = d.field;
    diags.push_back(std::move(j));
  }
  const JobNeeds& n = r.needs;
  json pseudos = json::array();
  for (const auto& p : n.pseudos)
    pseudos.push_back({{"label", p.label},
                       {"file", p.file},
                       {"path", p.path},
                       {"format", p.format},
                       {"element", p.element}});
  json k{{"mode", n.kpoints_mode}};
  if (n.kpoint_grid) k["grid"] = *n.kpoint_grid, k["shift"] = *n.kpoint_shift;
  if (n.kpoints_listed) k["listed"] = *n.kpoints_listed;
  if (n.irreducible_kpoints)
    k["irreducible"] = *n.irreducible_kpoints;
  else if (!n.irreducible_kpoints_note.empty())
    k["irreducible_note"] = n.irreducible_kpoints_note;
  json needs{{"calculation", n.calculation}, {"prefix", n.prefix},          {"outdir", n.outdir},
             {"n_atoms", n.n_atoms},         {"n_species", n.n_species},    {"nspin", n.nspin},
             {"noncolin", n.noncolin},       {"pseudopotentials", pseudos}, {"kpoints", k}};
  if (n.ecutwfc_ry) needs["ecutwfc_ry"] = *n.ecutwfc_ry;
  if (n.ecutrho_ry) needs["ecutrho_ry"] = *n.ecutrho_ry;
  if (n.nbnd) needs["nbnd"] = *n.nbnd;
  return json{{"valid", r.ok()},
              {"errors", errors},
              {"warnings", warnings},
              {"diagnostics", diags},
              {"needs", needs}};
}

}  // namespace qecloud::qe
