#include "qe/validator.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>

#include <filesystem>

#include <fmt/format.h>

#include "core/env.hpp"
#include "core/error.hpp"
#include "core/paths.hpp"
#include "core/process.hpp"
#include "core/text.hpp"
#include "qe/pw_schema.hpp"
#include "qe/validator_checks.hpp"

namespace qecloud::qe {
namespace detail {

std::string Checks::judged_for() const {
  if (!env.qe_version) return {};
  return fmt::format("; the pw.x that will run this is {}{}", env.qe_version->str(),
                     env.qe_version_source.empty() ? "" : fmt::format(" ({})", env.qe_version_source));
}

bool Checks::is_set(std::string_view nl, std::string_view name) const {
  const Namelist* n = in.namelist(nl);
  if (!n) return false;
  if (std::find(n->malformed.begin(), n->malformed.end(), name) != n->malformed.end()) return true;
  return std::any_of(n->entries.begin(), n->entries.end(),
                     [&](const NamelistEntry& e) { return e.name == name; });
}

}  // namespace detail

ValidationEnv ValidationEnv::from_process_without_pw(std::string run_dir) {
  ValidationEnv env;
  env.run_dir = std::move(run_dir);
  const EnvLookup process = process_env();
  env.espresso_pseudo = env_text(process, "ESPRESSO_PSEUDO");
  env.home = env_text(process, "HOME");
  try {
    const std::string cache = qecloud_home() + "/cache";
    std::error_code ec;
    if (std::filesystem::create_directories(cache, ec) || std::filesystem::is_directory(cache, ec))
      env.cache_dir = cache;
  } catch (const Error&) {  // no home: nothing is remembered
  }
  return env;
}

ValidationEnv ValidationEnv::from_process(std::string run_dir, const std::string& program) {
  ValidationEnv env = from_process_without_pw(std::move(run_dir));
  if (std::string pw = find_program(program); !pw.empty()) {
    std::string cache;
    try {
      cache = qecloud_home() + "/pw-versions.tsv";
    } catch (const Error&) {
      cache = "/dev/null";  // no home to keep the answer in: ask every time
    }
    env.qe_version = ask_pw_version(pw, cache);
    if (env.qe_version) env.qe_version_source = pw;
  }
  env.qe_version_unknown = !env.qe_version;
  return env;
}

ValidationReport validate(const ParseResult& parsed, const ValidationEnv& env) {
  ValidationReport r;
  r.diagnostics = parsed.diagnostics;
  const PwInput& in = parsed.input;
  JobNeeds& n = r.needs;
  if (auto v = in.get_string("control", "calculation")) n.calculation = text::to_lower(*v);
  if (auto v = in.get_string("control", "prefix")) n.prefix = *v;
  if (auto v = in.get_string("control", "outdir")) n.outdir = *v;
  if (auto v = in.get_string("control", "pseudo_dir")) n.pseudo_dir = *v;
  if (auto v = in.get_int("system", "nat")) n.n_atoms = static_cast<int>(*v);
  if (auto v = in.get_int("system", "ntyp")) n.n_species = static_cast<int>(*v);
  if (auto v = in.get_int("system", "nspin")) n.nspin = static_cast<int>(*v);
  if (auto v = in.get_bool("system", "noncolin")) n.noncolin = *v;
  if (auto v = in.get_bool("system", "lspinorb"); v && *v) n.noncolin = true;
  if (n.nspin == 4) n.noncolin = true;
  n.ecutwfc_ry = in.get_real("system", "ecutwfc");
  n.ecutrho_ry = in.get_real("system", "ecutrho");
  if (auto v = in.get_int("system", "nbnd")) n.nbnd = static_cast<int>(*v);
  if (auto v = in.get_real("electrons", "conv_thr")) n.conv_thr_ry = *v;

  r.qe_version = env.qe_version;
  r.qe_version_source = env.qe_version_source;
  // A release older than the table is judged as its oldest (whose variables it is not told it lacks); one
  // newer is judged as the newest, which the table's since/until already do. Either is said in a warning.
  ValidationEnv judged = env;
  if (env.qe_version && env.qe_version->code() < oldest_known_release())
    judged.qe_version = QeVersion{oldest_known_release() / 100, oldest_known_release() % 100};
  detail::Checks c{in, judged, r.diagnostics, n, {}, 0, {}};
  detail::check_namelists(c);
  detail::check_cards(c);
  detail::check_cell(c);
  detail::check_pseudopotentials(c);
  detail::check_electrons(c);
  if (env.qe_version_unknown)
    r.diagnostics.push_back(
        in.diag({},
                fmt::format("{}: judged against every QE release from {} to {}", env.qe_version_unknown_why,
                            QeVersion{oldest_known_release() / 100, oldest_known_release() % 100}.str(),
                            QeVersion{newest_known_release() / 100, newest_known_release() % 100}.str()),
                Severity::kNote));
  if (env.qe_version && (env.qe_version->code() > newest_known_release() ||
                         env.qe_version->code() < oldest_known_release())) {
    const bool newer = env.qe_version->code() > newest_known_release();
    const QeVersion oldest{oldest_known_release() / 100, oldest_known_release() % 100};
    const QeVersion newest{newest_known_release() / 100, newest_known_release() % 100};
    r.diagnostics.push_back(in.diag(
        {},
        fmt::format("QE {} is {} than the releases qecloud knows ({} to {}): judged as {}; what changed {} is "
                    "not known",
                    env.qe_version->str(), newer ? "newer" : "older", oldest.str(), newest.str(),
                    (newer ? newest : oldest).str(), newer ? "since" : "before"),
        Severity::kWarning));
  }
  if (!has_errors(r.diagnostics)) detail::count_kpoints(c);
  return r;
}

ValidationReport validate_file(const std::string& path, const ValidationEnv& env) {
  auto refuse = [&](std::string why) {
    ValidationReport r;
    r.diagnostics.push_back({Severity::kError, path, {}, std::move(why), "", ""});
    return r;
  };
  // O_NONBLOCK: opening a FIFO for reading would otherwise wait for a writer. What was opened is then
  // checked with fstat, so nothing can be swapped in between.
  const int fd = ::open(path.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC);
  if (fd < 0) return refuse(fmt::format("cannot read the input file: {}", std::strerror(errno)));
  struct Closer {
    int fd;
    ~Closer() { ::close(fd); }
  } closer{fd};
  struct stat st {};
  if (::fstat(fd, &st) != 0) return refuse("cannot read the input file");
  if (S_ISDIR(st.st_mode)) return refuse("is a directory, not a pw.x input file");
  if (!S_ISREG(st.st_mode))
    return refuse(fmt::format("is not a regular file ({}): pw.x inputs are files",
                              S_ISFIFO(st.st_mode)   ? "a FIFO"
                              : S_ISCHR(st.st_mode)  ? "a character device"
                              : S_ISBLK(st.st_mode)  ? "a block device"
                              : S_ISSOCK(st.st_mode) ? "a socket"
                                                     : "not a file"));
  const std::string too_big = fmt::format("is larger than {} MiB: pw.x inputs are kilobytes; refused unread",
                                          kMaxInputBytes / (1024 * 1024));
  if (st.st_size > kMaxInputBytes) return refuse(too_big);
  // Read at most one byte past the limit: a file that grows after fstat is still refused, never held whole.
  std::string content(static_cast<size_t>(st.st_size) + 1, '\0');
  size_t got = 0;
  while (true) {
    if (got == content.size()) {
      if (content.size() > static_cast<size_t>(kMaxInputBytes)) return refuse(too_big);
      content.resize(std::min(content.size() * 2, static_cast<size_t>(kMaxInputBytes) + 1));
    }
    const ssize_t n = ::read(fd, content.data() + got, content.size() - got);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return refuse(fmt::format("cannot read the input file: {}", std::strerror(errno)));
    if (n == 0) break;
    got += static_cast<size_t>(n);
  }
  content.resize(got);
  return validate(parse_pw_input(content, path), env);
}

}  // namespace qecloud::qe

namespace qecloud::qe {

nlohmann::json to_json(const ValidationReport& r) {
  using nlohmann::json;
  json diags = json::array();
  int errors = 0, warnings = 0;
  for (const auto& d : r.diagnostics) {
    if (d.severity == Severity::kError) ++errors;
    if (d.severity == Severity::kWarning) ++warnings;
    json j{{"severity", to_string(d.severity)},
           {"file", d.file},
           {"line", d.loc.line},
           {"column", d.loc.column},
           {"message", d.message}};
    if (!d.field.empty()) j["field"] = d.field;
    diags.push_back(std::move(j));
  }
  const JobNeeds& n = r.needs;
  json pseudos = json::array();
  for (const auto& p : n.pseudos)
    pseudos.push_back({{"label", p.label},
                       {"file", p.file},
                       {"path", p.path},
                       {"format", p.format},
                       {"element", p.element}});
  json k{{"mode", n.kpoints_mode}};
  if (n.kpoint_grid) k["grid"] = *n.kpoint_grid, k["shift"] = *n.kpoint_shift;
  if (n.kpoints_listed) k["listed"] = *n.kpoints_listed;
  if (n.irreducible_kpoints)
    k["irreducible"] = *n.irreducible_kpoints;
  else if (!n.irreducible_kpoints_note.empty())
    k["irreducible_note"] = n.irreducible_kpoints_note;
  json needs{{"calculation", n.calculation}, {"prefix", n.prefix},          {"outdir", n.outdir},
             {"n_atoms", n.n_atoms},         {"n_species", n.n_species},    {"nspin", n.nspin},
             {"noncolin", n.noncolin},       {"pseudopotentials", pseudos}, {"kpoints", k}};
  if (n.ecutwfc_ry) needs["ecutwfc_ry"] = *n.ecutwfc_ry;
  if (n.ecutrho_ry) needs["ecutrho_ry"] = *n.ecutrho_ry;
  if (n.nbnd) needs["nbnd"] = *n.nbnd;
  json release = nullptr;
  if (r.qe_version) release = json{{"version", r.qe_version->str()}, {"source", r.qe_version_source}};
  return json{{"valid", r.ok()},      {"qe_version", release}, {"errors", errors},
              {"warnings", warnings}, {"diagnostics", diags},  {"needs", needs}};
}

}  // namespace qecloud::qe
