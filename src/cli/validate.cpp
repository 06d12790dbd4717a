// `qecloud validate INPUT [--json] [--run-dir DIR]`: report every problem of a pw.x input at once.
#include <cstdio>
#include <filesystem>

#include <fmt/format.h>
#include <CLI/CLI.hpp>

#include "cli/blas_note.hpp"
#include "cli/commands.hpp"
#include "core/error.hpp"
#include "core/json_text.hpp"
#include "image/labels.hpp"
#include "qe/validator.hpp"

namespace qecloud::cli {
namespace {

std::string join_grid(const std::array<int, 3>& g, const char* sep) {
  return fmt::format("{}{}{}{}{}", g[0], sep, g[1], sep, g[2]);
}

// The BLAS pw.x will use: the image's (its label) with --image, else the local pw.x's.
struct BlasLine {
  std::string text;  // "OpenBLAS (/usr/lib/…/libblas.so.3)"
  std::string warning;
};
BlasLine blas_line(const std::optional<image::ImageRelease>& img) {
  if (img) return {img->blas.empty() ? "not recorded in the image" : img->blas, ""};
  const auto b = pw_blas("pw.x");
  if (!b) return {};
  return {b->blas.describe(), b->blas.reference ? reference_blas_warning(*b) : ""};
}

void print_summary(const std::string& file, const qe::ValidationReport& r, const BlasLine& blas) {
  const auto& n = r.needs;
  fmt::print("{}: {}{}\n", file, r.ok() ? "valid" : "INVALID",
             r.qe_version ? fmt::format(" for QE {} ({})", r.qe_version->str(), r.qe_version_source)
                          : " for any QE release the table knows");
  if (!r.ok()) return;
  fmt::print("  calculation       {}\n", n.calculation);
  std::string labels;
  for (const auto& p : n.pseudos) labels += (labels.empty() ? "" : " ") + p.label;
  fmt::print("  atoms             {} ({} species: {})\n", n.n_atoms, n.n_species, labels);
  for (const auto& p : n.pseudos)
    fmt::print("  pseudopotential   {:<4} {} ({}{})\n", p.label, p.path, p.format,
               p.element.empty() ? "" : ", element " + p.element);
  if (n.kpoint_grid) {
    fmt::print("  k-points          automatic {} shift {}", join_grid(*n.kpoint_grid, "x"),
               join_grid(*n.kpoint_shift, " "));
    if (n.irreducible_kpoints)
      fmt::print(": {} irreducible\n", *n.irreducible_kpoints);
    else
      fmt::print(" (irreducible count unknown: {})\n", n.irreducible_kpoints_note);
  } else if (n.kpoints_listed) {
    fmt::print("  k-points          {} listed ({})\n", *n.kpoints_listed, n.kpoints_mode);
  }
  if (n.ecutwfc_ry) fmt::print("  ecutwfc           {} Ry\n", *n.ecutwfc_ry);
  if (n.nspin != 1 || n.noncolin)
    fmt::print("  spin              {}\n", n.noncolin ? "noncollinear" : "collinear (nspin=2)");
  if (!blas.text.empty()) fmt::print("  BLAS              {}\n", blas.text);
}

// --image: the release the image's label records (nullopt and a message when it records none).
std::optional<image::ImageRelease> image_release_or_say(const std::string& name) {
  if (name.empty()) return std::nullopt;
  auto r = image::image_release(name);
  if (!r)
    throw UsageError(
        fmt::format("--image {}: no QE release recorded for it here; run `qecloud image test {}` "
                    "first (or name the release: --qe-version)",
                    name, name));
  return r;
}

}  // namespace

int cmd_validate(std::vector<std::string> args) {
  CLI::App app{
      "Check a pw.x input and its pseudopotentials before anything runs. Every problem is reported "
      "at once as file:line:col. Also prints what the job needs (atoms, species, irreducible k-points).",
      args[0]};
  std::string input;
  std::string run_dir;
  std::string qe_version;
  bool json = false;
  app.add_option("INPUT", input, "pw.x input file")->required();
  app.add_flag("--json", json, "print one JSON object (diagnostics and needs) on stdout");
  app.add_option("--run-dir", run_dir,
                 "directory pw.x will run in; relative pseudo_dir/outdir resolve against it "
                 "(default: the input file's directory)");
  app.add_option("--qe-version", qe_version,
                 "judge the input for this QE release (6.5 ... 7.5) instead of the pw.x found on PATH");
  std::string image_name;
  app.add_option("--image", image_name,
                 "judge the input for the pw.x of this container image (the release `qecloud image test` "
                 "recorded in its labels)")
      ->excludes("--qe-version");
  if (auto rc = parse_command_line(app, args)) return *rc;
  const auto img = image_release_or_say(image_name);
  if (img) qe_version = img->qe_version;
  std::optional<qe::QeVersion> wanted;
  if (!qe_version.empty()) {
    wanted = qe::QeVersion::parse(qe_version);
    if (!wanted) {
      fmt::print(stderr, "qecloud validate: --qe-version '{}' is not a release such as 6.7 or 7.3\n",
                 qe_version);
      return kExitUsage;
    }
  }
  if (run_dir.empty()) {
    auto parent = std::filesystem::path(input).parent_path();
    run_dir = parent.empty() ? "." : parent.string();
  }
  qe::ValidationEnv env;
  if (wanted) {
    // The caller names the release: no need to ask the local pw.x.
    env = qe::ValidationEnv::from_process_without_pw(run_dir);
    env.qe_version = wanted;
    env.qe_version_source = img ? img->source : "--qe-version";
  } else {
    env = qe::ValidationEnv::from_process(run_dir);
  }
  auto report = qe::validate_file(input, env);
  const BlasLine blas = blas_line(img);
  if (json) {
    auto j = qe::to_json(report);
    if (!blas.text.empty()) j["blas"] = {{"description", blas.text}, {"warning", blas.warning}};
    fmt::print("{}\n", json_text(j));
  } else {
    std::fputs(format_diagnostics(report.diagnostics).c_str(), stderr);
    if (!blas.warning.empty()) fmt::print(stderr, "qecloud: warning: {}\n", blas.warning);
    print_summary(input, report, blas);
  }
  return report.ok() ? kExitOk : kExitBadInput;
}

}  // namespace qecloud::cli
