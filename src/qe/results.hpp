#pragma once
// The results of one pw.x run: what `qecloud parse` prints and what results.json holds.
// The JSON field names are a contract (other tools and tests read them); units are in the names.
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "qe/pw_input.hpp"

namespace qecloud::qe {

// Why a run did not produce a usable result. kNone when it did.
enum class ErrorKind {
  kNone,
  kBadInput,               // pw.x rejected the input (read_namelists, readpp, read_cards, ...)
  kScfNotConverged,        // "convergence NOT achieved"
  kStoppedByUser,          // <prefix>.EXIT file or signal: restart data written
  kOutOfWalltime,          // max_seconds reached
  kDiagonalizationFailed,  // cdiaghg/rdiaghg/... "problems computing cholesky" / "S matrix not positive"
  kCrash,                  // any other %%%% error block, or MPI abort
  kIncomplete,             // output ends without JOB DONE and without a known reason
};
const char* to_string(ErrorKind k);  // "bad_input", "scf_not_converged", ... (empty string for kNone)

struct IonicStep {
  std::optional<double> energy_ry;
  std::vector<Vec3> forces_ry_bohr;
  std::vector<Vec3> positions;  // in positions_units
  std::string positions_units;  // alat | bohr | angstrom | crystal, as pw.x printed them
  std::vector<std::string> labels;
  std::optional<Mat3> cell;         // in cell_units, for vc-relax / vc-md
  std::string cell_units;           // alat | bohr | angstrom
  std::optional<double> alat_bohr;  // when cell_units is alat
};

struct ParallelInfo {
  std::optional<int> mpi_processes;
  std::optional<int> pools;
  std::optional<int> threads;
  std::optional<int> nodes;
};

struct Results {
  std::string qe_version;   // "6.7MaX"
  std::string calculation;  // scf | nscf | bands | relax | vc-relax | md | vc-md
  bool job_done = false;
  std::optional<double> total_energy_ry;  // final '!' energy (or '!!' for hybrid functionals)
  std::optional<double> fermi_energy_ev;
  std::vector<Vec3> forces_ry_bohr;
  std::optional<double> total_force_ry_bohr;
  std::optional<Mat3> stress_kbar;
  std::optional<double> pressure_kbar;
  int scf_iterations = 0;               // of the last SCF cycle
  bool scf_converged = false;           // of the last SCF cycle
  std::vector<double> scf_accuracy_ry;  // estimated scf accuracy per iteration, last SCF cycle
  std::optional<int> n_kpoints;
  std::optional<int> n_atoms;
  std::optional<double> total_magnetization;     // Bohr mag / cell
  std::optional<double> absolute_magnetization;  // Bohr mag / cell
  std::vector<IonicStep> steps;                  // one per ionic step for relax / vc-relax / md
  std::optional<double> wall_time_s;
  std::optional<double> cpu_time_s;
  ParallelInfo parallel;
  ErrorKind error_kind = ErrorKind::kNone;
  std::string error_message;
  std::vector<std::string> warnings;  // pw.x's "Message from routine ..." lines and similar
};

// The JSON contract. Absent optionals are omitted; total_energy_ev is derived (1 Ry = 13.605693122994 eV,
// CODATA 2018, the value QE 6.x/7.x prints with).
nlohmann::json to_json(const Results& r);
Results results_from_json(const nlohmann::json& j);

inline constexpr double kRydbergEv = 13.605693122994;

}  // namespace qecloud::qe
