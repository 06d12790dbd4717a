// `qecloud parse OUTPUT [--xml data-file-schema.xml] [--json]`: pw.x output → the results contract.
#include <cmath>

#include <fmt/format.h>
#include <CLI/CLI.hpp>

#include "cli/commands.hpp"
#include "core/error.hpp"
#include "core/json_text.hpp"
#include "qe/output_parser.hpp"
#include "qe/xml_results.hpp"

namespace qecloud::cli {
namespace {

void print_summary(const std::string& file, const qe::Results& r) {
  fmt::print("{}: pw.x {} {}, {}\n", file, r.qe_version.empty() ? "(version unknown)" : r.qe_version,
             r.calculation, r.job_done ? "JOB DONE" : "not finished");
  if (r.total_energy_ry)
    fmt::print("  total energy      {:.8f} Ry = {:.6f} eV\n", *r.total_energy_ry,
               *r.total_energy_ry * qe::kRydbergEv);
  if (r.fermi_energy_ev) fmt::print("  Fermi energy      {:.4f} eV\n", *r.fermi_energy_ev);
  if (r.fermi_energy_up_ev && r.fermi_energy_down_ev)
    fmt::print("  Fermi energies    {:.4f} eV (spin up), {:.4f} eV (spin down)\n", *r.fermi_energy_up_ev,
               *r.fermi_energy_down_ev);
  fmt::print("  SCF               {} after {} iterations", r.scf_converged ? "converged" : "NOT converged",
             r.scf_iterations);
  if (!r.scf_accuracy_ry.empty())
    fmt::print(" (last estimated accuracy {:.1e} Ry)", r.scf_accuracy_ry.back());
  fmt::print("\n");
  if (r.total_force_ry_bohr) fmt::print("  total force       {:.6f} Ry/bohr\n", *r.total_force_ry_bohr);
  if (r.pressure_kbar) fmt::print("  pressure          {:.2f} kbar\n", *r.pressure_kbar);
  if (r.total_magnetization)
    fmt::print("  magnetization     {:.2f} (absolute {:.2f}) Bohr mag/cell\n", *r.total_magnetization,
               r.absolute_magnetization.value_or(NAN));
  if (!r.steps.empty()) fmt::print("  ionic steps       {}\n", r.steps.size());
  if (r.n_atoms || r.n_kpoints)
    fmt::print("  system            {} atoms, {} k-points\n", r.n_atoms.value_or(0), r.n_kpoints.value_or(0));
  if (r.parallel.mpi_processes)
    fmt::print("  parallel          {} MPI processes, {} pools\n", *r.parallel.mpi_processes,
               r.parallel.pools.value_or(1));
  if (r.wall_time_s) fmt::print("  wall time         {:.2f} s\n", *r.wall_time_s);
  if (r.error_kind != qe::ErrorKind::kNone)
    fmt::print("  error             {}: {}\n", qe::to_string(r.error_kind), r.error_message);
  for (const auto& w : r.warnings) fmt::print("  warning           {}\n", w);
}

int exit_code_for(const qe::Results& r) {
  switch (r.error_kind) {
    case qe::ErrorKind::kNone:
      return r.job_done ? kExitOk : kExitCrashed;
    case qe::ErrorKind::kBadInput:
      return kExitBadInput;
    case qe::ErrorKind::kScfNotConverged:
    case qe::ErrorKind::kIonicNotConverged:
      return kExitNotConverged;
    case qe::ErrorKind::kStoppedByUser:
    case qe::ErrorKind::kOutOfWalltime:
      return kExitStopped;
    default:
      return kExitCrashed;
  }
}

}  // namespace

int cmd_parse(std::vector<std::string> args) {
  CLI::App app{
      "Parse pw.x output (and optionally data-file-schema.xml) into one results object: energies, "
      "forces, stress, SCF convergence, ionic steps, timings, parallel layout, and on failure its "
      "kind. The exit status tells the outcome: 0 done, 3 bad input (pw.x refused its input, or OUTPUT is "
      "not a pw.x output), 4 SCF or relaxation not converged, 5 stopped, 6 crashed or incomplete, 1 OUTPUT "
      "unreadable. A damaged --xml file is a warning: stdout's results stand.",
      args[0]};
  std::string output, xml;
  bool json = false;
  app.add_option("OUTPUT", output, "pw.x standard output (plain or .gz)")->required();
  app.add_option("--xml", xml, "pw.x's <outdir>/<prefix>.save/data-file-schema.xml");
  app.add_flag("--json", json, "print the results as one JSON object");
  if (auto rc = parse_command_line(app, args)) return *rc;
  qe::Results r = qe::parse_output_file(output);
  // The XML only fills gaps: a damaged one (a run killed while writing it) must not hide what stdout says.
  if (!xml.empty())
    if (auto merged = qe::merge_xml_results(xml, r); !merged) {
      r.warnings.push_back("data-file-schema.xml not used: " + merged.error());
      fmt::print(stderr, "qecloud: warning: {} (results from {} only)\n", merged.error(), output);
    }
  if (json)
    fmt::print("{}\n", json_text(qe::to_json(r)));
  else
    print_summary(output, r);
  return exit_code_for(r);
}

}  // namespace qecloud::cli
