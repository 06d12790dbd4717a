#include "qe/xml_results.hpp"

#include <pugixml.hpp>

#include <sstream>

#include "core/text.hpp"

namespace qecloud::qe {
namespace {

constexpr double kHartreeRy = 2.0;
// QE's RY_KBAR = 10 * AU_GPA / 2 with AU_GPA = 29421.02648438959 GPa per Hartree/bohr^3.
constexpr double kHartreePerBohr3Kbar = 294210.2648438959;

std::vector<double> numbers(const pugi::xml_node& n) {
  std::vector<double> out;
  for (auto tok : text::split_ws(n.text().get()))
    if (auto v = text::parse_fortran_real(tok)) out.push_back(*v);
  return out;
}

std::optional<double> number(const pugi::xml_node& n) {
  if (!n) return std::nullopt;
  return text::parse_fortran_real(text::trim(n.text().get()));
}

}  // namespace

Expected<bool, std::string> merge_xml_results(const std::string& path, Results& r) {
  pugi::xml_document doc;
  auto ok = doc.load_file(path.c_str());
  if (!ok) return unexpected(path + ": " + ok.description());
  pugi::xml_node root = doc.first_child();
  if (std::string(root.name()).find("espresso") == std::string::npos)
    return unexpected(path + ": not a QE data file (root element <" + std::string(root.name()) + ">)");
  pugi::xml_node out = root.child("output");
  if (!out) return unexpected(path + ": no <output> section (the run did not finish writing it)");

  if (r.qe_version.empty())
    r.qe_version = root.child("general_info").child("creator").attribute("VERSION").as_string();
  if (auto calc = root.child("input").child("control_variables").child("calculation"))
    r.calculation = std::string(text::trim(calc.text().get()));
  // A run that stopped or did not converge has an energy in the XML, but not a final one: leave it out.
  if (!r.total_energy_ry && r.error_kind == ErrorKind::kNone)
    if (auto e = number(out.child("total_energy").child("etot"))) r.total_energy_ry = *e * kHartreeRy;
  if (!r.n_atoms)
    if (auto nat = out.child("atomic_structure").attribute("nat")) r.n_atoms = nat.as_int();
  pugi::xml_node bands = out.child("band_structure");
  if (!r.n_kpoints)
    if (auto nks = number(bands.child("nks"))) r.n_kpoints = static_cast<int>(*nks);
  // pw.x writes a Fermi energy for insulators too; the contract has one only for metals (smearing). With a
  // fixed total magnetization it writes two (spin up, spin down) and no single one.
  const std::string occ(text::trim(bands.child("occupations_kind").text().get()));
  if (!r.fermi_energy_ev && !r.fermi_energy_up_ev) {
    const auto two = numbers(bands.child("two_fermi_energies"));
    if (two.size() == 2) {
      r.fermi_energy_up_ev = two[0] * kHartreeRy * kRydbergEv;
      r.fermi_energy_down_ev = two[1] * kHartreeRy * kRydbergEv;
    } else if (occ == "smearing") {
      if (auto ef = number(bands.child("fermi_energy"))) r.fermi_energy_ev = *ef * kHartreeRy * kRydbergEv;
    }
  }
  if (r.forces_ry_bohr.empty()) {
    auto f = numbers(out.child("forces"));
    for (size_t i = 0; i + 2 < f.size(); i += 3)
      r.forces_ry_bohr.push_back({f[i] * kHartreeRy, f[i + 1] * kHartreeRy, f[i + 2] * kHartreeRy});
  }
  if (!r.stress_kbar) {
    auto s = numbers(out.child("stress"));
    if (s.size() == 9) {
      Mat3 m{};
      for (size_t i = 0; i < 9; ++i) m[i / 3][i % 3] = s[i] * kHartreePerBohr3Kbar;
      r.stress_kbar = m;
      if (!r.pressure_kbar) r.pressure_kbar = (m[0][0] + m[1][1] + m[2][2]) / 3;
    }
  }
  pugi::xml_node mag = out.child("magnetization");
  auto is_true = [](const pugi::xml_node& n) { return text::trim(n.text().get()) == "true"; };
  if (mag && (is_true(mag.child("lsda")) || is_true(mag.child("noncolin")))) {
    if (!r.total_magnetization) r.total_magnetization = number(mag.child("total"));
    if (!r.absolute_magnetization) r.absolute_magnetization = number(mag.child("absolute"));
  }
  if (pugi::xml_node conv = out.child("convergence_info").child("scf_conv")) {
    if (r.scf_iterations == 0)
      if (auto n = number(conv.child("n_scf_steps"))) r.scf_iterations = static_cast<int>(*n);
  }
  if (!r.wall_time_s)
    if (auto w = number(root.child("timing_info").child("total").child("wall"))) r.wall_time_s = *w;
  if (!r.cpu_time_s)
    if (auto c = number(root.child("timing_info").child("total").child("cpu"))) r.cpu_time_s = *c;
  return true;
}

}  // namespace qecloud::qe
