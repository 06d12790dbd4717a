// Electrons: spin (iosys's SPIN POLARIZATION and MAGNETIC CONSTRAINTS blocks, setup's spin-orbit check),
// occupations (set_occupations, iosys, setup), the number of bands (setup), cutoffs (set_cutoff, iosys),
// the exchange-correlation functional (set_dft_from_name) and the old DFT+U syntax (set_hubbard_l).
#include <algorithm>
#include <array>
#include <cmath>

#include <fmt/format.h>

#include "core/text.hpp"
#include "qe/functionals.hpp"
#include "qe/pw_schema.hpp"
#include "qe/validator_checks.hpp"

namespace qecloud::qe::detail {
namespace {

// The settings the rules below share, with pw.x's defaults.
struct Spin {
  bool lscf = true;       // scf, relax, md, vc-relax, vc-md: not nscf or bands
  bool lsda = false;      // nspin = 2
  bool noncolin = false;  // noncolin or nspin = 4
  std::string occupations = "fixed";
  bool two_fermi = false;  // tot_magnetization given (its default, -1, means not)
  double tot_magnetization = -1;
  bool any_starting_magnetization = false;  // some starting_magnetization(i) given, whatever its value
};

Spin read_spin(const Checks& c) {
  const PwInput& in = c.in;
  Spin s;
  s.lscf = c.needs.calculation != "nscf" && c.needs.calculation != "bands";
  const long long nspin = in.get_int("system", "nspin").value_or(1);
  s.lsda = nspin == 2;
  s.noncolin = nspin == 4 || in.get_bool("system", "noncolin").value_or(false);
  s.occupations = in.get_string("system", "occupations").value_or("fixed");
  if (auto t = in.get_real("system", "tot_magnetization"); t && *t != -1)
    s.two_fermi = true, s.tot_magnetization = *t;
  if (const Namelist* sys = in.namelist("system"))
    for (const auto& e : sys->entries)
      if (e.name == "starting_magnetization" && !e.values.empty()) s.any_starting_magnetization = true;
  return s;
}

void check_spin(Checks& c, const Spin& s) {
  const PwInput& in = c.in;
  auto at = [&](std::string_view name) { return c.where("system", name); };
  if (s.lsda && in.get_bool("system", "noncolin").value_or(false))
    return c.error(at("noncolin"),
                   "noncolin = .true. and nspin = 2 conflict (iosys): noncollinear runs use nspin = 4",
                   "noncolin");
  if (in.get_bool("system", "lspinorb").value_or(false) && !s.noncolin)
    c.error(at("lspinorb"),
            "lspinorb = .true. needs noncolin = .true. (setup: spin-orbit requires a noncollinear "
            "calculation)",
            "lspinorb");
  if (s.two_fermi && s.tot_magnetization < 0)
    c.error(at("tot_magnetization"), "'tot_magnetization' must not be negative (iosys)", "tot_magnetization");
  else if (s.two_fermi && !s.lsda)
    c.error(at("tot_magnetization"), "tot_magnetization needs nspin = 2 (iosys)", "tot_magnetization");
  // iosys: fixed occupations in a spin-polarized SCF need the magnetization fixed; a starting
  // magnetization only seeds a smeared one.
  if (s.occupations == "fixed" && s.lsda && s.lscf) {
    if (!s.two_fermi)
      return c.error(at("nspin"),
                     "nspin = 2 with fixed occupations needs tot_magnetization (an integer) — or "
                     "occupations = 'smearing' with a starting_magnetization (iosys)",
                     "nspin");
    if (std::abs(std::round(s.tot_magnetization) - s.tot_magnetization) > 1e-8)
      c.error(at("tot_magnetization"), "fixed occupations need an integer tot_magnetization (iosys)",
              "tot_magnetization");
    if (double q = in.get_real("system", "tot_charge").value_or(0); std::abs(std::round(q) - q) > 1e-8)
      c.error(at("tot_charge"), "fixed occupations need an integer tot_charge (iosys)", "tot_charge");
  }
  const std::string cons = in.get_string("system", "constrained_magnetization").value_or("none");
  const long long nspin = s.lsda ? 2 : s.noncolin ? 4 : 1;
  if (cons == "none" && s.lscf && s.lsda && s.occupations != "from_input" && s.occupations != "fixed" &&
      !s.two_fermi && !s.any_starting_magnetization)
    c.error(at("nspin"),
            "nspin = 2 needs a starting_magnetization(i) for some species, or tot_magnetization (iosys: "
            "\"some starting_magnetization MUST be set\")",
            "nspin");
  if ((cons == "atomic" || cons == "atomic direction") && nspin == 1)
    c.error(at("constrained_magnetization"),
            fmt::format("constrained_magnetization = '{}' needs nspin = 2 or noncolin (iosys)", cons),
            "constrained_magnetization");
  if (cons == "atomic" && !s.any_starting_magnetization)
    c.error(at("constrained_magnetization"),
            "constrained_magnetization = 'atomic' needs a starting_magnetization(i) (iosys)",
            "constrained_magnetization");
  if (cons == "total" && nspin != 4)
    c.error(at("constrained_magnetization"),
            "constrained_magnetization = 'total' needs noncolin = .true. (iosys); with nspin = 2 use "
            "tot_magnetization",
            "constrained_magnetization");
  if (cons == "total direction")
    if (double t = in.get_real("system", "fixed_magnetization", {3}).value_or(0); t < 0 || t > 180)
      c.error(at("fixed_magnetization"),
              "with 'total direction', fixed_magnetization(3) is an angle in [0, 180]",
              "fixed_magnetization");
  bool field = false;
  for (int i = 1; i <= 3; ++i) field = field || in.get_real("system", "b_field", {i}).value_or(0) != 0;
  if (field && nspin == 1)
    c.error(at("b_field"), "a nonzero B_field needs nspin = 2 or 4 (iosys)", "b_field");
  if (field && cons != "none")
    c.error(at("b_field"), "B_field and constrained_magnetization conflict (iosys)", "b_field");
  if (field && nspin == 2 &&
      (in.get_real("system", "b_field", {1}).value_or(0) != 0 ||
       in.get_real("system", "b_field", {2}).value_or(0) != 0))
    c.error(at("b_field"), "with nspin = 2 only B_field(3) may be given (iosys)", "b_field");
}

void check_occupations(Checks& c, const Spin& s) {
  const PwInput& in = c.in;
  if (s.occupations == "smearing") {
    if (!c.is_set("system", "degauss"))
      c.error(c.where("system", "occupations"),
              "occupations = 'smearing' needs 'degauss' (the smearing width in Ry)", "degauss");
    else if (auto d = in.get_real("system", "degauss"); d && *d <= 0)
      c.error(c.where("system", "degauss"), "'degauss' must be positive (a smearing width in Ry)", "degauss");
  }
  if (s.occupations == "from_input" && !in.card("OCCUPATIONS"))
    c.error(c.where("system", "occupations"), "occupations = 'from_input' needs an OCCUPATIONS card",
            "occupations");
  // setup: "tetrahedra need automatic k-point grid".
  if (text::starts_with(s.occupations, "tetrahedra") && (!in.kpoints || in.kpoints->mode != "automatic") &&
      !(!in.kpoints && in.card("K_POINTS")))
    c.error(c.where("system", "occupations"),
            fmt::format("occupations = '{}' needs K_POINTS automatic (setup)", s.occupations), "occupations");
}

// setup: nbnd must hold the occupied bands — the valence electrons of the atoms (each pseudopotential's
// z_valence) less tot_charge, two per band (one when noncollinear), rounded as Fortran's NINT.
void check_bands(Checks& c, const Spin& s) {
  const PwInput& in = c.in;
  auto nbnd = in.get_int("system", "nbnd");
  if (!nbnd || *nbnd == 0 || !s.lscf) return;  // 0 is the default: pw.x computes it
  if (static_cast<int>(in.atoms.size()) != c.needs.n_atoms || c.pseudo_infos.size() != in.species.size())
    return;
  double nelec = 0;
  for (const auto& a : in.atoms) {
    if (!a.wyckoff.empty()) return;  // space-group input: the atoms are not all listed
    auto it = std::find_if(in.species.begin(), in.species.end(),
                           [&](const Species& sp) { return sp.label == a.label; });
    if (it == in.species.end()) return;
    const auto& info = c.pseudo_infos[static_cast<size_t>(it - in.species.begin())];
    if (!info || !info->z_valence) return;
    nelec += *info->z_valence;
  }
  nelec -= in.get_real("system", "tot_charge").value_or(0);
  long needed = s.noncolin ? std::lround(nelec) : std::lround(nelec / 2);
  if (s.lsda && s.two_fermi) needed = std::max(needed, std::lround((nelec + s.tot_magnetization) / 2));
  if (*nbnd < needed)
    c.error(c.where("system", "nbnd"),
            fmt::format("nbnd = {} is too few: the {} valence electrons need {} band{} (setup)", *nbnd, nelec,
                        needed, needed == 1 ? "" : "s"),
            "nbnd");
}

void check_cutoffs(Checks& c) {
  const PwInput& in = c.in;
  auto wfc = in.get_real("system", "ecutwfc");
  if (!wfc || *wfc <= 0) return;
  auto rho = in.get_real("system", "ecutrho");
  if (rho && *rho <= *wfc)
    c.error(
        c.where("system", "ecutrho"),
        fmt::format(
            "'ecutrho' ({} Ry) must be above 'ecutwfc' ({} Ry) (set_cutoff); 4 × ecutwfc is the usual choice",
            *rho, *wfc),
        "ecutrho");
  const double ecutrho = rho.value_or(4 * *wfc);
  if (auto fock = in.get_real("system", "ecutfock"); fock && *fock > 0 && (*fock < *wfc || *fock > ecutrho))
    c.error(c.where("system", "ecutfock"),
            fmt::format("'ecutfock' ({} Ry) must lie between ecutwfc ({} Ry) and ecutrho ({} Ry) (iosys)",
                        *fock, *wfc, ecutrho),
            "ecutfock");
}

void check_functionals(Checks& c) {
  const PwInput& in = c.in;
  if (auto dft = in.get_string("system", "input_dft")) {
    std::string up;
    for (char ch : text::trim(*dft)) up += static_cast<char>(std::toupper(static_cast<unsigned char>(ch)));
    const PwFunctional* named = find_functional(up);
    if (auto r = c.release(); named && !named->dated().in(r))
      c.error(c.where("system", "input_dft"),
              fmt::format("input_dft = '{}' {}{}", *dft, named->dated().why_not(*r), c.judged_for()),
              "input_dft");
    else if (!resolve_functional(*dft, c.release()).recognized)
      c.error(c.where("system", "input_dft"),
              fmt::format(
                  "input_dft = '{}' is not a functional pw.x knows: neither a short name (PZ, PBE, PBESOL, "
                  "B3LYP, …) nor terms such as 'sla+pw+pbx+pbc' (set_dft_from_name)",
                  *dft),
              "input_dft");
    return;  // input_dft overrides the pseudopotentials' functionals
  }
  // readpp calls set_dft_from_name on each file's functional and stops at the first that differs.
  for (size_t i = 0; i < c.pseudo_infos.size(); ++i)
    for (size_t j = 0; j < i; ++j) {
      const auto& a = c.pseudo_infos[j];
      const auto& b = c.pseudo_infos[i];
      if (!a || !b || a->functional.empty() || b->functional.empty()) continue;
      if (!functionals_conflict(resolve_functional(a->functional, c.release()),
                                resolve_functional(b->functional, c.release())))
        continue;
      c.error(in.species[i].pseudo_loc,
              fmt::format("'{}' is for functional '{}' but '{}' is for '{}': pw.x stops (set_dft_from_name: "
                          "conflicting values); use pseudopotentials of one functional, or set input_dft",
                          in.species[i].pseudo_file, b->functional, in.species[j].pseudo_file, a->functional),
              "ATOMIC_SPECIES");
      return;
    }
}

// set_hubbard_l (Modules/set_hubbard_l.f90, the same in QE 6.5 – 7.0): the elements the old DFT+U syntax
// (lda_plus_u with Hubbard_U(i) in &system) knows a Hubbard manifold for.
bool has_hubbard_l(std::string_view element) {
  static constexpr std::array<std::string_view, 68> kKnown{
      "Ti", "V",  "Cr", "Mn", "Fe", "Co", "Ni", "Cu", "Zn", "Zr", "Nb", "Mo", "Tc", "Ru", "Rh", "Pd", "Ag",
      "Cd", "Hf", "Ta", "W",  "Re", "Os", "Ir", "Pt", "Au", "Hg", "Ce", "Pr", "Nd", "Pm", "Sm", "Eu", "Gd",
      "Tb", "Dy", "Ho", "Er", "Tm", "Yb", "Lu", "Th", "Pa", "U",  "Np", "Pu", "Am", "Cm", "Bk", "Cf", "Es",
      "Fm", "Md", "No", "Lr", "H",  "C",  "N",  "O",  "As", "Ga", "In", "",   "",   "",   "",   "",   ""};
  return !element.empty() && std::find(kKnown.begin(), kKnown.end(), element) != kKnown.end();
}

void check_hubbard(Checks& c) {
  const PwInput& in = c.in;
  if (!in.get_bool("system", "lda_plus_u").value_or(false)) return;
  // From QE 7.1 these variables are refused outright (their release check says so); the HUBBARD card
  // names its manifolds itself.
  if (const PwVariable* u = find_pw_variable("system", "hubbard_u"); u && !u->dated().in(c.release())) return;
  if (auto kind = in.get_int("system", "lda_plus_u_kind"); kind && (*kind < 0 || *kind > 2))
    c.error(c.where("system", "lda_plus_u_kind"), "'lda_plus_u_kind' must be 0, 1 or 2 (init_lda_plus_u)",
            "lda_plus_u_kind");
  if (in.get_int("system", "lda_plus_u_kind").value_or(0) != 0) return;
  // init_lda_plus_u (simplified DFT+U): a species is Hubbard when one of its parameters is nonzero; with none
  // pw.x stops ("lda_plus_u calculation but Hubbard_l not set").
  auto is_hubbard = [&](int nt) {
    for (const char* name :
         {"hubbard_u", "hubbard_u_back", "hubbard_alpha", "hubbard_alpha_back", "hubbard_j0", "hubbard_beta"})
      if (in.get_real("system", name, {nt}).value_or(0) != 0) return true;
    return false;
  };
  bool any = false;
  for (size_t i = 0; i < in.species.size(); ++i) any = any || is_hubbard(static_cast<int>(i + 1));
  if (!any && !in.species.empty())
    c.error(c.where("system", "lda_plus_u"),
            "lda_plus_u = .true. but no species has a nonzero Hubbard_U, Hubbard_alpha, Hubbard_J0 or "
            "Hubbard_beta "
            "(init_lda_plus_u: Hubbard_l not set)",
            "lda_plus_u");
  for (size_t i = 0; i < in.species.size() && i < c.pseudo_infos.size(); ++i) {
    const int nt = static_cast<int>(i + 1);
    const auto& info = c.pseudo_infos[i];
    if (!is_hubbard(nt) || !info || info->element.empty() || has_hubbard_l(info->element)) continue;
    c.error(c.where("system", "hubbard_u", {nt}),
            fmt::format(
                "Hubbard_U({}) is on '{}', element {}: pw.x has no Hubbard manifold for {} (set_hubbard_l "
                "knows transition metals, rare earths and actinides, H, C, N, O, Ga, In, As)",
                nt, in.species[i].label, info->element, info->element),
            "hubbard_u");
  }
}

}  // namespace

void check_electrons(Checks& c) {
  if (!c.in.namelist("system")) return;
  const Spin s = read_spin(c);
  check_spin(c, s);
  check_occupations(c, s);
  check_bands(c, s);
  check_cutoffs(c);
  check_functionals(c);
  check_hubbard(c);
}

}  // namespace qecloud::qe::detail
