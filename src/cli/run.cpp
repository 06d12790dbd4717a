// `qecloud run INPUT`: validate, plan the layout, run pw.x here with live progress, keep every result.
#include <unistd.h>

#include <cmath>
#include <csignal>
#include <cstdio>
#include <filesystem>

#include <fmt/format.h>
#include <CLI/CLI.hpp>

#include "backends/backend.hpp"
#include "cli/blas_note.hpp"
#include "cli/commands.hpp"
#include "core/error.hpp"
#include "core/json_text.hpp"
#include "core/process.hpp"
#include "image/build.hpp"
#include "image/labels.hpp"

namespace qecloud::cli {
namespace {

// SCF progress on stderr: a bar that redraws in place on a terminal, one plain line per event otherwise.
class ProgressView {
 public:
  explicit ProgressView(bool quiet) : quiet_(quiet), tty_(::isatty(STDERR_FILENO) != 0) {}

  void layout(const qe::Layout& l, const qe::JobNeeds& n) {
    conv_thr_ = n.conv_thr_ry;
    if (quiet_) return;
    fmt::print(stderr, "qecloud: {} — {} atoms, {}; layout: {}\n", n.calculation, n.n_atoms,
               n.irreducible_kpoints ? fmt::format("{} k-points", *n.irreducible_kpoints)
                                     : fmt::format("{} k-points listed", n.kpoints_listed.value_or(1)),
               l.why);
  }

  void event(const qe::ProgressEvent& e) {
    if (quiet_) return;
    using K = qe::ProgressEvent::Kind;
    if (e.kind == K::kIonicStep) {
      end_line();
      fmt::print(stderr, "ionic step {}\n", e.ionic_step);
    } else if (e.kind == K::kScfIteration && e.scf_accuracy_ry) {
      if (!first_acc_ || e.iteration == 1) first_acc_ = *e.scf_accuracy_ry;
      // Progress on a log scale from the first accuracy down to conv_thr.
      double span = std::log10(*first_acc_ / conv_thr_);
      double done = span > 0 ? std::log10(*first_acc_ / *e.scf_accuracy_ry) / span : 1;
      done = std::clamp(done, 0.0, 1.0);
      std::string line = fmt::format("SCF iteration {:3d}  accuracy {:9.2e} Ry  (conv_thr {:.0e})",
                                     e.iteration, *e.scf_accuracy_ry, conv_thr_);
      if (tty_) {
        int filled = static_cast<int>(done * 30);
        fmt::print(stderr, "\r{} [{}{}]", line, std::string(static_cast<size_t>(filled), '#'),
                   std::string(static_cast<size_t>(30 - filled), '.'));
        open_line_ = true;
      } else {
        fmt::print(stderr, "{}\n", line);
      }
    } else if (e.kind == K::kScfConverged && e.energy_ry) {
      end_line();
      fmt::print(stderr, "SCF converged: E = {:.8f} Ry\n", *e.energy_ry);
    } else if (e.kind == K::kScfFailed) {
      end_line();
      fmt::print(stderr, "SCF did NOT converge after {} iterations\n", e.iteration);
    }
  }

  void note(const std::string& s) {
    if (quiet_) return;
    end_line();
    fmt::print(stderr, "qecloud: {}\n", s);
  }

  void end_line() {
    if (open_line_) std::fputc('\n', stderr), open_line_ = false;
  }

 private:
  bool quiet_, tty_;
  double conv_thr_ = 1e-6;
  std::optional<double> first_acc_;
  bool open_line_ = false;
};

std::optional<int> parse_auto(const std::string& v, const char* what) {
  if (v.empty() || v == "auto") return std::nullopt;
  try {
    size_t used = 0;
    int n = std::stoi(v, &used);
    if (used == v.size()) return n;
  } catch (const std::exception&) {
  }
  throw UsageError(fmt::format("{} must be a number or 'auto', got '{}'", what, v));
}

void print_result(const backends::RunResult& res, bool json) {
  if (json) {
    fmt::print("{}\n", json_text(res.to_json()));
  } else {
    fmt::print("job {}: {}", res.job_id, to_string(res.state));
    if (res.results.total_energy_ry) fmt::print(", E = {:.8f} Ry", *res.results.total_energy_ry);
    if (res.results.wall_time_s) fmt::print(", {:.1f} s", *res.results.wall_time_s);
    fmt::print("\n");
    if (!res.message.empty()) fmt::print("  {}\n", res.message);
    if (!res.outputs_url.empty()) fmt::print("  outputs: {}\n", res.outputs_url);
  }
  std::fflush(stdout);
}

// --image: the image's root filesystem (unpacked once) for the nodes, and the release its label records.
void use_image(backends::JobOptions& o, const std::string& name, ProgressView& view) {
  if (o.nodes < 2)
    throw UsageError(
        "--image runs a multi-node rehearsal inside the image: give --nodes N (N >= 2); to run the "
        "silicon example in it, `qecloud image test IMAGE`");
  const image::Engine engine = image::find_run_engine("");
  const image::Rootfs root = image::unpack_rootfs(engine, name, [&](const std::string& s) { view.note(s); });
  o.image = name;
  o.rootfs = root.path;
  if (auto it = root.labels.find(image::label::kQeVersion); it != root.labels.end()) {
    o.qe_version = qe::QeVersion::parse(it->second);
    o.qe_version_source = fmt::format("image {}'s label {}", name, image::label::kQeVersion);
  }
  const auto blas = root.labels.find(image::label::kBlas);
  view.note(
      fmt::format("image {} ({}): pw.x {}, {}", name, root.id.substr(0, 12),
                  o.qe_version ? o.qe_version->str() : "of an unknown release (run `qecloud image test`)",
                  blas == root.labels.end() ? "BLAS not recorded" : blas->second));
}

}  // namespace

int cmd_run(std::vector<std::string> args) {
  return run_job(std::move(args), nullptr);
}

int run_job(std::vector<std::string> args, std::shared_ptr<const ResumePlan> resume) {
  CLI::App app{
      "Run pw.x on INPUT here: validate it (nothing runs when it is invalid), choose ranks and k-point "
      "pools, show SCF progress, and keep inputs, outputs, restart data and results.json in the store "
      "and the job database. Ctrl-C/SIGTERM stops pw.x cleanly (restart data kept). Exit status: 0 "
      "converged and done, 3 bad input, 4 SCF not converged, 5 stopped, 6 crashed.",
      args[0]};
  backends::JobOptions o;
  std::string ranks = "auto", pools = "auto";
  bool json = false, quiet = false, no_recover = false;
  app.add_option("INPUT", o.input, "pw.x input file")->required();
  app.add_option("--ranks", ranks, "MPI ranks, or 'auto' (= the free physical cores)");
  app.add_option("--pools", pools, "k-point pools (-nk), or 'auto' (from the irreducible k-points)");
  app.add_flag("--oversubscribe", o.oversubscribe,
               "allow more ranks than physical cores (ranks yield when idle)");
  app.add_option("--store", o.store_url,
                 "where to keep the job's files (file://DIR; default $QECLOUD_HOME/store)");
  app.add_option("--name", o.name, "a name for the job (default: the input's file name)");
  app.add_option("--grace", o.grace_s, "seconds pw.x gets to stop after Ctrl-C/SIGTERM before it is killed")
      ->check(CLI::Range(0, 86400));
  std::string time_limit;
  app.add_option(
      "--time", time_limit,
      "the run's time limit (3600, 90m, 12h): pw.x is told to stop (max_seconds) early enough to write "
      "its restart data and have it stored; `qecloud resume` continues");
  app.add_option("--pw", o.pw, "the pw.x program (a name in PATH, or a path)")->default_str("pw.x");
  app.add_option("--mpirun", o.mpirun, "the mpirun program")->default_str("mpirun");
  app.add_flag("--no-recover", no_recover,
               "no automatic recovery: an SCF that does not converge, a failed diagonalization or too few "
               "bands end the job instead of rerunning it with a changed setting");
  app.add_option("--nodes", o.nodes,
                 "rehearse a multi-node job: N network-namespace hosts on this machine, each running a real "
                 "`qecloud agent` with AWS Batch's environment (needs root)")
      ->check(CLI::Range(1, 200));
  app.add_option("--slots-per-node", o.slots_per_node,
                 "with --nodes: MPI slots per node (default: cores / N)")
      ->check(CLI::Range(1, 4096));
  app.add_option("--join-timeout", o.join_timeout_s, "with --nodes: seconds the main waits for every node")
      ->default_val(60)
      ->check(CLI::Range(1, 86400));
  app.add_option(
         "--inject-fault", o.faults,
         "with --nodes, for tests: KIND:NODE[:SECONDS], KIND = no-start, wrong-secret, kill-agent, "
         "link-down (the last two SECONDS after mpirun starts), or terminate:all:SECONDS (AWS Batch's "
         "stop: SIGTERM to every node, SIGKILL 30 s later)")
      ->group("");
  std::string image_name;
  app.add_option(
      "--image", image_name,
      "with --nodes: every node runs inside this container image (unpacked once, shared read-only): "
      "its own qecloud, mpirun and pw.x, as on AWS Batch");
  app.add_flag("--json", json, "print one JSON object: job_id, state, exit_code, layout, results, outputs");
  app.add_flag("-q,--quiet", quiet, "no progress on stderr");
  if (auto rc = parse_command_line(app, args)) return *rc;
  if (!time_limit.empty()) o.run_time_limit_s = parse_duration(time_limit, "--time");
  o.ranks = parse_auto(ranks, "--ranks");
  o.pools = parse_auto(pools, "--pools");
  o.recover = !no_recover;
  o.given = given_options(app, {"--json", "--quiet", "INPUT"});
  if (o.nodes == 1) o.given.erase("--nodes");
  for (std::string* program : {&o.pw, &o.mpirun})  // a relative path means here, not the job's directory
    if (program->find('/') != std::string::npos) *program = std::filesystem::absolute(*program).string();
  if (o.nodes == 1 && !o.faults.empty()) throw UsageError("--inject-fault needs --nodes");
  if (resume && (o.ranks || o.pools))
    throw UsageError(
        fmt::format("--ranks/--pools: a resume keeps job {}'s layout ({} ranks, {} pools): pw.x's "
                    "restart files are per rank",
                    resume->from.id, resume->manifest.ranks, resume->manifest.pools));
  o.resume = std::move(resume);
  if (o.nodes > 1 && (o.ranks || o.pools))
    throw UsageError("--ranks/--pools with --nodes: the main node plans the layout from the slots that join");
  ProgressView view(quiet);
  if (!image_name.empty()) {
    use_image(o, image_name, view);
  } else {
    if (find_program(o.pw).empty())  // refused before a job is recorded or mpirun started
      throw UsageError(o.pw.find('/') != std::string::npos
                           ? fmt::format("--pw: no program {}", o.pw)
                           : fmt::format("--pw: no {} in PATH; install Debian's quantum-espresso (apt-get "
                                         "install quantum-espresso) or give its path",
                                         o.pw));
    note_blas(o.pw, quiet);
  }
  backends::RunObserver obs;
  // Diagnostics go out before anything runs (errors mean nothing will).
  obs.on_validated = [&](const qe::ValidationReport& r) {
    std::fputs(format_diagnostics(r.diagnostics).c_str(), stderr);
  };
  obs.on_layout = [&](const qe::Layout& l, const qe::JobNeeds& n) { view.layout(l, n); };
  obs.on_progress = [&](const qe::ProgressEvent& e) { view.event(e); };
  obs.on_note = [&](const std::string& s) { view.note(s); };
  const backends::Backend& backend = backends::named(o.nodes > 1 ? "netns" : "local");
  const backends::RunResult res = backend.run(o, obs);
  view.end_line();
  print_result(res, json);
  if (res.stop_signal) {  // the exit status must say we were stopped by that signal
    std::signal(res.stop_signal, SIG_DFL);
    std::raise(res.stop_signal);
  }
  return res.exit_code;
}

}  // namespace qecloud::cli
