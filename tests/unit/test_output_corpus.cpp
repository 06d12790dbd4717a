// The output corpus: real pw.x outputs of QE 4.0–7.4 (tests/data/outputs-corpus: the cases, Debian's
// reference outputs, runs of the installed pw.x 6.7) with their values asserted in EXPECTED.json — energies
// to the last printed digit, ionic steps with their cell units and forces, the run kind, the SCF iteration
// count, the Fermi energies and the outcome. The test reads what `qecloud parse --json` prints (the JSON
// contract), so a field that is missing counts as a disagreement too. It prints its counts in the log.
#include <gtest/gtest.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>

#include "qe/output_parser.hpp"

using namespace qecloud;
using nlohmann::json;

namespace {

const std::string kData = QECLOUD_TEST_DATA;

json load_manifest() {
  std::ifstream in(kData + "/outputs-corpus/EXPECTED.json");
  if (!in) return json::array();
  return json::parse(in);
}

std::string show(const json& v) {
  return v.is_null() ? "absent" : v.dump();
}

// A printed number ("-15.84452726") against a parsed one: equal as doubles (both correctly rounded).
bool same_number(const json& printed, const json& parsed) {
  if (printed.is_null() || parsed.is_null()) return printed.is_null() && parsed.is_null();
  return parsed.is_number() &&
         std::strtod(printed.get<std::string>().c_str(), nullptr) == parsed.get<double>();
}

// Every disagreement of one file, as "field: expected …, parsed …".
std::vector<std::string> disagreements(const json& want, const json& got) {
  std::vector<std::string> out;
  auto field = [&](const char* name, const json& expected, const json& parsed, bool agree) {
    if (!agree)
      out.push_back(std::string(name) + ": expected " + show(expected) + ", parsed " + show(parsed));
  };
  auto at = [](const json& j, const char* key) { return j.contains(key) ? j[key] : json(nullptr); };
  for (const char* key : {"qe_version", "calculation", "job_done", "error_kind", "scf_iterations"})
    field(key, want[key], at(got, key), want[key] == at(got, key));
  for (const char* key : {"total_energy_ry", "fermi_energy_ev", "fermi_energy_up_ev", "fermi_energy_down_ev"})
    field(key, at(want, key), at(got, key), same_number(at(want, key), at(got, key)));

  const json& steps = got["steps"];
  const auto& energies = want["step_energies_ry"];
  if (steps.size() != energies.size()) {
    field("steps", json(energies.size()), json(steps.size()), false);
    return out;
  }
  int with_forces = 0;
  for (size_t i = 0; i < steps.size(); ++i) {
    const std::string step = "steps[" + std::to_string(i) + "].";
    field((step + "energy_ry").c_str(), energies[i], at(steps[i], "energy_ry"),
          same_number(energies[i], at(steps[i], "energy_ry")));
    // "" in the manifest: pw.x printed no cell for this step.
    const json units = at(steps[i], "cell_units");
    const json want_units = want["step_cell_units"][i] == "" ? json(nullptr) : want["step_cell_units"][i];
    field((step + "cell_units").c_str(), want_units, units, want_units == units);
    if (!at(steps[i], "forces_ry_bohr").empty()) ++with_forces;
  }
  field("steps_with_forces", want["steps_with_forces"], json(with_forces),
        want["steps_with_forces"] == with_forces);
  return out;
}

TEST(OutputCorpus, AgreesWithAssertedValues) {
  const json manifest = load_manifest();
  ASSERT_GE(manifest.size(), 80u) << "tests/data/outputs-corpus/EXPECTED.json missing or short";
  int agree = 0, disagree = 0;
  std::string report;
  for (const auto& want : manifest) {
    const std::string path = want["path"];
    std::vector<std::string> bad;
    try {
      bad = disagreements(want, qe::to_json(qe::parse_output_file(kData + "/" + path)));
    } catch (const std::exception& e) {
      bad.push_back(std::string("parse failed: ") + e.what());
    }
    if (bad.empty()) {
      ++agree;
      continue;
    }
    ++disagree;
    for (const auto& b : bad) report += "  " + path + ": " + b + "\n";
  }
  std::printf("output corpus: %zu files, %d agree, %d disagree\n%s", manifest.size(), agree, disagree,
              report.c_str());
  EXPECT_EQ(disagree, 0) << report;
}

}  // namespace
