// QE-aware recovery: the decision (which edits follow which failure, the bounds, what is never retried)
// and the loop around job/pw_run, driven by a fake pw.x that replays real pw.x 6.7 outputs.
#include <gtest/gtest.h>
#include <unistd.h>

#include <csignal>
#include <deque>
#include <filesystem>
#include <fstream>
#include <sstream>

#include <fmt/format.h>

#include "core/error.hpp"
#include "core/text.hpp"
#include "job/recovery.hpp"

namespace fs = std::filesystem;
using namespace qecloud;
using qe::ErrorKind;

namespace {

RecoveryFacts failed(ErrorKind k) {
  RecoveryFacts f;
  f.error = k;
  f.scf_iterations = 3;
  f.charge_density = true;
  f.job_id = "20261130-000000-abcd";
  return f;
}

std::string edits_of(const RecoveryStep& s) {
  std::string out;
  for (const auto& e : s.edits) out += (out.empty() ? "" : ", ") + e.display();
  return out;
}

}  // namespace

TEST(RecoveryDecision, ScfNotConvergedRestartsFromTheDensityWithASmallerBeta) {
  RecoveryFacts f = failed(ErrorKind::kScfNotConverged);
  const RecoveryDecision d = decide_recovery(f, {}, {});
  ASSERT_TRUE(d.step);
  EXPECT_EQ(edits_of(*d.step), "&electrons mixing_beta = 0.49, &electrons startingpot = 'file'");
  EXPECT_EQ(d.step->note,
            "SCF not converged after 3 iterations: restarting from the last charge density with mixing_beta "
            "0.7 → 0.49 (recovery 1 of 3)");
  // No density written: only the smaller beta, and the note says why.
  f.charge_density = false;
  f.mixing_beta = 0.95;
  const RecoveryDecision nd = decide_recovery(f, {}, {});
  ASSERT_TRUE(nd.step);
  EXPECT_EQ(edits_of(*nd.step), "&electrons mixing_beta = 0.665");
  EXPECT_NE(nd.step->note.find("no charge density"), std::string::npos) << nd.step->note;
}

TEST(RecoveryDecision, DiagonalizationGoesDavidThenPpcgThenCg) {
  RecoveryFacts f = failed(ErrorKind::kDiagonalizationFailed);
  f.error_message = "S matrix not positive definite";
  const std::vector<std::pair<std::string, std::string>> chain = {
      {"david", "'ppcg'"}, {"paro", "'ppcg'"}, {"ppcg", "'cg'"}};
  for (const auto& [from, to] : chain) {
    f.diagonalization = from;
    const RecoveryDecision d = decide_recovery(f, {}, {});
    ASSERT_TRUE(d.step) << from;
    EXPECT_EQ(edits_of(*d.step), "&electrons diagonalization = " + to) << from;
  }
  f.diagonalization = "cg";
  const RecoveryDecision last = decide_recovery(f, {}, {});
  EXPECT_FALSE(last.step);
  EXPECT_EQ(last.reason, "no recovery left: cg, the last of david → ppcg → cg, failed too");
}

TEST(RecoveryDecision, TooFewBandsAddsBandsAsSetupDoesForSmearing) {
  RecoveryFacts f = failed(ErrorKind::kTooFewBands);
  f.nbnd = 4;  // max(⌈4.8⌉, 8)
  ASSERT_TRUE(decide_recovery(f, {}, {}).step);
  EXPECT_EQ(edits_of(*decide_recovery(f, {}, {}).step), "&system nbnd = 8");
  f.nbnd = 40;  // max(48, 44)
  EXPECT_EQ(edits_of(*decide_recovery(f, {}, {}).step), "&system nbnd = 48");
  f.nbnd.reset();  // pw.x chose the bands itself: nothing to raise
  const RecoveryDecision none = decide_recovery(f, {}, {});
  EXPECT_FALSE(none.step);
  EXPECT_NE(none.reason.find("pw.x chose nbnd itself"), std::string::npos);
}

TEST(RecoveryDecision, WhatIsNotPwXsToCureIsNeverRetried) {
  for (ErrorKind k : {ErrorKind::kNone, ErrorKind::kBadInput, ErrorKind::kCrash, ErrorKind::kIncomplete,
                      ErrorKind::kIonicNotConverged, ErrorKind::kStoppedByUser}) {
    const RecoveryDecision d = decide_recovery(failed(k), {}, {});
    EXPECT_FALSE(d.step) << to_string(k);
    EXPECT_EQ(d.reason, "") << to_string(k);
  }
  RecoveryFacts stopped = failed(ErrorKind::kScfNotConverged);
  stopped.interrupted = true;  // a Ctrl-C, a lost node: the user's or the cluster's doing
  EXPECT_FALSE(decide_recovery(stopped, {}, {}).step);
}

TEST(RecoveryDecision, OutOfWalltimeEndsTheJobAndPointsToResume) {
  const RecoveryDecision d = decide_recovery(failed(ErrorKind::kOutOfWalltime), {}, {});
  EXPECT_FALSE(d.step);
  EXPECT_EQ(
      d.reason,
      "pw.x reached max_seconds: not rerun in this job; `qecloud resume 20261130-000000-abcd` continues "
      "from its restart data");
}

TEST(RecoveryDecision, OffMeansOff) {
  const RecoveryDecision d = decide_recovery(failed(ErrorKind::kScfNotConverged), {}, {.enabled = false});
  EXPECT_FALSE(d.step);
  EXPECT_EQ(d.reason, "automatic recovery is off (--no-recover)");
}

TEST(RecoveryDecision, BoundedAndNeverTheSameEditsTwice) {
  RecoveryFacts f = failed(ErrorKind::kScfNotConverged);
  std::vector<RecoveryStep> tried;
  for (int i = 1; i <= 3; ++i) {
    const RecoveryDecision d = decide_recovery(f, tried, {});
    ASSERT_TRUE(d.step) << i;
    EXPECT_NE(d.step->note.find(fmt::format("(recovery {} of 3)", i)), std::string::npos) << d.step->note;
    f.mixing_beta = std::stod(d.step->edits[0].value);  // what the staged input now says
    tried.push_back(*d.step);
  }
  EXPECT_EQ(tried[2].edits[0].value, "0.2401");
  const RecoveryDecision over = decide_recovery(f, tried, {});
  EXPECT_FALSE(over.step);
  EXPECT_EQ(over.reason, "gave up: 3 recoveries are the most a job gets");
  // A step whose edits were made already (the input came back to the same beta) is not made again.
  RecoveryFacts again = failed(ErrorKind::kScfNotConverged);
  const RecoveryDecision same = decide_recovery(again, std::vector<RecoveryStep>{tried[0]}, {});
  EXPECT_FALSE(same.step);
  EXPECT_EQ(same.reason.rfind("gave up: the next step was tried already (SCF not converged", 0), 0u)
      << same.reason;
}

TEST(RecoveryDecision, TheJobMessageNamesTheRecoveries) {
  RecoveryStep s{{}, "SCF not converged after 3 iterations: … (recovery 1 of 3)"};
  EXPECT_EQ(recovery_message("", std::vector<RecoveryStep>{s}, ""),
            "recovered: SCF not converged after 3 iterations: … (recovery 1 of 3)");
  EXPECT_EQ(recovery_message("convergence NOT achieved", std::vector<RecoveryStep>{s}, "gave up: x"),
            "convergence NOT achieved; recoveries tried: SCF not converged after 3 iterations: … (recovery 1 "
            "of 3); gave up: x");
  EXPECT_EQ(recovery_message("convergence NOT achieved", {}, "automatic recovery is off (--no-recover)"),
            "convergence NOT achieved; automatic recovery is off (--no-recover)");
  EXPECT_EQ(recovery_message("", {}, ""), "");
}

TEST(RecoveryFacts, ReadFromTheStagedInputAsPwXWould) {
  PwRunResult run;
  run.results.error_kind = ErrorKind::kScfNotConverged;
  run.results.scf_iterations = 2;
  const std::string input =
      "&control\n/\n&system\n ibrav=2, celldm(1)=10.2, nat=2, ntyp=1, ecutwfc=18, nbnd=6\n/\n"
      "&electrons\n diagonalization='PPCG', mixing_beta=0.9\n mixing_beta = 0.63\n/\n";
  const RecoveryFacts f = recovery_facts(run, input, true, "job");
  EXPECT_DOUBLE_EQ(f.mixing_beta, 0.63);  // a later assignment wins, as in gfortran's namelist read
  EXPECT_EQ(f.diagonalization, "ppcg");
  EXPECT_EQ(f.nbnd, 6);
  EXPECT_EQ(f.scf_iterations, 2);
  EXPECT_FALSE(f.interrupted);
  const RecoveryFacts d = recovery_facts(run, "&control\n/\n", false, "job");  // INPUT_PW's defaults
  EXPECT_DOUBLE_EQ(d.mixing_beta, 0.7);
  EXPECT_EQ(d.diagonalization, "david");
  EXPECT_FALSE(d.nbnd);
  run.stop_signal = 15;
  EXPECT_TRUE(recovery_facts(run, input, true, "job").interrupted);
}

// ---- the loop, with a fake pw.x ----

namespace {

// Prints its whole output at once and exits with its code.
class ReplayPw : public RunningProgram {
 public:
  ReplayPw(const std::string& path, int code) : code_(code) {
    std::istringstream in(text::read_file(path));
    for (std::string l; std::getline(in, l);) lines_.push_back(l);
  }
  using RunningProgram::pump;
  bool pump(const LineFn& on_line, std::chrono::milliseconds, const LineFn&) override {
    for (const auto& l : lines_) on_line(l);
    return false;
  }
  void signal_group(int) override {}
  std::optional<ExitStatus> wait_for(std::chrono::milliseconds) override { return ExitStatus{code_, 0}; }
  std::string copy_error() const override { return ""; }

 private:
  std::vector<std::string> lines_;
  int code_;
};

const std::string kData = QECLOUD_TEST_DATA;

struct LoopRig {
  fs::path dir = fs::temp_directory_path() / ("qecloud-recovery-" + std::to_string(::getpid()));
  RecoveringRun rr;
  std::deque<std::pair<std::string, int>> outputs;  // what each attempt prints, and its exit code
  std::vector<std::string> recorded, notes, inputs_seen;
  int stop = 0;
  LoopRig() {
    fs::create_directories(dir / "si.save");
    std::ofstream(dir / "si.save" / "charge-density.dat") << "density";
    std::ofstream(dir / "scf.in") << "&control\n prefix='si'\n/\n&system\n ibrav=2, celldm(1)=10.2, nat=2, "
                                     "ntyp=1, ecutwfc=18\n/\n&electrons\n mixing_beta=0.7\n/\n";
    rr.input = (dir / "scf.in").string();
    rr.save_dir = (dir / "si.save").string();
    rr.job_id = "job-1";
    rr.run.command.argv = {"pw.x", "-in", "scf.in"};
    rr.run.command.cwd = dir.string();
    rr.run.command.stdout_path = (dir / "pw.out").string();
    rr.run.exit_file = (dir / "si.EXIT").string();
    rr.on_recovery = [&](const RecoveryStep& s) { recorded.push_back(s.history()); };
  }
  ~LoopRig() { fs::remove_all(dir); }
  RecoveredRun go() {
    ProgramRunner runner = [&](const SpawnOptions& o) {
      inputs_seen.push_back(text::read_file(rr.input));
      std::ofstream(o.stdout_path) << "attempt " << inputs_seen.size() << "\n";  // as pw.x's copy would be
      auto [file, code] = outputs.front();
      outputs.pop_front();
      return std::unique_ptr<RunningProgram>(std::make_unique<ReplayPw>(kData + file, code));
    };
    PwRunEvents ev;
    ev.on_note = [&](const std::string& n) { notes.push_back(n); };
    ev.stop_signal = [&] { return stop; };
    return run_pw_recovering(rr, runner, ev);
  }
};

}  // namespace

TEST(RecoveryLoop, AnScfThatDidNotConvergeIsRerunAndRecorded) {
  LoopRig rig;
  rig.outputs = {{"/outputs/si_notconv.out", 2}, {"/outputs/si_scf.out", 0}};
  const RecoveredRun r = rig.go();
  EXPECT_EQ(r.last.outcome.state, JobState::kSucceeded);
  ASSERT_EQ(r.steps.size(), 1u);
  EXPECT_EQ(r.last.outcome.message,
            "recovered: SCF not converged after 2 iterations: restarting from the last charge density with "
            "mixing_beta 0.7 → 0.49 (recovery 1 of 3)");
  ASSERT_EQ(rig.recorded.size(), 1u);
  EXPECT_EQ(
      rig.recorded[0],
      r.steps[0].note + "; staged input: &electrons mixing_beta = 0.49, &electrons startingpot = 'file'");
  // The second attempt read the edited input; the first attempt's output was kept aside.
  ASSERT_EQ(rig.inputs_seen.size(), 2u);
  EXPECT_EQ(rig.inputs_seen[0].find("startingpot"), std::string::npos);
  EXPECT_NE(rig.inputs_seen[1].find("startingpot = 'file'"), std::string::npos) << rig.inputs_seen[1];
  ASSERT_EQ(r.kept, std::vector<std::string>{(rig.dir / "pw.attempt1.out").string()});
  EXPECT_EQ(text::read_file(r.kept[0]), "attempt 1\n");
  EXPECT_EQ(text::read_file((rig.dir / "pw.out").string()), "attempt 2\n");
}

TEST(RecoveryLoop, OnSeveralNodesTheDensityIsNotReadFromFile) {
  LoopRig rig;  // the main node's save_dir holds a density, but the children's ranks cannot read it
  rig.rr.density_on_every_node = false;
  rig.outputs = {{"/outputs/si_notconv.out", 2}, {"/outputs/si_scf.out", 0}};
  const RecoveredRun r = rig.go();
  ASSERT_EQ(r.steps.size(), 1u);
  EXPECT_EQ(edits_of(r.steps[0]), "&electrons mixing_beta = 0.49");
  EXPECT_EQ(rig.inputs_seen[1].find("startingpot"), std::string::npos);
}

TEST(RecoveryLoop, GivesUpAfterThreeRecoveriesAndSaysSo) {
  LoopRig rig;
  for (int i = 0; i < 4; ++i) rig.outputs.push_back({"/outputs/si_notconv.out", 2});
  const RecoveredRun r = rig.go();
  EXPECT_EQ(r.last.outcome.state, JobState::kNotConverged);
  EXPECT_EQ(r.last.outcome.exit_code, kExitNotConverged);
  EXPECT_EQ(r.steps.size(), 3u);
  EXPECT_EQ(rig.recorded.size(), 3u);
  EXPECT_TRUE(rig.outputs.empty());  // four attempts, no fifth
  EXPECT_EQ(r.kept.size(), 3u);
  EXPECT_NE(r.last.outcome.message.find("; gave up: 3 recoveries are the most a job gets"), std::string::npos)
      << r.last.outcome.message;
  ASSERT_FALSE(rig.notes.empty());
  EXPECT_EQ(rig.notes.back(), "gave up: 3 recoveries are the most a job gets");
}

TEST(RecoveryLoop, NoRecoverRunsOnceAndTheOutcomeStands) {
  LoopRig rig;
  rig.rr.policy.enabled = false;
  rig.outputs = {{"/outputs/si_notconv.out", 2}, {"/outputs/si_scf.out", 0}};
  const RecoveredRun r = rig.go();
  EXPECT_EQ(r.last.outcome.state, JobState::kNotConverged);
  EXPECT_EQ(r.last.results.error_kind, ErrorKind::kScfNotConverged);
  EXPECT_TRUE(r.steps.empty());
  EXPECT_EQ(rig.outputs.size(), 1u);
  EXPECT_EQ(text::read_file(rig.rr.input).find("startingpot"), std::string::npos);  // never edited
  EXPECT_NE(r.last.outcome.message.find("automatic recovery is off (--no-recover)"), std::string::npos);
}

TEST(RecoveryLoop, ABadInputIsNotRetriedNorIsAStopSignal) {
  LoopRig rig;
  rig.outputs = {{"/outputs/si_badinput.out", 1}, {"/outputs/si_scf.out", 0}};
  EXPECT_EQ(rig.go().last.outcome.state, JobState::kInvalid);
  EXPECT_EQ(rig.outputs.size(), 1u);
  LoopRig stopped;
  stopped.stop = SIGTERM;  // received while the first attempt ran
  stopped.outputs = {{"/outputs/si_notconv.out", 2}, {"/outputs/si_scf.out", 0}};
  const RecoveredRun r = stopped.go();
  EXPECT_TRUE(r.steps.empty());
  EXPECT_EQ(stopped.outputs.size(), 1u);
}
