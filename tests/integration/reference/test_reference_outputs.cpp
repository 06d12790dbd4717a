// Every pw.x output shipped in Debian's quantum-espresso examples (reference*/…/*.out*, gzip, QE 4.x–6.x of
// several vintages) must parse, and what the parser reports must agree with the text itself: the last '!'
// energy to its last printed digit, JOB DONE, the atom and k-point counts, forces and stress when printed,
// the ionic steps' contract (an energy each, the last one the run's, a cell only with alat/bohr/angstrom),
// and the outcome (a relaxation stopped at nstep is ionic_not_converged). The expectations come from
// deliberately simple scans of the text written here, not from the parser's code. One test per output file,
// named after its path, so a failure names the file and the field; the counts are printed at the end
// ("reference outputs: N files, A agree, D disagree"). A missing corpus FAILS (CI installs
// quantum-espresso): it must never pass by finding nothing.
#include <gtest/gtest.h>
#include <zlib.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <regex>

#include "qe/output_parser.hpp"

namespace fs = std::filesystem;
using namespace qecloud;

namespace {

const fs::path kExamples = "/usr/share/doc/quantum-espresso/examples";

// The file's text, inflated when gzip (zlib reads plain files as they are); at most `limit` bytes.
std::string read_text(const fs::path& p, size_t limit = std::string::npos) {
  gzFile f = gzopen(p.c_str(), "rb");
  if (!f) return {};
  std::string out;
  char buf[1 << 16];
  int n;
  while (out.size() < limit && (n = gzread(f, buf, sizeof buf)) > 0) out.append(buf, static_cast<size_t>(n));
  gzclose(f);
  return out;
}

bool under_reference_dir(const fs::path& p) {
  for (const auto& part : p.lexically_relative(kExamples))
    if (part.string().rfind("reference", 0) == 0) return true;
  return false;
}

// pw.x outputs: any file below a reference* directory, at any depth, whose head says "Program PWSCF".
const std::vector<fs::path>& pw_outputs() {
  static const std::vector<fs::path> files = [] {
    std::vector<fs::path> out;
    std::error_code ec;
    if (!fs::is_directory(kExamples, ec)) return out;
    for (const auto& e : fs::recursive_directory_iterator(kExamples, ec)) {
      if (!e.is_regular_file() || !under_reference_dir(e.path())) continue;
      if (read_text(e.path(), 16384).find("Program PWSCF") != std::string::npos) out.push_back(e.path());
    }
    std::sort(out.begin(), out.end());
    return out;
  }();
  return files;
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\r' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}
bool starts(std::string_view s, std::string_view p) {
  return s.substr(0, p.size()) == p;
}

// What the text says, by independent scans.
struct Expect {
  std::string version;           // after "Program PWSCF v."
  std::string last_bang_energy;  // the last '!'/'!!' total energy, as printed
  bool job_done = false;
  std::optional<int> nat, nks;
  bool forces = false, stress = false;
  std::string last_pressure;  // P= of the last stress block, as printed
  bool error_routine = false, stopped = false, out_of_time = false;
  bool last_scf_not_converged = false;
  bool relaxation = false, max_steps = false;  // a relaxation that stopped at nstep did not converge
};

Expect scan(const std::string& text) {
  Expect x;
  static const std::regex bang(R"(^!!?\s+total energy\s+=\s+(\S+)\s+Ry)");
  static const std::regex program(R"(Program PWSCF\s+v\.(\S+))");
  size_t start = 0;
  while (start < text.size()) {
    size_t nl = text.find('\n', start);
    if (nl == std::string::npos) nl = text.size();
    const std::string_view line(text.data() + start, nl - start);
    start = nl + 1;
    const std::string_view t = trim(line);
    std::cmatch m;
    if (!line.empty() && line[0] == '!' && std::regex_search(line.begin(), line.end(), m, bang))
      x.last_bang_energy = m[1];
    if (starts(t, "Program PWSCF") && x.version.empty() && std::regex_search(t.begin(), t.end(), m, program))
      x.version = m[1];
    if (starts(t, "JOB DONE.")) x.job_done = true;
    if (starts(t, "number of atoms/cell")) x.nat = std::atoi(std::string(t.substr(t.find('=') + 1)).c_str());
    if (starts(t, "number of k points=")) x.nks = std::atoi(std::string(t.substr(t.find('=') + 1)).c_str());
    if (starts(t, "Forces acting on atoms")) x.forces = true;
    if (starts(t, "total   stress")) {
      x.stress = true;
      const size_t p = t.find("P=");
      if (p != std::string_view::npos) x.last_pressure = std::string(trim(t.substr(p + 2)));
    }
    if (starts(t, "Error in routine")) x.error_routine = true;
    if (starts(t, "Program stopped by user request")) x.stopped = true;
    if (starts(t, "Maximum CPU time exceeded")) x.out_of_time = true;
    if (starts(t, "convergence NOT achieved")) x.last_scf_not_converged = true;
    if (starts(t, "convergence has been achieved")) x.last_scf_not_converged = false;
    if (starts(t, "BFGS Geometry Optimization") || starts(t, "Damped Dynamics Calculation") ||
        t.find("Dynamics Minimization") != std::string_view::npos)
      x.relaxation = true;
    if (starts(t, "The maximum number of steps has been reached") ||
        starts(t, "Maximum number of iterations reached"))
      x.max_steps = true;
  }
  return x;
}

std::string test_name(const fs::path& p) {
  std::string s = p.lexically_relative(kExamples).string();
  std::string
      name;  // gtest names are [A-Za-z0-9_]: '+' and '-' (single_+0.10 vs single_-0.10) are spelled out
  for (char c : s) {
    if (std::isalnum(static_cast<unsigned char>(c)))
      name += c;
    else if (c == '+')
      name += "plus";
    else if (c == '-')
      name += "minus";
    else
      name += '_';
  }
  return name;
}

// Files whose every field agreed, and those with a disagreement, printed in the log at the end of the run.
struct Counts : testing::Environment {
  int agree = 0, disagree = 0;
  void TearDown() override {
    std::printf("reference outputs: %d files, %d agree, %d disagree\n", agree + disagree, agree, disagree);
  }
};
Counts* const counts = static_cast<Counts*>(testing::AddGlobalTestEnvironment(new Counts));

class ReferenceOutput : public testing::TestWithParam<fs::path> {
 protected:
  void TearDown() override { ++(HasFailure() ? counts->disagree : counts->agree); }
};

TEST_P(ReferenceOutput, AgreesWithItsText) {
  const fs::path& f = GetParam();
  const Expect x = scan(read_text(f));
  qe::Results r;
  ASSERT_NO_THROW(r = qe::parse_output_file(f.string())) << f;

  EXPECT_FALSE(r.qe_version.empty()) << "field qe_version";
  EXPECT_EQ(r.qe_version, x.version) << "field qe_version";
  EXPECT_EQ(r.job_done, x.job_done) << "field job_done";
  if (!x.last_bang_energy.empty()) {
    ASSERT_TRUE(r.total_energy_ry) << "field total_energy_ry: missing, printed " << x.last_bang_energy;
    EXPECT_EQ(*r.total_energy_ry, std::strtod(x.last_bang_energy.c_str(), nullptr))
        << "field total_energy_ry: printed " << x.last_bang_energy;
    // To the last printed digit: the value, printed with as many decimals as pw.x used, is pw.x's text.
    const size_t dot = x.last_bang_energy.find('.');
    const int decimals = dot == std::string::npos ? 0 : static_cast<int>(x.last_bang_energy.size() - dot - 1);
    char buf[64];
    std::snprintf(buf, sizeof buf, "%.*f", decimals, *r.total_energy_ry);
    EXPECT_EQ(std::string(buf), x.last_bang_energy) << "field total_energy_ry";
  } else {
    EXPECT_FALSE(r.total_energy_ry) << "field total_energy_ry: no '!' line was printed";
  }
  EXPECT_EQ(r.n_atoms, x.nat) << "field n_atoms";
  EXPECT_EQ(r.n_kpoints, x.nks) << "field n_kpoints";
  if (x.forces && x.nat) {
    EXPECT_EQ(r.forces_ry_bohr.size(), static_cast<size_t>(*x.nat)) << "field forces_ry_bohr: one per atom";
  }
  EXPECT_EQ(r.stress_kbar.has_value(), x.stress) << "field stress_kbar: 3x3 when 'total   stress' printed";
  if (!x.last_pressure.empty() && x.last_pressure.find('*') == std::string::npos) {
    ASSERT_TRUE(r.pressure_kbar) << "field pressure_kbar";
    EXPECT_EQ(*r.pressure_kbar, std::strtod(x.last_pressure.c_str(), nullptr)) << "field pressure_kbar";
  }
  static const std::vector<std::string> kCalculations = {"scf",      "nscf", "bands", "relax",
                                                         "vc-relax", "md",   "vc-md"};
  EXPECT_NE(std::find(kCalculations.begin(), kCalculations.end(), r.calculation), kCalculations.end())
      << "field calculation: " << r.calculation;

  // Ionic steps: each has an energy, the last one's is the run's, and a cell only with its units.
  for (const auto& st : r.steps) {
    EXPECT_TRUE(st.energy_ry) << "field steps: a step without an energy";
    const bool known_units =
        st.cell_units == "alat" || st.cell_units == "bohr" || st.cell_units == "angstrom";
    EXPECT_EQ(st.cell.has_value(), known_units) << "field steps: cell_units '" << st.cell_units << "'";
  }
  if (!r.steps.empty() && r.steps.back().energy_ry) {
    EXPECT_EQ(r.steps.back().energy_ry, r.total_energy_ry) << "field steps: the last step's energy";
  }

  // The outcome: none iff JOB DONE and the last SCF converged and nothing stopped or failed.
  const bool ionic_stop = x.relaxation && x.max_steps;
  const bool clean = x.job_done && !x.last_scf_not_converged && !x.error_routine && !x.stopped &&
                     !x.out_of_time && !ionic_stop;
  EXPECT_EQ(r.error_kind == qe::ErrorKind::kNone, clean)
      << "field error_kind: " << qe::to_string(r.error_kind) << " (" << r.error_message << ")";
  if (x.error_routine) {
    EXPECT_NE(r.error_kind, qe::ErrorKind::kIncomplete) << "field error_kind: an error block was printed";
  } else if (x.stopped) {
    EXPECT_EQ(r.error_kind, qe::ErrorKind::kStoppedByUser) << "field error_kind";
  } else if (x.last_scf_not_converged) {
    EXPECT_EQ(r.error_kind, qe::ErrorKind::kScfNotConverged) << "field error_kind";
  } else if (ionic_stop) {
    EXPECT_EQ(r.error_kind, qe::ErrorKind::kIonicNotConverged) << "field error_kind";
  } else if (!x.job_done) {
    EXPECT_EQ(r.error_kind, qe::ErrorKind::kIncomplete) << "field error_kind";
  }
}

INSTANTIATE_TEST_SUITE_P(DebianQeExamples, ReferenceOutput, testing::ValuesIn(pw_outputs()),
                         [](const testing::TestParamInfo<fs::path>& info) { return test_name(info.param); });

// The corpus itself: present, and as large as Debian ships it (291 pw.x outputs in QE 6.7's examples).
TEST(ReferenceCorpus, IsInstalled) {
  ASSERT_TRUE(fs::is_directory(kExamples)) << kExamples << " missing: install Debian's quantum-espresso";
  EXPECT_GE(pw_outputs().size(), 250u) << "expected hundreds of pw.x reference outputs under " << kExamples;
  std::printf("reference corpus: %zu pw.x outputs\n", pw_outputs().size());
}

}  // namespace
