#pragma once
// `qecloud validate`: everything pw.x would reject — and a few things it silently gets wrong — found before
// anything runs, all reported at once. Also says what the job will need (atoms, species, k-points), which the
// parallel planner uses.
#include <array>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/diagnostic.hpp"
#include "qe/pw_input.hpp"
#include "qe/qe_version.hpp"

namespace qecloud::qe {

// Where pw.x would look for files, and which pw.x will read the input. Filled from the real environment by
// the CLI, by hand in tests.
struct ValidationEnv {
  std::string run_dir = ".";                   // pw.x's working directory: relative paths resolve here
  std::optional<std::string> espresso_pseudo;  // $ESPRESSO_PSEUDO
  std::optional<std::string> home;             // $HOME
  // The QE release of the pw.x that will run the input: variables, values and cards of other releases are
  // errors naming the release they need. nullopt: judged against every release of the table (6.5 – 7.5).
  std::optional<QeVersion> qe_version;
  std::string
      qe_version_source;  // where the version came from, for messages: "/usr/bin/pw.x", "--qe-version"
  // Set when the caller looked for the pw.x that will run the input and found none: the report then says it
  // judged against every release, and why the release is not known.
  bool qe_version_unknown = false;
  std::string qe_version_unknown_why = "no pw.x found and no --qe-version given";
  // Where results that only depend on the input are remembered (the irreducible k-point count); empty: not.
  std::string cache_dir;
  // $ESPRESSO_PSEUDO and $HOME, and the version of the pw.x that will run the input — `pw`, a name looked up
  // in $PATH or a path (asked once, cached in $QECLOUD_HOME by path, mtime and size).
  static ValidationEnv from_process(std::string run_dir, const std::string& pw = "pw.x");
  // The same without asking pw.x: for a caller that names the release itself.
  static ValidationEnv from_process_without_pw(std::string run_dir);
};

// pw.x inputs are kilobytes; anything larger is refused before it is read (validate_file).
inline constexpr long long kMaxInputBytes = 16LL * 1024 * 1024;

struct PseudoNeed {
  std::string label;
  std::string file;    // as written in ATOMIC_SPECIES
  std::string path;    // where it was found; empty when not found
  std::string format;  // "UPF v2", "UPF v1", "legacy-…"; empty when not inspected
  std::string element;
};

// What the job needs, for the planner and for people. Fields are absent when the input is too broken to say.
struct JobNeeds {
  std::string calculation = "scf";
  std::string prefix = "pwscf";
  std::string outdir = "./";
  std::string
      pseudo_dir;  // as written; empty when not set (pw.x then uses $ESPRESSO_PSEUDO, ~/espresso/pseudo)
  int n_atoms = 0;
  int n_species = 0;
  int nspin = 1;
  bool noncolin = false;
  std::vector<PseudoNeed> pseudos;
  std::string kpoints_mode;
  std::optional<std::array<int, 3>> kpoint_grid;
  std::optional<std::array<int, 3>> kpoint_shift;
  std::optional<int> kpoints_listed;       // explicit lists
  std::optional<int> irreducible_kpoints;  // automatic grids, by symmetry (spglib)
  std::string irreducible_kpoints_note;    // why it could not be computed, when it could not
  std::optional<double> ecutwfc_ry;
  std::optional<double> ecutrho_ry;
  std::optional<int> nbnd;
  double conv_thr_ry = 1e-6;  // pw.x's default
};

struct ValidationReport {
  std::vector<Diagnostic> diagnostics;  // syntax and semantic, errors and warnings
  JobNeeds needs;
  std::optional<QeVersion> qe_version;  // the release it was judged for; nullopt: every release
  std::string qe_version_source;
  bool ok() const { return !has_errors(diagnostics); }
};

ValidationReport validate(const ParseResult& parsed, const ValidationEnv& env);
// Reads, parses and validates a file; an unreadable file is one diagnostic, not an exception. Only a regular
// file of at most kMaxInputBytes is read: a FIFO, a device or a directory would block or never end.
ValidationReport validate_file(const std::string& path, const ValidationEnv& env);

nlohmann::json to_json(const ValidationReport& r);

}  // namespace qecloud::qe
