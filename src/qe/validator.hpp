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

namespace qecloud::qe {

// Where pw.x would look for files. Filled from the real environment by the CLI, by hand in tests.
struct ValidationEnv {
  std::string run_dir = ".";                   // pw.x's working directory: relative paths resolve here
  std::optional<std::string> espresso_pseudo;  // $ESPRESSO_PSEUDO
  std::optional<std::string> home;             // $HOME
  static ValidationEnv from_process(std::string run_dir);
};

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
  bool ok() const { return !has_errors(diagnostics); }
};

ValidationReport validate(const ParseResult& parsed, const ValidationEnv& env);
// Reads, parses and validates a file; an unreadable file is one diagnostic, not an exception.
ValidationReport validate_file(const std::string& path, const ValidationEnv& env);

nlohmann::json to_json(const ValidationReport& r);

}  // namespace qecloud::qe
