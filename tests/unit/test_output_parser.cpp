// The output parser against real pw.x 6.7 outputs made here (tests/data/outputs/make.sh regenerates them).
#include <gtest/gtest.h>

#include "core/text.hpp"
#include "qe/output_parser.hpp"

using namespace qecloud;
using namespace qecloud::qe;

namespace {
std::string data(const std::string& name) {
  return std::string(QECLOUD_TEST_DATA) + "/outputs/" + name;
}
}  // namespace

TEST(OutputParser, SiliconScf) {
  Results r = parse_output_file(data("si_scf.out"));
  EXPECT_EQ(r.qe_version, "6.7MaX");
  EXPECT_EQ(r.calculation, "scf");
  EXPECT_TRUE(r.job_done);
  ASSERT_TRUE(r.total_energy_ry);
  EXPECT_EQ(*r.total_energy_ry, -15.84452726);
  EXPECT_TRUE(r.scf_converged);
  EXPECT_EQ(r.scf_iterations, 6);
  EXPECT_EQ(r.scf_accuracy_ry.size(), 6u);
  EXPECT_EQ(r.n_atoms, 2);
  EXPECT_EQ(r.n_kpoints, 10);
  EXPECT_EQ(r.forces_ry_bohr.size(), 2u);
  EXPECT_EQ(r.total_force_ry_bohr, 0.0);
  ASSERT_TRUE(r.stress_kbar);
  EXPECT_EQ(r.pressure_kbar, -10.24);
  EXPECT_EQ((*r.stress_kbar)[0][0], -10.24);
  EXPECT_EQ(r.parallel.mpi_processes, 2);
  EXPECT_EQ(r.parallel.pools, 2);
  EXPECT_TRUE(r.wall_time_s);
  EXPECT_EQ(r.error_kind, ErrorKind::kNone);
  EXPECT_TRUE(r.steps.empty());
  EXPECT_FALSE(r.fermi_energy_ev);
}

TEST(OutputParser, RelaxHasOneStepPerIonicStep) {
  Results r = parse_output_file(data("si_relax.out"));
  EXPECT_EQ(r.calculation, "relax");
  ASSERT_EQ(r.steps.size(), 4u);
  EXPECT_EQ(*r.steps[0].energy_ry, -15.64828499);
  EXPECT_EQ(*r.steps[3].energy_ry, -15.65205071);
  EXPECT_EQ(r.steps[0].positions_units, "alat");  // the initial structure, as printed in the header
  EXPECT_EQ(r.steps[1].positions_units, "crystal");
  EXPECT_EQ(r.steps[0].labels, (std::vector<std::string>{"Si", "Si"}));
  for (const auto& s : r.steps) EXPECT_EQ(s.forces_ry_bohr.size(), 2u);
  EXPECT_EQ(r.total_force_ry_bohr, 0.000175);
  EXPECT_EQ(r.error_kind, ErrorKind::kNone);
}

TEST(OutputParser, MetalHasFermiEnergy) {
  Results r = parse_output_file(data("al_smearing.out"));
  EXPECT_EQ(r.fermi_energy_ev, 8.2510);
  EXPECT_EQ(r.n_kpoints, 28);
}

TEST(OutputParser, SpinPolarisedHasMagnetization) {
  Results r = parse_output_file(data("ni_spin.out"));
  EXPECT_EQ(r.total_magnetization, 0.72);
  EXPECT_EQ(r.absolute_magnetization, 0.79);
  EXPECT_EQ(*r.total_energy_ry, -85.71994515);
}

TEST(OutputParser, ClassifiesFailures) {
  Results nc = parse_output_file(data("si_notconv.out"));
  EXPECT_EQ(nc.error_kind, ErrorKind::kScfNotConverged);
  EXPECT_FALSE(nc.scf_converged);
  EXPECT_EQ(nc.scf_iterations, 2);
  EXPECT_EQ(nc.error_message, "convergence NOT achieved after 2 iterations");

  Results bad = parse_output_file(data("si_badinput.out"));
  EXPECT_EQ(bad.error_kind, ErrorKind::kBadInput);
  EXPECT_EQ(bad.error_message,
            "read_namelists: bad line in namelist &system: \"  ibrav=2, celldm(1)=10.20, nat=2, ntyp=1, "
            "ecutwf=18.0\" (error could be in the previous line)");

  Results stop = parse_output_file(data("si_stopped.out"));
  EXPECT_EQ(stop.error_kind, ErrorKind::kStoppedByUser);
}

TEST(OutputParser, TruncatedOutputIsIncomplete) {
  std::string text = text::read_file(data("si_scf.out"));
  OutputParser p;
  size_t start = 0, lines = 0;
  while (start < text.size() && lines < 120) {
    size_t nl = text.find('\n', start);
    p.feed(std::string_view(text).substr(start, nl - start));
    start = nl + 1, ++lines;
  }
  Results r = p.finish();
  EXPECT_FALSE(r.job_done);
  EXPECT_EQ(r.error_kind, ErrorKind::kIncomplete);
}

TEST(OutputParser, ReportsProgressWhileStreaming) {
  std::vector<ProgressEvent> events;
  OutputParser p([&](const ProgressEvent& e) { events.push_back(e); });
  std::string text = text::read_file(data("si_scf.out"));
  size_t start = 0;
  while (start < text.size()) {
    size_t nl = text.find('\n', start);
    if (nl == std::string::npos) nl = text.size();
    p.feed(std::string_view(text).substr(start, nl - start));
    start = nl + 1;
  }
  int iterations = 0;
  bool converged = false, done = false;
  for (const auto& e : events) {
    if (e.kind == ProgressEvent::Kind::kScfIteration) {
      ++iterations;
      EXPECT_TRUE(e.scf_accuracy_ry);
    }
    if (e.kind == ProgressEvent::Kind::kScfConverged) converged = *e.energy_ry == -15.84452726;
    if (e.kind == ProgressEvent::Kind::kJobDone) done = true;
  }
  EXPECT_EQ(iterations, 6);
  EXPECT_TRUE(converged);
  EXPECT_TRUE(done);
}

TEST(OutputParser, SurvivesGarbage) {
  OutputParser p;
  for (const char* l : {"!    total energy = ****** Ry", "     atom    1 type  1   force = ", "%%%%%%",
                        "     Error in routine", "total   stress", "1 2 3", "ATOMIC_POSITIONS (crystal)",
                        "Si 1 2", "", "     PWSCF : 1m2.5s CPU 1h WALL", "\r"})
    p.feed(l);
  Results r = p.finish();
  EXPECT_FALSE(r.job_done);
}

TEST(ResultsJson, RoundTrips) {
  Results r = parse_output_file(data("si_relax.out"));
  nlohmann::json j = to_json(r);
  EXPECT_EQ(j["total_energy_ry"], -15.65205071);
  EXPECT_NEAR(j["total_energy_ev"].get<double>(), -15.65205071 * 13.605693122994, 1e-9);
  EXPECT_TRUE(j["error_kind"].is_null());
  EXPECT_EQ(to_json(results_from_json(j)), j);
}

TEST(OutputParser, ProgramLineWithoutVersion) {
  // Found by fuzz_pw_output: "Program PWSCF v." at the very end of a line read past the end of a vector.
  Results r = parse_output_file(std::string(QECLOUD_TEST_DATA) +
                                "/fuzz-regressions/program-line-without-version.out");
  EXPECT_EQ(r.qe_version, "6.7MaX");  // from the intact first line; the truncated one is skipped
}
