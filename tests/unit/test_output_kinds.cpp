// The kinds of fault issue 16 found in reading pw.x outputs (tests/data/outputs-corpus/cases/p*), each as the
// rule behind it: the handed file, and siblings — other outputs of the same kind (pw.x 6.7 runs, Debian's
// reference outputs) and real outputs edited to the lines other versions or algorithms print (the edits are
// here, next to the assertion; the source line that prints each is named).
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <fstream>

#include "output_test_util.hpp"
#include "qe/xml_results.hpp"

using namespace qecloud;
using namespace qecloud::qe;
using namespace qecloud::testing_output;

namespace {

constexpr double kBohrAngstrom = 0.529177210903;  // CODATA 2018, QE >= 6.6

// p1: a step's cell units come from the block that printed that cell, never carried over from an earlier one.
TEST(OutputKinds, CellUnitsComeFromTheBlockThatPrintedTheCell) {
  Results r = parse_corpus("cases/p1-vcrelax_final_scf_cell_units-qe6.6.out");
  ASSERT_EQ(r.steps.size(), 2u);
  const IonicStep& final_scf = r.steps[1];
  ASSERT_TRUE(final_scf.cell);
  EXPECT_EQ(final_scf.cell_units, "alat");  // the final SCF's header: "crystal axes: (... in units of alat)"
  ASSERT_TRUE(final_scf.alat_bohr);
  EXPECT_EQ(*final_scf.alat_bohr, 7.500421);  // celldm(1), six decimals
  // In Å it is the CELL_PARAMETERS (angstrom) block of "Begin final coordinates" (to the header's 6
  // decimals).
  EXPECT_NEAR((*final_scf.cell)[0][1] * *final_scf.alat_bohr * kBohrAngstrom, 2.806884226, 1e-5);
  EXPECT_NEAR((*final_scf.cell)[2][0] * *final_scf.alat_bohr * kBohrAngstrom, 2.806884226, 1e-5);
  EXPECT_EQ(final_scf.positions_units, "alat");

  // Siblings: every vc-relax's CELL_PARAMETERS steps in their own units, the final SCF in alat (6.1's in Å).
  Results g = parse_corpus("debian/PW-ESM_example-graphene_bc1_vc-relax.out.gz");
  ASSERT_EQ(g.steps.size(), 10u);
  EXPECT_EQ(g.steps[0].cell_units, "alat");
  for (size_t i = 1; i + 1 < g.steps.size(); ++i) EXPECT_EQ(g.steps[i].cell_units, "angstrom") << i;
  EXPECT_EQ(g.steps.back().cell_units, "alat");
  Results v = parse_corpus("pw67/vcrelax_bfgs.out");  // 6.7 prints "CELL_PARAMETERS (alat= 10.00000000)"
  for (const auto& s : v.steps) EXPECT_EQ(s.cell_units, "alat");
  EXPECT_EQ(*v.steps[1].alat_bohr, 10.0);
  // A CELL_PARAMETERS block in bohr, and one cut after two rows: the cut one never becomes the cell.
  std::string text = read_output("outputs-corpus/pw67/vcrelax_bfgs.out");
  text = edit(text, "CELL_PARAMETERS (alat= 10.00000000)", "CELL_PARAMETERS (bohr)");
  Results b = parse_text(text);
  EXPECT_EQ(b.steps[1].cell_units, "bohr");
  Results cut =
      parse_text(cut_before(text, "CELL_PARAMETERS (bohr)") + "CELL_PARAMETERS (bohr)\n 1 0 0\n 0 1 0\n");
  EXPECT_EQ(cut.steps.back().cell_units, "alat");  // still the header's
}

// p2: a cell taken from the header is in alat units; the contract allows only alat, bohr, angstrom.
TEST(OutputKinds, HeaderCellIsInAlat) {
  for (const char* rel : {"cases/p2-header_cell_units_empty-qe7.0.out", "pw67/relax_bfgs.out",
                          "debian/PW-example02-al001.rx.out.gz", "debian/PW-cluster_example-h2o.out-12.gz"}) {
    Results r = parse_corpus(rel);
    ASSERT_FALSE(r.steps.empty()) << rel;
    EXPECT_EQ(r.steps[0].cell_units, "alat") << rel;
    EXPECT_TRUE(r.steps[0].cell) << rel;
    EXPECT_TRUE(r.steps[0].alat_bohr) << rel;
  }
  // No cell printed (p8's header was trimmed): no cell and no units, never a cell with "".
  Results p8 = parse_corpus("cases/p8-relax_nstep_reached_not_flagged-qe7.1.out");
  ASSERT_EQ(p8.steps.size(), 1u);
  EXPECT_FALSE(p8.steps[0].cell);
  EXPECT_EQ(p8.steps[0].cell_units, "");
  EXPECT_FALSE(to_json(p8)["steps"][0].contains("cell_units"));
}

// p3, p4: the run kind is never guessed from a CELL_PARAMETERS block among the final coordinates.
TEST(OutputKinds, RunKindFromTheIonicAlgorithm) {
  struct Case {
    const char* rel;
    const char* calculation;
    size_t steps;
  };
  for (const Case& c :
       {Case{"cases/p3-damped_relax_reported_vc-relax-qe6.1.out", "relax", 2},
        Case{"cases/p4-fire_relax_reported_scf-qe7.0rc1.out", "relax", 2},
        Case{"pw67/relax_damp.out", "relax", 8}, Case{"debian/PW-example02-al001.mm.out.gz", "relax", 10},
        Case{"pw67/vcrelax_bfgs_first.out", "vc-relax", 2},  // converged at once: "Final enthalpy"
        Case{"pw67/vcrelax_dampw.out", "vc-relax", 17}, Case{"pw67/vcrelax_damppr.out", "vc-relax", 12},
        Case{"pw67/vcrelax_cellnone.out", "vc-relax", 4},  // vcsmd with cell_dynamics='none'
        Case{"pw67/md_verlet.out", "md", 4},
        Case{"pw67/md_langevin.out", "md", 4},  // "Over-damped Langevin Dynamics Calculation"
        Case{"pw67/vcmd_w.out", "vc-md", 4},    // vcsmd MD: "Entering Dynamics;" only
        Case{"pw67/vcmd_pr.out", "vc-md", 4}}) {
    Results r = parse_corpus(c.rel);
    EXPECT_EQ(r.calculation, c.calculation) << c.rel;
    EXPECT_EQ(r.steps.size(), c.steps) << c.rel;
  }
  Results fire = parse_corpus("cases/p4-fire_relax_reported_scf-qe7.0rc1.out");
  EXPECT_EQ(*fire.steps[0].energy_ry, -43.09625714);
  EXPECT_EQ(*fire.steps[1].energy_ry, -43.10925116);
  EXPECT_EQ(fire.error_kind, ErrorKind::kNone);

  // A vc-relax whose only evidence is BFGS's "enthalpy" (cut before the final SCF), or only its criteria.
  std::string vc = read_output("outputs-corpus/pw67/vcrelax_bfgs_first.out");
  EXPECT_EQ(parse_text(cut_before(vc, "Final scf calculation")).calculation, "vc-relax");
  EXPECT_EQ(parse_text(cut_before(vc, "End of BFGS")).calculation, "vc-relax");
  // The same relaxation with a fixed cell prints "energy": a relax, final CELL_PARAMETERS or not.
  std::string fixed = read_output("outputs-corpus/pw67/relax_bfgs.out");
  fixed =
      edit(fixed, "Begin final coordinates\n",
           "Begin final coordinates\n     new unit-cell volume =    265.30200 a.u.^3 (    39.31371 Ang^3 )\n"
           "CELL_PARAMETERS (alat= 10.20000000)\n  -0.5 0.0 0.5\n   0.0 0.5 0.5\n  -0.5 0.5 0.0\n");
  EXPECT_EQ(parse_text(fixed).calculation, "relax");
}

// p5: a hybrid functional prints inner and outer energies with '!' (QE 6.0 even the final one, later '!!'):
// one geometry is one step, with its last energy and its forces.
TEST(OutputKinds, HybridFunctionalGeometryIsOneStep) {
  Results p5 = parse_corpus("cases/p5-exx_relax_steps_doubled-qe6.0.out");
  ASSERT_EQ(p5.steps.size(), 2u);
  EXPECT_EQ(*p5.steps[0].energy_ry, -34.37303125);
  EXPECT_EQ(*p5.steps[1].energy_ry, -34.37325989);
  for (const auto& s : p5.steps) EXPECT_EQ(s.forces_ry_bohr.size(), 3u);

  Results r =
      parse_corpus("pw67/exx_relax.out");  // 6.7: '!' per refinement, '!!' at the end of each geometry
  ASSERT_EQ(r.steps.size(), 3u);
  EXPECT_EQ(*r.steps[0].energy_ry, -15.71239943);
  EXPECT_EQ(*r.steps[2].energy_ry, -15.71628778);
  for (const auto& s : r.steps) EXPECT_EQ(s.forces_ry_bohr.size(), 2u);
  EXPECT_TRUE(parse_corpus("pw67/exx_scf.out").steps.empty());  // one geometry, six '!': a single point
  EXPECT_TRUE(parse_corpus("debian/PW-EXX_example-si.PBE0_nq-1.out.gz").steps.empty());
}

// p6: two Fermi energies (fixed total magnetization) are both kept, and there is no single one.
TEST(OutputKinds, TwoFermiEnergies) {
  Results p6 = parse_corpus("cases/p6-two_fermi_energies-qe6.6.out");
  EXPECT_EQ(p6.fermi_energy_up_ev, 6.7565);
  EXPECT_EQ(p6.fermi_energy_down_ev, 5.6206);
  EXPECT_FALSE(p6.fermi_energy_ev);
  nlohmann::json j = to_json(p6);
  EXPECT_EQ(j["fermi_energy_up_ev"], 6.7565);
  EXPECT_EQ(j["fermi_energy_down_ev"], 5.6206);
  EXPECT_FALSE(j.contains("fermi_energy_ev"));
  EXPECT_EQ(to_json(results_from_json(j)), j);

  Results relax = parse_corpus("pw67/two_fermi_relax.out");  // the last step's pair
  EXPECT_EQ(relax.fermi_energy_up_ev, 6.8421);
  EXPECT_EQ(relax.fermi_energy_down_ev, 6.5568);
  // One Fermi energy after two (or two after one): the last printed wins whole, never a mix.
  Results one = parse_text(read_output("outputs-corpus/pw67/two_fermi.out") +
                           "     the Fermi energy is     6.1000 ev\n");
  EXPECT_EQ(one.fermi_energy_ev, 6.1);
  EXPECT_FALSE(one.fermi_energy_up_ev);
  EXPECT_FALSE(one.fermi_energy_down_ev);
  // Fortran's F10.4 fields glued together ("-10.1234-100.1234") are still two numbers.
  Results glued = parse_text("     the spin up/dw Fermi energies are   -10.1234-100.1234 ev\n");
  EXPECT_EQ(glued.fermi_energy_up_ev, -10.1234);
  EXPECT_EQ(glued.fermi_energy_down_ev, -100.1234);
  EXPECT_EQ(parse_corpus("pw67/scf_david.out").fermi_energy_up_ev, std::nullopt);

  // data-file-schema.xml (Hartree) fills them in when stdout lacks them, as pw.x 6.7 writes them.
  const std::string xml = (std::filesystem::temp_directory_path() / "qecloud-two-fermi.xml").string();
  std::ofstream(xml) << "<qes:espresso xmlns:qes=\"x\"><output><band_structure>"
                        "<occupations_kind>smearing</occupations_kind>"
                        "<two_fermi_energies>2.514641024181062e-1 2.410662582746038e-1</two_fermi_energies>"
                        "</band_structure></output></qes:espresso>\n";
  Results bare;
  ASSERT_TRUE(merge_xml_results(xml, bare));
  std::filesystem::remove(xml);
  EXPECT_NEAR(*bare.fermi_energy_up_ev, 6.8427, 5e-5);  // pw.x printed 6.8427 and 6.5597
  EXPECT_NEAR(*bare.fermi_energy_down_ev, 6.5597, 5e-5);
  EXPECT_FALSE(bare.fermi_energy_ev);
}

// p7: a run cut inside the SCF loop still counts the iterations it printed.
TEST(OutputKinds, CutScfCountsPrintedIterations) {
  EXPECT_EQ(parse_corpus("cases/p7-scf_iterations_zero_when_cut-qe6.6.out").scf_iterations, 1);
  EXPECT_EQ(parse_corpus("pw67/scf_walltime.out").scf_iterations, 1);
  Results relax = parse_corpus("pw67/relax_walltime.out");  // cut in the second geometry's SCF
  EXPECT_EQ(relax.scf_iterations, 3);
  EXPECT_EQ(relax.error_kind, ErrorKind::kOutOfWalltime);
  // Other cuts: si_scf.out cut just after each of its 6 estimated accuracies.
  const std::string text = read_output("outputs/si_scf.out");
  size_t at = 0;
  for (int k = 1; k <= 6; ++k) {
    at = text.find("estimated scf accuracy", at);
    ASSERT_NE(at, std::string::npos);
    at = text.find('\n', at) + 1;
    Results r = parse_text(text.substr(0, at));
    EXPECT_EQ(r.scf_iterations, k);
    EXPECT_FALSE(r.scf_converged);
    EXPECT_EQ(r.error_kind, ErrorKind::kIncomplete);
  }
  EXPECT_EQ(parse_corpus("pw67/scf_david.out").scf_iterations, 6);  // a closed cycle: pw.x's own count
}

}  // namespace
