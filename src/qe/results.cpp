#include "qe/results.hpp"

namespace qecloud::qe {

const char* to_string(ErrorKind k) {
  switch (k) {
    case ErrorKind::kNone:
      return "";
    case ErrorKind::kBadInput:
      return "bad_input";
    case ErrorKind::kScfNotConverged:
      return "scf_not_converged";
    case ErrorKind::kIonicNotConverged:
      return "ionic_not_converged";
    case ErrorKind::kStoppedByUser:
      return "stopped_by_user";
    case ErrorKind::kOutOfWalltime:
      return "out_of_walltime";
    case ErrorKind::kDiagonalizationFailed:
      return "diagonalization_failed";
    case ErrorKind::kTooFewBands:
      return "too_few_bands";
    case ErrorKind::kCrash:
      return "crash";
    case ErrorKind::kIncomplete:
      return "incomplete";
  }
  return "";
}

namespace {

using nlohmann::json;

template <typename T>
void put(json& j, const char* key, const std::optional<T>& v) {
  if (v) j[key] = *v;
}

json vecs(const std::vector<Vec3>& v) {
  json a = json::array();
  for (const auto& x : v) a.push_back(x);
  return a;
}

ErrorKind error_kind_from(const std::string& s) {
  for (auto k : {ErrorKind::kBadInput, ErrorKind::kScfNotConverged, ErrorKind::kIonicNotConverged,
                 ErrorKind::kStoppedByUser, ErrorKind::kOutOfWalltime, ErrorKind::kDiagonalizationFailed,
                 ErrorKind::kTooFewBands, ErrorKind::kCrash, ErrorKind::kIncomplete})
    if (s == to_string(k)) return k;
  return ErrorKind::kNone;
}

template <typename T>
std::optional<T> opt(const json& j, const char* key) {
  if (!j.contains(key) || j[key].is_null()) return std::nullopt;
  return j[key].get<T>();
}

}  // namespace

json to_json(const Results& r) {
  json j;
  j["qe_version"] = r.qe_version;
  j["calculation"] = r.calculation;
  j["job_done"] = r.job_done;
  put(j, "total_energy_ry", r.total_energy_ry);
  if (r.total_energy_ry) j["total_energy_ev"] = *r.total_energy_ry * kRydbergEv;
  put(j, "fermi_energy_ev", r.fermi_energy_ev);
  put(j, "fermi_energy_up_ev", r.fermi_energy_up_ev);
  put(j, "fermi_energy_down_ev", r.fermi_energy_down_ev);
  if (!r.forces_ry_bohr.empty()) j["forces_ry_bohr"] = vecs(r.forces_ry_bohr);
  put(j, "total_force_ry_bohr", r.total_force_ry_bohr);
  if (r.stress_kbar) j["stress_kbar"] = *r.stress_kbar;
  put(j, "pressure_kbar", r.pressure_kbar);
  j["scf_iterations"] = r.scf_iterations;
  j["scf_converged"] = r.scf_converged;
  j["scf_accuracy_ry"] = r.scf_accuracy_ry;
  put(j, "n_kpoints", r.n_kpoints);
  put(j, "n_atoms", r.n_atoms);
  if (r.total_magnetization || r.absolute_magnetization) {
    json m;
    put(m, "total", r.total_magnetization);
    put(m, "absolute", r.absolute_magnetization);
    j["magnetization"] = m;
  }
  json steps = json::array();
  for (const auto& s : r.steps) {
    json st;
    put(st, "energy_ry", s.energy_ry);
    st["forces_ry_bohr"] = vecs(s.forces_ry_bohr);
    st["positions"] = vecs(s.positions);
    st["positions_units"] = s.positions_units;
    st["labels"] = s.labels;
    if (s.cell) st["cell"] = *s.cell, st["cell_units"] = s.cell_units;
    put(st, "alat_bohr", s.alat_bohr);
    steps.push_back(std::move(st));
  }
  j["steps"] = std::move(steps);
  put(j, "wall_time_s", r.wall_time_s);
  put(j, "cpu_time_s", r.cpu_time_s);
  json p = json::object();
  put(p, "mpi_processes", r.parallel.mpi_processes);
  put(p, "pools", r.parallel.pools);
  put(p, "threads", r.parallel.threads);
  put(p, "nodes", r.parallel.nodes);
  j["parallel"] = p;
  j["error_kind"] = r.error_kind == ErrorKind::kNone ? json(nullptr) : json(to_string(r.error_kind));
  if (!r.error_message.empty()) j["error_message"] = r.error_message;
  if (!r.warnings.empty()) j["warnings"] = r.warnings;
  return j;
}

Results results_from_json(const json& j) {
  Results r;
  r.qe_version = j.value("qe_version", "");
  r.calculation = j.value("calculation", "");
  r.job_done = j.value("job_done", false);
  r.total_energy_ry = opt<double>(j, "total_energy_ry");
  r.fermi_energy_ev = opt<double>(j, "fermi_energy_ev");
  r.fermi_energy_up_ev = opt<double>(j, "fermi_energy_up_ev");
  r.fermi_energy_down_ev = opt<double>(j, "fermi_energy_down_ev");
  if (j.contains("forces_ry_bohr")) r.forces_ry_bohr = j["forces_ry_bohr"].get<std::vector<Vec3>>();
  r.total_force_ry_bohr = opt<double>(j, "total_force_ry_bohr");
  r.stress_kbar = opt<Mat3>(j, "stress_kbar");
  r.pressure_kbar = opt<double>(j, "pressure_kbar");
  r.scf_iterations = j.value("scf_iterations", 0);
  r.scf_converged = j.value("scf_converged", false);
  if (j.contains("scf_accuracy_ry")) r.scf_accuracy_ry = j["scf_accuracy_ry"].get<std::vector<double>>();
  r.n_kpoints = opt<int>(j, "n_kpoints");
  r.n_atoms = opt<int>(j, "n_atoms");
  if (j.contains("magnetization")) {
    r.total_magnetization = opt<double>(j["magnetization"], "total");
    r.absolute_magnetization = opt<double>(j["magnetization"], "absolute");
  }
  for (const auto& s : j.value("steps", json::array())) {
    IonicStep st;
    st.energy_ry = opt<double>(s, "energy_ry");
    st.forces_ry_bohr = s.value("forces_ry_bohr", std::vector<Vec3>{});
    st.positions = s.value("positions", std::vector<Vec3>{});
    st.positions_units = s.value("positions_units", "");
    st.labels = s.value("labels", std::vector<std::string>{});
    st.cell = opt<Mat3>(s, "cell");
    st.cell_units = s.value("cell_units", "");
    st.alat_bohr = opt<double>(s, "alat_bohr");
    r.steps.push_back(std::move(st));
  }
  r.wall_time_s = opt<double>(j, "wall_time_s");
  r.cpu_time_s = opt<double>(j, "cpu_time_s");
  if (j.contains("parallel")) {
    const auto& p = j["parallel"];
    r.parallel = {opt<int>(p, "mpi_processes"), opt<int>(p, "pools"), opt<int>(p, "threads"),
                  opt<int>(p, "nodes")};
  }
  if (j.contains("error_kind") && j["error_kind"].is_string())
    r.error_kind = error_kind_from(j["error_kind"]);
  r.error_message = j.value("error_message", "");
  r.warnings = j.value("warnings", std::vector<std::string>{});
  return r;
}

}  // namespace qecloud::qe
