#pragma once
// The results of one pw.x run: what `qecloud parse` prints and what results.json holds.
// The JSON field names are a contract (other tools and tests read them); units are in the names: Ry
// (energies), eV (Fermi energies), Ry/bohr (forces), kbar (stress, pressure), Bohr magnetons per cell
// (magnetization), seconds. Every value is the one pw.x printed (stdout keeps its printed precision);
// data-file-schema.xml only fills gaps (qe/xml_results.hpp).
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "qe/pw_input.hpp"

namespace qecloud::qe {

// Why a run did not produce a usable result. kNone when it did.
enum class ErrorKind {
  kNone,
  kBadInput,           // pw.x rejected the input (read_namelists, readpp, read_cards, ...)
  kScfNotConverged,    // "convergence NOT achieved"
  kIonicNotConverged,  // a relaxation stopped unconverged: nstep reached ("The maximum number of steps has
                       // been reached.", vc damped dynamics' "Maximum number of iterations reached"), or
                       // BFGS gave up ("bfgs failed", "history already reset ... stopping"). MD runs end at
                       // nstep by design: not this.
  kStoppedByUser,      // <prefix>.EXIT file or signal: restart data written
  kOutOfWalltime,      // max_seconds reached
  kDiagonalizationFailed,  // an error box from a diagonalizer (Davidson, CG, PPCG, ParO, RMM-DIIS, LAXlib:
                           // cdiaghg, cegterg, ppcg, paro_k, crmmdiagg, ...), "problems computing cholesky",
                           // or a diagonalizer's own stop line without a box (PPCG's "[Q, R] = qr(X, 0)
                           // failed")
  kTooFewBands,            // smearing with no empty band for the Fermi level: efermig's "internal error,
                           // cannot bracket Ef" (pw.x 6.7, nbnd = nelec/2; more bands cure it). setup's
                           // "too few bands" (nbnd below the electrons) is the input's fault: kBadInput.
  kCrash,                  // any other %%%% error block, or MPI abort
  kIncomplete,             // output ends without JOB DONE and without a known reason
};
const char* to_string(ErrorKind k);  // "bad_input", "scf_not_converged", ... (empty string for kNone)

// One geometry of a relaxation or MD run for which pw.x printed an energy. A hybrid-functional run prints
// several '!' energies (inner and outer loops) for one geometry: they are one step, with the last energy.
struct IonicStep {
  std::optional<double> energy_ry;   // the geometry's last '!' / '!!' energy
  std::vector<Vec3> forces_ry_bohr;  // one per atom, when printed (empty otherwise)
  std::vector<Vec3> positions;       // one per atom, in positions_units
  std::string positions_units;       // alat | bohr | angstrom | crystal, as pw.x printed them
  std::vector<std::string> labels;   // one per atom
  std::optional<Mat3> cell;          // rows a1, a2, a3 in cell_units, from the block that printed this
                                     // geometry's cell: the header's "crystal axes" (alat) at the start
                                     // and at a vc-relax's final SCF, or CELL_PARAMETERS; absent when
                                     // pw.x printed no cell for it
  std::string cell_units;            // alat | bohr | angstrom when cell is present, "" otherwise
  std::optional<double> alat_bohr;   // the lattice parameter alat units refer to (cell and positions)
  bool operator==(const IonicStep&) const = default;
};

struct ParallelInfo {
  std::optional<int> mpi_processes;
  std::optional<int> pools;
  std::optional<int> threads;
  std::optional<int> nodes;
  bool operator==(const ParallelInfo&) const = default;
};

struct Results {
  std::string qe_version;   // "6.7MaX"
  std::string calculation;  // scf | nscf | bands | relax | vc-relax | md | vc-md
  bool job_done = false;
  std::optional<double> total_energy_ry;     // final '!' energy (or '!!' for hybrid functionals)
  std::optional<double> fermi_energy_ev;     // the Fermi energy, when pw.x printed one
  std::optional<double> fermi_energy_up_ev;  // fixed total magnetization: pw.x prints two Fermi energies
  std::optional<double>
      fermi_energy_down_ev;          // (spin up, spin down) and no single one: fermi_energy_ev absent
  std::vector<Vec3> forces_ry_bohr;  // of the last geometry, one per atom
  std::optional<double> total_force_ry_bohr;  // of the last geometry
  std::optional<Mat3> stress_kbar;            // of the last geometry, 3x3
  std::optional<double> pressure_kbar;
  int scf_iterations = 0;      // of the last SCF cycle; when the output ends inside a cycle (walltime, kill),
                               // the iterations it printed (one estimated accuracy each)
  bool scf_converged = false;  // of the last SCF cycle
  std::vector<double> scf_accuracy_ry;  // estimated scf accuracy per iteration, last SCF cycle
  std::optional<int> n_kpoints;
  std::optional<int> n_atoms;
  std::optional<double> total_magnetization;     // Bohr mag / cell
  std::optional<double> absolute_magnetization;  // Bohr mag / cell
  std::vector<IonicStep> steps;  // one per ionic step for relax / vc-relax / md / vc-md (a vc-relax's final
                                 // SCF included); empty for single-point runs
  std::optional<double> wall_time_s;
  std::optional<double> cpu_time_s;
  ParallelInfo parallel;
  ErrorKind error_kind = ErrorKind::kNone;
  std::string error_message;
  std::vector<std::string> warnings;  // pw.x's "Message from routine ..." lines, and what the reader could
                                      // not read (a line cut in the middle, an overlong line, a damaged XML)
  bool operator==(const Results&) const = default;  // every field exactly (doubles as parsed)
};

// The JSON contract. Absent optionals are omitted; total_energy_ev is derived (1 Ry = 13.605693122994 eV,
// CODATA 2018, the value QE 6.x/7.x prints with).
nlohmann::json to_json(const Results& r);
Results results_from_json(const nlohmann::json& j);

inline constexpr double kRydbergEv = 13.605693122994;

}  // namespace qecloud::qe
