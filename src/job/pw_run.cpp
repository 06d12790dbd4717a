#include "job/pw_run.hpp"

#include <csignal>
#include <cstring>
#include <filesystem>
#include <fstream>

#include <fmt/format.h>

#include "core/error.hpp"
#include "core/json_text.hpp"
#include "qe/xml_results.hpp"

namespace fs = std::filesystem;
using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

namespace qecloud {

std::vector<std::string> pw_argv(const MpiLaunch& m) {
  const bool multi_node = !m.hostfile.empty() || m.scheduler_launch;
  if (m.ranks <= 1 && !multi_node) return {m.pw, "-in", m.input};
  std::vector<std::string> argv = {m.mpirun};
  if (!m.hostfile.empty()) argv.insert(argv.end(), {"--hostfile", m.hostfile});
  argv.insert(argv.end(), {"-np", std::to_string(m.ranks)});
  if (multi_node) argv.insert(argv.end(), {"--map-by", "slot", "--display-map"});
  // Through the agents, the hostfile is the whole allocation: inside a Slurm (or Grid Engine) job mpirun
  // would otherwise take the scheduler's launcher and node list over ours (OpenMPI 4.1 picks plm/slurm and
  // ras/slurm whenever SLURM_JOB_ID is set).
  if (!m.rsh_agent.empty())
    argv.insert(argv.end(), {"--mca", "plm", "rsh", "--mca", "ras", "^slurm,gridengine", "--mca",
                             "plm_rsh_agent", m.rsh_agent, "--mca", "plm_rsh_no_tree_spawn", "1"});
  if (!m.network.empty())
    argv.insert(argv.end(),
                {"--mca", "btl_tcp_if_include", m.network, "--mca", "oob_tcp_if_include", m.network});
  if (m.as_root) argv.push_back("--allow-run-as-root");
  if (m.oversubscribe) argv.push_back("--oversubscribe");
  if (m.oversubscribe || m.yield_when_idle) argv.insert(argv.end(), {"--mca", "mpi_yield_when_idle", "1"});
  argv.insert(argv.end(), {m.pw, "-nk", std::to_string(m.pools), "-in", m.input});
  return argv;
}

namespace {

// What the supervision loop decides, one check at a time.
class Supervisor {
 public:
  Supervisor(const PwRun& run, const PwRunEvents& ev, RunningProgram& proc)
      : run_(run), ev_(ev), proc_(proc) {}

  void check() {
    if (ev_.on_tick) ev_.on_tick();
    const auto now = Clock::now();
    if (ev_.lost && !lost_ && (lost_ = ev_.lost())) {
      note(*lost_ + ": stopping mpirun");
      proc_.signal_group(SIGTERM);
      kill_at_ = std::min(kill_at_, now + run_.lost_grace);
    }
    if (ev_.stop_signal && !stopping_ && (signal_ = ev_.stop_signal())) {
      stopping_ = true;
      std::ofstream(run_.exit_file).put('\n');  // pw.x stops cleanly at its next check, writes restart data
      kill_at_ = std::min(kill_at_, now + run_.grace);
      note(fmt::format("{} received: asking pw.x to stop (up to {} s)", strsignal(signal_),
                       std::chrono::duration_cast<std::chrono::seconds>(run_.grace).count()));
    }
    if (!killed_ && now > kill_at_) {
      proc_.signal_group(SIGKILL);
      killed_ = true;
      note(lost_ ? "mpirun did not stop in time: killed" : "pw.x did not stop in time: killed");
    }
  }
  bool killed() const { return killed_; }
  int signal() const { return signal_; }
  const std::optional<std::string>& lost() const { return lost_; }

 private:
  void note(const std::string& s) {
    if (ev_.on_note) ev_.on_note(s);
  }
  const PwRun& run_;
  const PwRunEvents& ev_;
  RunningProgram& proc_;
  std::optional<std::string> lost_;
  bool stopping_ = false, killed_ = false;
  int signal_ = 0;
  Clock::time_point kill_at_ = Clock::time_point::max();
};

void remove_exit_file(const std::string& path, const PwRunEvents& ev, bool stale) {
  std::error_code ec;
  if (fs::remove(path, ec) && stale && ev.on_note)  // a leftover would stop pw.x at its first check
    ev.on_note("removed a stale " + path);
}

Outcome decide(const PwRunResult& r) {
  Outcome oc = classify_outcome(r.results, r.status, r.killed);
  if (r.lost) return {JobState::kFailed, kExitNodeLost, *r.lost};
  if (r.stop_signal && oc.state == JobState::kFailed)
    return {JobState::kStopped, kExitStopped, "stopped by signal"};
  return oc;
}

}  // namespace

PwRunResult run_pw(const PwRun& run, const ProgramRunner& runner, const PwRunEvents& ev) {
  fs::create_directories(fs::path(run.exit_file).parent_path());
  remove_exit_file(run.exit_file, ev, true);
  PwRunResult r;
  qe::OutputParser parser(ev.on_progress);
  {
    // gfortran buffers stdout that is not a terminal, and MPI_ABORT does not flush it: a one-rank pw.x 6.7
    // whose LAXlib stops (cdiaghg's "S matrix not positive definite") lost its error box, leaving an
    // output that ends mid-iteration (measured; under mpirun the ranks write to a terminal and keep it).
    SpawnOptions command = run.command;
    command.env_overrides.emplace("GFORTRAN_UNBUFFERED_PRECONNECTED", "y");
    std::unique_ptr<RunningProgram> proc = runner(command);
    Supervisor sup(run, ev, *proc);
    std::optional<ExitStatus> status;
    // A pw.x killed mid-line leaves a torn last line: never read as data ("!    total energy = -14.4").
    while (proc->pump([&](std::string_view l) { parser.feed(l); }, 100ms,
                      [&](std::string_view tail) { parser.feed_partial(tail); }))
      sup.check();
    while (!(status = proc->wait_for(100ms))) sup.check();
    r.status = *status;
    r.killed = sup.killed();
    r.stop_signal = sup.signal();
    r.lost = sup.lost();
    if (auto e = proc->copy_error(); !e.empty()) r.not_written.push_back(e);
  }
  remove_exit_file(run.exit_file, ev, false);

  r.results = parser.finish();
  if (!run.xml.empty() && fs::exists(run.xml)) (void)qe::merge_xml_results(run.xml, r.results);
  r.outcome = decide(r);
  if (!run.results_json.empty()) {
    std::ofstream out(run.results_json);
    out << json_text(qe::to_json(r.results)) << '\n';
    out.flush();
    if (!out) r.not_written.push_back(fmt::format("{}: {}", run.results_json, std::strerror(errno)));
  }
  return r;
}

}  // namespace qecloud
