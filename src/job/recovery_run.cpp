// The loop around job/pw_run that job/recovery's steps drive (declared in job/recovery.hpp).
#include <filesystem>
#include <fstream>
#include <sstream>

#include <fmt/format.h>

#include "job/recovery.hpp"
#include "job/store_layout.hpp"

namespace fs = std::filesystem;

namespace qecloud {
namespace {

std::string read_text(const std::string& path) {
  std::ifstream in(path);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

// pw.x 6.x writes the density as charge-density.dat, or .hdf5 when built with HDF5.
bool has_charge_density(const std::string& save_dir) {
  std::error_code ec;
  return !save_dir.empty() && (fs::exists(fs::path(save_dir) / "charge-density.dat", ec) ||
                               fs::exists(fs::path(save_dir) / "charge-density.hdf5", ec));
}

// An attempt's pw.out, pw.err and CRASH (pw.x appends to a CRASH it finds) moved aside before the next
// attempt writes its own: pw.out → pw.attempt1.out. Returns the paths kept.
std::vector<std::string> keep_attempt(const PwRun& run, std::size_t attempt) {
  std::vector<std::string> kept;
  const std::string crash = (fs::path(run.command.cwd) / output_name::kCrash).string();
  for (const std::string& p : {run.command.stdout_path, run.command.stderr_path, crash}) {
    if (p.empty() || !fs::exists(p)) continue;
    const fs::path from(p);
    const fs::path to = from.parent_path() / fmt::format("{}.attempt{}{}", from.stem().string(), attempt,
                                                         from.extension().string());
    std::error_code ec;
    fs::rename(from, to, ec);
    if (!ec) kept.push_back(to.string());
  }
  return kept;
}

}  // namespace

RecoveredRun run_pw_recovering(const RecoveringRun& rr, const ProgramRunner& runner, const PwRunEvents& ev) {
  RecoveredRun out;
  for (;;) {
    out.last = run_pw(rr.run, runner, ev);
    const RecoveryFacts facts =
        recovery_facts(out.last, read_text(rr.input),
                       rr.density_on_every_node && has_charge_density(rr.save_dir), rr.job_id);
    RecoveryDecision d = decide_recovery(facts, out.steps, rr.policy);
    const bool stopping = ev.stop_signal && ev.stop_signal() != 0;  // a Ctrl-C between two attempts
    if (d.step && stopping) d.reason = "stopped before recovery " + std::to_string(out.steps.size() + 1);
    if (!d.step || stopping) {
      if (!d.reason.empty() && ev.on_note) ev.on_note(d.reason);
      out.last.outcome.message = recovery_message(out.last.outcome.message, out.steps, d.reason);
      return out;
    }
    for (auto& k : keep_attempt(rr.run, out.steps.size() + 1)) out.kept.push_back(std::move(k));
    qe::edit_input_file(rr.input, d.step->edits);
    if (rr.on_recovery) rr.on_recovery(*d.step);
    out.steps.push_back(std::move(*d.step));
  }
}

}  // namespace qecloud
