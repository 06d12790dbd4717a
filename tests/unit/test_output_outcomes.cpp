// How a pw.x run ended, as issue 16's cases p8, p10 and p11 found it read wrongly, with their siblings:
// ionic non-convergence is an outcome of its own; every diagonalizer's stop is a diagonalization failure; a
// damaged data-file-schema.xml never hides what stdout says.
#include <gtest/gtest.h>

#include "core/error.hpp"
#include "job/outcome.hpp"
#include "job/state.hpp"
#include "output_test_util.hpp"
#include "qe/output_text.hpp"
#include "qe/xml_results.hpp"

using namespace qecloud;
using namespace qecloud::qe;
using namespace qecloud::testing_output;

namespace {

// p8: a relaxation stopped at nstep is not converged, whatever the algorithm and whatever JOB DONE says.
TEST(OutputOutcomes, RelaxationStoppedAtNstepIsNotConverged) {
  for (const char* rel :
       {"cases/p8-relax_nstep_reached_not_flagged-qe7.1.out",
        "pw67/relax_bfgs_nstep.out",     // BFGS: "The maximum number of steps has been reached."
        "pw67/relax_damp_nstep.out",     // proj_verlet: the same line, then "End of molecular ..."
        "pw67/vcrelax_bfgs_nstep.out",   // BFGS with a moving cell
        "pw67/vcrelax_dampw_nstep.out",  // vcsmd: "Maximum number of iterations reached, stopping"
        "pw67/vcrelax_cellnone.out",     // vcsmd, cell_dynamics='none'
        "pw67/exx_relax.out"}) {         // PBE0 relaxation
    Results r = parse_corpus(rel);
    EXPECT_TRUE(r.job_done) << rel;
    EXPECT_EQ(r.error_kind, ErrorKind::kIonicNotConverged) << rel;
    EXPECT_NE(r.error_message.find("the relaxation did not converge"), std::string::npos) << rel;
    EXPECT_TRUE(r.total_energy_ry) << rel;  // the last geometry's energy stands
  }
  EXPECT_STREQ(to_string(ErrorKind::kIonicNotConverged), "ionic_not_converged");
  // MD ends at nstep by design: the same lines are its normal end.
  for (const char* rel : {"pw67/md_verlet.out", "pw67/md_langevin.out", "pw67/vcmd_w.out", "pw67/vcmd_pr.out",
                          "debian/PW-example03-si.md2.out.gz"})
    EXPECT_EQ(parse_corpus(rel).error_kind, ErrorKind::kNone) << rel;
}

TEST(OutputOutcomes, BfgsThatGivesUpIsNotConverged) {
  const std::string base = read_output("outputs-corpus/pw67/relax_bfgs.out");
  // QE >= 7.1 (bfgs_module.f90, terminate_bfgs): "bfgs failed after N scf cycles and M bfgs steps, ...".
  Results failed =
      parse_text(edit(base, "bfgs converged in   4 scf cycles and   3 bfgs steps",
                      "bfgs failed after   4 scf cycles and   3 bfgs steps, convergence not achieved"));
  EXPECT_EQ(failed.error_kind, ErrorKind::kIonicNotConverged);
  // QE 6.x: an infomsg, then "bfgs converged" all the same.
  Results reset = parse_text(edit(base, "     bfgs converged in",
                                  "     Message from routine bfgs:\n"
                                  "     history already reset at previous step: stopping\n\n"
                                  "     bfgs converged in"));
  EXPECT_EQ(reset.error_kind, ErrorKind::kIonicNotConverged);
  EXPECT_NE(reset.error_message.find("history already reset"), std::string::npos);
  // BFGS's own error boxes: the relaxation cannot go on.
  EXPECT_EQ(output_text::classify_error("bfgs", "NR step-length unreasonably short"),
            ErrorKind::kIonicNotConverged);
  // FIRE (QE >= 7.0, move_ions.f90) at nstep: the same line, then "End of FIRE minimization".
  std::string fire = read_output("outputs-corpus/cases/p4-fire_relax_reported_scf-qe7.0rc1.out");
  fire = edit(fire, "     FIRE: convergence achieved in   8 steps\n",
              "     The maximum number of steps has been reached.\n");
  Results f = parse_text(fire);
  EXPECT_EQ(f.calculation, "relax");
  EXPECT_EQ(f.error_kind, ErrorKind::kIonicNotConverged);
}

TEST(OutputOutcomes, IonicNotConvergedMapsToNotConvergedAndExit4) {
  Results r = parse_corpus("pw67/relax_bfgs_nstep.out");
  // pw.x itself exits 3 when the ions did not converge (run_pwscf.f90); the text decides, the code agrees.
  Outcome oc = classify_outcome(r, ExitStatus{3, 0}, false);
  EXPECT_EQ(oc.state, JobState::kNotConverged);
  EXPECT_EQ(oc.exit_code, kExitNotConverged);
  EXPECT_EQ(oc.message, r.error_message);
  EXPECT_EQ(results_from_json(to_json(r)).error_kind, ErrorKind::kIonicNotConverged);
}

// p11: every diagonalizer's own stop message is classified, with or without an error box.
TEST(OutputOutcomes, DiagonalizerStopsAreDiagonalizationFailures) {
  Results p11 = parse_corpus("cases/p11-ppcg_qr_failed_stop-qe7.4.out");
  EXPECT_EQ(p11.error_kind, ErrorKind::kDiagonalizationFailed);
  EXPECT_NE(p11.error_message.find("qr(X, 0) failed"), std::string::npos);
  // The same stop in a 6.7 PPCG run, and LAXlib's ELPA stops (print, then stop: no box either).
  const std::string ppcg = cut_before(read_output("outputs-corpus/pw67/scf_ppcg.out"), "total energy");
  for (const char* stop : {" [Q, R] = qr(X, 0) failed", " Problem initializing ELPA. Aborting ...",
                           " ELPA API version in use not supported. Aborting ...",
                           " Problem setting up ELPA options. Aborting ..."}) {
    Results r = parse_text(ppcg + stop + "\n");
    EXPECT_EQ(r.error_kind, ErrorKind::kDiagonalizationFailed) << stop;
  }
  // Error boxes of every diagonalizer family, 6.0-7.5 (errore / lax_error__ routine names).
  for (const char* routine :
       {"cegterg",   "regterg",     "pcegterg",       "pregterg",       "regter",     "ccgdiagg",
        "rcgdiagg",  "ppcg",        "ppcg_k",         "ppcg_gamma",     "paro_k_new", "paro_gamma",
        "crmmdiagg", "rrmmdiagg",   "rotxpsig",       "gram_schmidt_k", "cdiaghg",    "rdiaghg",
        "pcdiaghg",  "cdiaghg_gpu", "laxlib_cdiaghg", "cdiagh",         "c_bands",    "diag_bands"})
    EXPECT_EQ(output_text::classify_error(routine, "S matrix not positive definite or ..."),
              ErrorKind::kDiagonalizationFailed)
        << routine;
  EXPECT_EQ(output_text::classify_error("pzpotrf", "problems computing cholesky decomposition"),
            ErrorKind::kDiagonalizationFailed);
  std::string boxed = read_output("outputs/si_badinput.out");
  boxed = edit(boxed, "Error in routine  read_namelists", "Error in routine  crmmdiagg");
  EXPECT_EQ(parse_text(boxed).error_kind, ErrorKind::kDiagonalizationFailed);
  // Not every routine is a diagonalizer.
  EXPECT_EQ(output_text::classify_error("read_namelists", "bad line"), ErrorKind::kBadInput);
  EXPECT_EQ(output_text::classify_error("fft_scalar", "x"), ErrorKind::kCrash);
  // Every diagonalizer that converged is a success.
  for (const char* rel : {"pw67/scf_david.out", "pw67/scf_cg.out", "pw67/scf_ppcg.out", "pw67/scf_paro.out"})
    EXPECT_EQ(parse_corpus(rel).error_kind, ErrorKind::kNone) << rel;
}

// Recovery's two real pw.x 6.7 failures (tests/data/outputs/make.sh): smearing with no empty band, whose
// cure is more bands, and Davidson's "S matrix not positive definite", whose cure is another diagonalizer.
TEST(OutputOutcomes, EfermigThatCannotBracketIsTooFewBands) {
  Results r = parse_text(read_output("outputs/si_efermig.out"));
  EXPECT_EQ(r.error_kind, ErrorKind::kTooFewBands);
  EXPECT_EQ(std::string(to_string(r.error_kind)), "too_few_bands");
  EXPECT_EQ(output_text::classify_error("efermig", "internal error, cannot bracket Ef"),
            ErrorKind::kTooFewBands);
  // setup's "too few bands" is nbnd below the electrons the input asks for: the input's fault, not retried.
  EXPECT_EQ(output_text::classify_error("setup", "too few bands"), ErrorKind::kBadInput);
  EXPECT_EQ(output_text::classify_error("efermig", "something else"), ErrorKind::kCrash);
  EXPECT_EQ(parse_text(read_output("outputs/si_cholesky.out")).error_kind, ErrorKind::kDiagonalizationFailed);
}

// p10: a damaged data-file-schema.xml never hides stdout (the CLI warns and keeps stdout's results; see
// tests/e2e/cli_test.sh): merging refuses it and leaves the results as they were.
TEST(OutputOutcomes, DamagedXmlLeavesStdoutResults) {
  Results r = parse_corpus("cases/p10-truncated_xml_refuses_whole_parse-qe6.1.out");
  EXPECT_TRUE(r.job_done);
  EXPECT_EQ(*r.total_energy_ry, -22.65168737);
  const nlohmann::json before = to_json(r);
  auto merged = merge_xml_results(
      data_path("outputs-corpus/cases/p10-truncated_xml_refuses_whole_parse-qe6.1.data-file-schema.xml"), r);
  EXPECT_FALSE(merged);
  EXPECT_EQ(to_json(r), before);
}

}  // namespace
