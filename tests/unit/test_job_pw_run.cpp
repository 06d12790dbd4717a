// The one pw.x supervisor driven by a fake program (no pw.x, no MPI, no root): it parses the output live,
// writes the EXIT file on a stop signal and waits for pw.x to stop, kills it after the grace period, stops
// mpirun when a node is lost, removes a stale EXIT file, classifies the outcome and writes results.json.
#include <gtest/gtest.h>
#include <unistd.h>

#include <csignal>
#include <filesystem>
#include <fstream>
#include <thread>

#include "core/error.hpp"
#include "core/text.hpp"
#include "job/pw_run.hpp"

namespace fs = std::filesystem;
using namespace qecloud;
using namespace std::chrono_literals;

namespace {

std::vector<std::string> lines_of(const std::string& path) {
  std::vector<std::string> out;
  std::ifstream in(path);
  for (std::string l; std::getline(in, l);) out.push_back(l);
  return out;
}

// Plays pw.x: prints its script a few lines per pump, stops cleanly (as pw.x does at its next check) when
// the EXIT file appears, or dies on the signals a real process group would.
struct FakeScript {
  std::vector<std::string> lines;
  int exit_code = 0;
  bool honours_exit_file = true;  // false: a pw.x stuck in a long step, which only SIGKILL ends
  bool ignores_sigterm = false;
  std::size_t hang_after = SIZE_MAX;  // stop printing after this many lines (a step that takes long)
};

class FakePw : public RunningProgram {
 public:
  FakePw(FakeScript s, std::string exit_file, std::vector<int>* signals)
      : s_(std::move(s)), exit_file_(std::move(exit_file)), signals_(signals) {}
  using RunningProgram::pump;
  bool pump(const LineFn& on_line, std::chrono::milliseconds poll, const LineFn&) override {
    if (done_) return false;
    if (s_.honours_exit_file && fs::exists(exit_file_)) {
      on_line("     Program stopped by user request");
      on_line("   JOB DONE.");
      return finish({2, 0});
    }
    if (next_ >= s_.lines.size()) return finish({s_.exit_code, 0});
    if (next_ >= s_.hang_after) {
      std::this_thread::sleep_for(std::min(poll, 20ms));
      return true;
    }
    for (int i = 0; i < 20 && next_ < s_.lines.size() && next_ < s_.hang_after; ++i)
      on_line(s_.lines[next_++]);
    return true;
  }
  void signal_group(int sig) override {
    signals_->push_back(sig);
    if (done_) return;
    if (sig == SIGKILL || (sig == SIGTERM && !s_.ignores_sigterm)) finish({-1, sig});
  }
  std::optional<ExitStatus> wait_for(std::chrono::milliseconds) override {
    if (done_) return status_;
    std::this_thread::sleep_for(5ms);
    return std::nullopt;
  }
  std::string copy_error() const override { return copy_error_; }
  std::string copy_error_;

 private:
  bool finish(ExitStatus st) {
    done_ = true;
    status_ = st;
    return false;
  }
  FakeScript s_;
  std::string exit_file_;
  std::vector<int>* signals_;
  std::size_t next_ = 0;
  bool done_ = false;
  ExitStatus status_;
};

struct Rig {
  fs::path dir = fs::temp_directory_path() / ("qecloud-pwrun-" + std::to_string(::getpid()));
  PwRun run;
  std::vector<int> signals;
  std::vector<std::string> notes;
  std::vector<SpawnOptions> started;
  int stop = 0;
  Rig() {
    fs::create_directories(dir / "out");
    run.command.argv = pw_argv({.input = "scf.in"});
    run.command.cwd = dir.string();
    run.exit_file = (dir / "out" / "si.EXIT").string();
    run.results_json = (dir / "results.json").string();
    run.grace = 300ms;
    run.lost_grace = 200ms;
  }
  ~Rig() { fs::remove_all(dir); }
  PwRunResult go(FakeScript script, PwRunEvents ev = {}, std::string copy_error = "") {
    ProgramRunner runner = [&, script, copy_error](const SpawnOptions& o) {
      started.push_back(o);
      auto p = std::make_unique<FakePw>(script, run.exit_file, &signals);
      p->copy_error_ = copy_error;
      return std::unique_ptr<RunningProgram>(std::move(p));
    };
    ev.on_note = [&](const std::string& n) { notes.push_back(n); };
    if (!ev.stop_signal) ev.stop_signal = [&] { return stop; };
    return run_pw(run, runner, ev);
  }
};

const std::string kData = QECLOUD_TEST_DATA;

}  // namespace

TEST(PwArgv, OneRankIsPlainPwAndSeveralGoThroughMpirun) {
  EXPECT_EQ(pw_argv({.input = "scf.in"}), (std::vector<std::string>{"pw.x", "-in", "scf.in"}));
  EXPECT_EQ(pw_argv({.mpirun = "/usr/bin/mpirun",
                     .pw = "/opt/pw.x",
                     .input = "scf.in",
                     .ranks = 4,
                     .pools = 2,
                     .oversubscribe = true,
                     .as_root = true}),
            (std::vector<std::string>{"/usr/bin/mpirun", "-np", "4", "--allow-run-as-root", "--oversubscribe",
                                      "--mca", "mpi_yield_when_idle", "1", "/opt/pw.x", "-nk", "2", "-in",
                                      "scf.in"}));
  const auto multi = pw_argv({.input = "scf.in",
                              .ranks = 6,
                              .pools = 3,
                              .hostfile = "/w/hostfile",
                              .rsh_agent = "/usr/bin/qecloud agent exec"});
  EXPECT_EQ(multi[1], "--hostfile");
  EXPECT_NE(std::find(multi.begin(), multi.end(), "/usr/bin/qecloud agent exec"), multi.end());
  EXPECT_EQ(multi.back(), "scf.in");
}

TEST(PwRun, ParsesLiveAndClassifiesASuccess) {
  Rig rig;
  FakeScript s{lines_of(kData + "/outputs/si_scf.out"), 0};
  int iterations = 0;
  PwRunEvents ev;
  ev.on_progress = [&](const qe::ProgressEvent& e) {
    iterations += e.kind == qe::ProgressEvent::Kind::kScfIteration;
  };
  const PwRunResult r = rig.go(s, ev);
  EXPECT_EQ(r.outcome.state, JobState::kSucceeded);
  EXPECT_EQ(r.outcome.exit_code, kExitOk);
  ASSERT_TRUE(r.results.total_energy_ry);
  EXPECT_NEAR(*r.results.total_energy_ry, -15.84452726, 1e-8);  // the "!" line of si_scf.out
  EXPECT_GT(iterations, 3);
  EXPECT_TRUE(rig.signals.empty());
  EXPECT_NE(text::read_file(rig.run.results_json).find("total_energy_ry"), std::string::npos);
  EXPECT_EQ(rig.started.size(), 1u);
  EXPECT_EQ(rig.started[0].argv, rig.run.command.argv);
  // Unbuffered Fortran stdout: an error box printed just before MPI_ABORT reaches the parser.
  EXPECT_EQ(rig.started[0].env_overrides.at("GFORTRAN_UNBUFFERED_PRECONNECTED"), "y");
}

TEST(PwRun, AStopSignalWritesTheExitFileAndPwStopsCleanly) {
  Rig rig;
  FakeScript s{lines_of(kData + "/outputs/si_scf.out"), 0};
  s.hang_after = 140;  // in the SCF loop
  int polls = 0;
  PwRunEvents ev;
  ev.stop_signal = [&] { return ++polls > 5 ? SIGTERM : 0; };
  const PwRunResult r = rig.go(s, ev);
  EXPECT_EQ(r.outcome.state, JobState::kStopped);
  EXPECT_EQ(r.outcome.exit_code, kExitStopped);
  EXPECT_EQ(r.stop_signal, SIGTERM);
  EXPECT_FALSE(r.killed);
  EXPECT_TRUE(rig.signals.empty());             // pw.x stopped by itself: no signal was needed
  EXPECT_FALSE(fs::exists(rig.run.exit_file));  // removed afterwards: it would stop the next run at once
  ASSERT_FALSE(rig.notes.empty());
  EXPECT_NE(rig.notes[0].find("asking pw.x to stop"), std::string::npos);
}

TEST(PwRun, APwThatDoesNotStopIsKilledAfterTheGrace) {
  Rig rig;
  FakeScript s{lines_of(kData + "/outputs/si_scf.out"), 0};
  s.hang_after = 140;
  s.honours_exit_file = false;
  PwRunEvents ev;
  ev.stop_signal = [] { return SIGINT; };
  const auto t0 = std::chrono::steady_clock::now();
  const PwRunResult r = rig.go(s, ev);
  EXPECT_GE(std::chrono::steady_clock::now() - t0, rig.run.grace);
  EXPECT_TRUE(r.killed);
  EXPECT_EQ(rig.signals, std::vector<int>{SIGKILL});
  EXPECT_EQ(r.outcome.state, JobState::kStopped);
  EXPECT_NE(r.outcome.message.find("grace"), std::string::npos);
}

TEST(PwRun, ALostNodeStopsMpirunAndFailsTheJob) {
  Rig rig;
  FakeScript s{lines_of(kData + "/outputs/si_scf.out"), 0};
  s.hang_after = 140;
  s.ignores_sigterm = true;  // mpirun hanging on a dead link: SIGTERM is not enough
  int polls = 0;
  PwRunEvents ev;
  ev.lost = [&]() -> std::optional<std::string> {
    if (++polls < 3) return std::nullopt;
    return std::string("node 2 lost: no heartbeat for 5 s");
  };
  const PwRunResult r = rig.go(s, ev);
  EXPECT_EQ(rig.signals, (std::vector<int>{SIGTERM, SIGKILL}));
  EXPECT_EQ(r.outcome.state, JobState::kFailed);
  EXPECT_EQ(r.outcome.exit_code, kExitNodeLost);
  EXPECT_EQ(r.outcome.message, "node 2 lost: no heartbeat for 5 s");
}

TEST(PwRun, AStaleExitFileIsRemovedBeforeTheRun) {
  Rig rig;
  std::ofstream(rig.run.exit_file).put('\n');
  FakeScript s{lines_of(kData + "/outputs/si_scf.out"), 0};
  const PwRunResult r = rig.go(s);
  EXPECT_EQ(r.outcome.state, JobState::kSucceeded);  // the stale file did not stop it
  ASSERT_FALSE(rig.notes.empty());
  EXPECT_NE(rig.notes[0].find("stale"), std::string::npos);
}

TEST(PwRun, ConvergenceNotAchievedIsNotAStop) {
  Rig rig;
  FakeScript s{lines_of(kData + "/outputs/si_notconv.out"), 2};  // pw.x's exit code 2 means both
  const PwRunResult r = rig.go(s);
  EXPECT_EQ(r.outcome.state, JobState::kNotConverged);
  EXPECT_EQ(r.outcome.exit_code, kExitNotConverged);
}

TEST(PwRun, AnIncompleteStdoutCopyIsReported) {
  Rig rig;
  FakeScript s{lines_of(kData + "/outputs/si_scf.out"), 0};
  const PwRunResult r = rig.go(s, {}, "/full/disk/pw.out: No space left on device");
  ASSERT_EQ(r.not_written.size(), 1u);
  EXPECT_NE(r.not_written[0].find("No space left"), std::string::npos);
  EXPECT_EQ(r.outcome.state, JobState::kSucceeded);  // the run itself is whole; the caller reports the loss
}
