// Namelist checks: which namelists, in which order; each variable's name, type, indices and value, as the
// release of pw.x that will run the input reads them (read_namelists, the *_checkin routines, iosys).
#include <algorithm>
#include <array>
#include <utility>

#include <fmt/format.h>

#include "core/text.hpp"
#include "qe/pw_schema.hpp"
#include "qe/validator_checks.hpp"

namespace qecloud::qe::detail {
namespace {

// pw.x reads its namelists in this order with Fortran READ statements: a namelist out of order is skipped
// over while looking for an earlier one and then never found.
constexpr std::array<std::string_view, 7> kNamelistOrder{"control", "system", "electrons", "ions",
                                                         "cell",    "fcp",    "rism"};

// Namelists of the other QE programs. pw.x skips one (read_cards prints "card &BANDS ignored"), so an input
// shared with bands.x or pp.x runs; an unknown namelist, though, is most likely a typo and stays an error.
constexpr std::array<std::pair<std::string_view, std::string_view>, 17> kOtherPrograms{{
    {"bands", "bands.x"},
    {"inputpp", "pp.x, projwfc.x or pw2wannier90.x"},
    {"plot", "pp.x"},
    {"dos", "dos.x"},
    {"projwfc", "projwfc.x"},
    {"inputph", "ph.x"},
    {"input", "q2r.x, matdyn.x or ld1.x"},
    {"inputhp", "hp.x"},
    {"inputcond", "pwcond.x"},
    {"inputepw", "epw.x"},
    {"lr_input", "turbo_lanczos.x or turbo_davidson.x"},
    {"lr_control", "turbo_lanczos.x or turbo_davidson.x"},
    {"input_xspectra", "xspectra.x"},
    {"path", "neb.x"},
    {"wannier", "cp.x"},
    {"press_ai", "cp.x"},
    {"inputgipaw", "gipaw.x"},
}};

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

std::optional<std::string_view> other_program(std::string_view name) {
  for (const auto& [nl, program] : kOtherPrograms)
    if (nl == name) return program;
  return std::nullopt;
}

void check_order_and_presence(Checks& c) {
  int last = -1;
  std::string last_name;
  for (const auto& nl : c.in.namelists) {
    auto it = std::find(kNamelistOrder.begin(), kNamelistOrder.end(), nl.name);
    if (it == kNamelistOrder.end()) {
      if (auto program = other_program(nl.name)) {
        c.warn(nl.loc, fmt::format("namelist &{} is for {}, not pw.x: pw.x skips it", nl.name, *program));
        continue;
      }
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
      if (!is_known_namelist(nl.name) && !other_program(nl.name) &&
          text::closest_match(nl.name, known) == name)
        return true;
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

bool check_name(Checks& c, const Namelist& nl, const NamelistEntry& e, const PwVariable* var) {
  if (!var) {
    if (auto home = namelist_of(e.name))
      c.error(e.loc, fmt::format("'{}' belongs in &{}, not &{}", e.name, *home, nl.name), e.name);
    else if (std::string hint = text::closest_match(e.name, pw_variable_names(nl.name)); !hint.empty())
      c.error(e.loc, fmt::format("unknown variable '{}' in &{} (did you mean '{}'?)", e.name, nl.name, hint),
              e.name);
    else
      c.error(e.loc, fmt::format("unknown variable '{}' in &{}", e.name, nl.name), e.name);
    return false;
  }
  // A variable of another release: read_namelists of this one stops at it ("bad line in namelist").
  if (auto r = c.release(); !var->dated().in(r)) {
    c.error(e.loc, fmt::format("'{}' {}{}", e.name, var->dated().why_not(*r), c.judged_for()), e.name);
    return false;
  }
  return true;
}

bool check_indices(Checks& c, const NamelistEntry& e, const PwVariable* var) {
  if (e.index.empty()) return true;
  if (var->rank == 0) {
    c.error(e.loc, fmt::format("'{}' is not an array; write '{} = …'", e.display(), e.name), e.name);
    return false;
  }
  if (static_cast<int>(e.index.size()) != var->rank) {
    c.error(e.loc,
            fmt::format("'{}' takes {} ind{}, got {}", e.name, var->rank, var->rank == 1 ? "ex" : "ices",
                        e.index.size()),
            e.name);
    return false;
  }
  for (size_t i = 0; i < e.index.size(); ++i) {
    const bool per_species = var->max_index[i] == 0 && i == 0 &&
                             std::find(kPerSpecies.begin(), kPerSpecies.end(), e.name) != kPerSpecies.end();
    std::string bad;
    if (e.index[i] < 1)
      bad = fmt::format("index {} of '{}' must be at least 1", e.index[i], e.name);
    else if (per_species && c.needs.n_species > 0 && e.index[i] > c.needs.n_species)
      bad = fmt::format("index {} of '{}' exceeds ntyp = {}", e.index[i], e.name, c.needs.n_species);
    else if (var->max_index[i] > 0 && e.index[i] > var->max_index[i])
      bad = fmt::format("index {} of '{}' is out of range 1..{}", e.index[i], e.name, var->max_index[i]);
    if (!bad.empty()) {
      c.error(e.loc, std::move(bad), e.name);
      return false;
    }
  }
  return true;
}

// A character value pw.x compares: exactly (its SELECT CASE and *_allowed lists are case-sensitive: pw.x
// refuses calculation = 'SCF'), and only among the values of the release that will run the input.
void check_allowed(Checks& c, const NamelistEntry& e, const PwVariable* var, const NamelistValue& v) {
  const std::optional<int> release = c.release();
  const PwValue* exact = nullptr;
  std::vector<std::string_view> here;
  for (const auto& a : var->allowed) {
    if (a.value == v.text) exact = &a;
    if (a.dated().in(release)) here.push_back(a.value);
  }
  if (exact && exact->dated().in(release)) return;
  if (exact) {
    c.error(v.loc,
            fmt::format("{} = '{}' {}{}", e.name, v.text, exact->dated().why_not(*release), c.judged_for()),
            e.name);
    return;
  }
  std::string hint;
  for (auto a : here)
    if (text::iequals(a, text::trim(v.text)))
      hint = fmt::format(" (pw.x compares it exactly: write '{}')", a);
  if (hint.empty())
    if (std::string close = text::closest_match(text::to_lower(v.text), here); !close.empty())
      hint = fmt::format(" (did you mean '{}'?)", close);
  c.error(v.loc, fmt::format("'{}' = '{}' is not one of: {}{}", e.name, v.text, join(here), hint), e.name);
}

void check_entry(Checks& c, const Namelist& nl, const NamelistEntry& e) {
  const PwVariable* var = find_pw_variable(nl.name, e.name);
  if (!check_name(c, nl, e, var) || !check_indices(c, e, var)) return;
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
    // set_occupations reads smearing only for occupations = 'smearing'; otherwise any value goes.
    const bool read = e.name != "smearing" || c.in.get_string("system", "occupations") == "smearing";
    if (var->type == VarType::kCharacter && !var->allowed.empty() && read) check_allowed(c, e, var, v);
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

// A required variable that is absent — unless the input has it under a misspelt name or a wrong index, or
// with a value that did not parse, which already have their own error.
void require(Checks& c, std::string_view nl, std::string_view name, std::string_view why) {
  const Namelist* n = c.in.namelist(nl);
  if (!n || c.is_set(nl, name)) return;
  for (const auto& e : n->entries)
    if (!find_pw_variable(nl, e.name) && text::closest_match(e.name, pw_variable_names(nl)) == name) return;
  c.error(c.where(nl, name), fmt::format("missing '{}' in &{}: {}", name, nl, why), std::string(name));
}

void check_values(Checks& c) {
  const PwInput& in = c.in;
  if (in.namelist("system")) {
    require(c, "system", "nat", "the number of atoms");
    require(c, "system", "ntyp", "the number of species");
    require(c, "system", "ecutwfc", "the wavefunction cutoff in Ry");
  }
  // system_checkin and set_cutoff: ecutwfc > 0 ("ecutwfc not set" for 0), ecutrho > ecutwfc.
  if (auto v = in.get_real("system", "ecutwfc"); v && *v <= 0)
    c.error(c.where("system", "ecutwfc"), "'ecutwfc' must be positive (a cutoff in Ry)", "ecutwfc");
  if (auto n = in.get_int("system", "nat"); n && *n < 1)
    c.error(c.where("system", "nat"), "'nat' must be at least 1", "nat");
  if (auto n = in.get_int("system", "ntyp"); n && *n < 1)
    c.error(c.where("system", "ntyp"), "'ntyp' must be at least 1", "ntyp");
  if (auto ns = in.get_int("system", "nspin"); ns && *ns != 1 && *ns != 2 && *ns != 4)
    c.error(c.where("system", "nspin"), "'nspin' must be 1, 2 or 4 (4 means noncolin = .true.)", "nspin");
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

}  // namespace qecloud::qe::detail
