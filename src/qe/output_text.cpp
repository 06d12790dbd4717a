#include "qe/output_text.hpp"

#include <charconv>
#include <climits>
#include <cmath>
#include <string>

namespace qecloud::qe::output_text {
namespace {

bool is_digit(char c) {
  return c >= '0' && c <= '9';
}

// Where a number starts: a digit, or a sign / point that a digit (or ".digit") follows.
bool starts_number(std::string_view s, size_t i) {
  if (is_digit(s[i])) return true;
  if (s[i] != '-' && s[i] != '+' && s[i] != '.') return false;
  if (i + 1 < s.size() && is_digit(s[i + 1])) return true;
  return s[i] != '.' && i + 2 < s.size() && s[i + 1] == '.' && is_digit(s[i + 2]);
}

std::string lower(std::string_view s) {
  std::string out(s);
  for (auto& c : out)
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  return out;
}

}  // namespace

std::optional<double> next_number(std::string_view s, size_t& pos) {
  const size_t n = s.size();
  while (pos < n && !starts_number(s, pos)) {
    if (s[pos] == '*') {  // an overflowed field: this value is missing
      while (pos < n && s[pos] == '*') ++pos;
      return std::nullopt;
    }
    ++pos;
  }
  if (pos >= n) return std::nullopt;
  const char* first = s.data() + pos + (s[pos] == '+' ? 1 : 0);  // from_chars takes no '+'
  const char* last = s.data() + n;
  double v = 0;
  auto [p, ec] = std::from_chars(first, last, v);
  if (ec != std::errc()) {  // out of range, or a lone sign/point
    ++pos;
    while (pos < n && (is_digit(s[pos]) || s[pos] == '.' || s[pos] == 'e' || s[pos] == 'E')) ++pos;
    return std::nullopt;
  }
  pos = static_cast<size_t>(p - s.data());
  // Fortran's D exponent ("1.0D-05"): re-read mantissa and exponent with an 'e' in its place.
  if (pos + 1 < n && (s[pos] == 'D' || s[pos] == 'd') &&
      (is_digit(s[pos + 1]) ||
       ((s[pos + 1] == '-' || s[pos + 1] == '+') && pos + 2 < n && is_digit(s[pos + 2])))) {
    size_t end = pos + 2;
    while (end < n && is_digit(s[end])) ++end;
    char buf[64];
    const size_t len = static_cast<size_t>(s.data() + end - first);
    if (len < sizeof buf) {
      std::string_view(first, len).copy(buf, len);
      buf[pos - static_cast<size_t>(first - s.data())] = 'e';
      double w = 0;
      auto [q, ec2] = std::from_chars(buf, buf + len, w);
      if (ec2 == std::errc() && q == buf + len) v = w, pos = end;
    }
  }
  return v;
}

std::optional<double> number_after(std::string_view s, std::string_view marker) {
  size_t pos = s.find(marker);
  if (pos == std::string_view::npos) return std::nullopt;
  pos += marker.size();
  return next_number(s, pos);
}

std::optional<int> to_int(std::optional<double> v) {
  if (!v || !std::isfinite(*v) || *v < INT_MIN || *v > INT_MAX || std::trunc(*v) != *v) return std::nullopt;
  return static_cast<int>(*v);
}

std::optional<int> int_after(std::string_view s, std::string_view marker) {
  return to_int(number_after(s, marker));
}

std::optional<Vec3> vec_after(std::string_view s, std::string_view marker) {
  size_t pos = s.find(marker);
  if (pos == std::string_view::npos) return std::nullopt;
  pos += marker.size();
  Vec3 v{};
  for (auto& x : v) {
    auto n = next_number(s, pos);
    if (!n) return std::nullopt;
    x = *n;
  }
  return v;
}

std::optional<double> duration(std::string_view s) {
  size_t pos = 0;
  while (pos < s.size() && !is_digit(s[pos])) ++pos;  // " time,   4.79s" (QE 4.x) and the like
  double total = 0;
  bool any = false;
  while (pos < s.size()) {
    while (pos < s.size() && s[pos] == ' ') ++pos;
    const size_t start = pos;
    while (pos < s.size() && (is_digit(s[pos]) || s[pos] == '.')) ++pos;
    if (start == pos || pos >= s.size()) break;
    double v = 0;
    if (std::from_chars(s.data() + start, s.data() + pos, v).ec != std::errc()) break;
    const char unit = s[pos++];
    const double scale = unit == 'd' ? 86400 : unit == 'h' ? 3600 : unit == 'm' ? 60 : unit == 's' ? 1 : 0;
    if (scale == 0) break;
    total += v * scale;
    any = true;
  }
  return any ? std::optional<double>(total) : std::nullopt;
}

namespace {

// A routine of a diagonalizer or of the dense eigensolvers under them, in any version 6.0-7.5 (KS_Solvers,
// LAXlib): Davidson (cegterg, regterg, pcegterg, pregterg, ...), CG (ccgdiagg, rcgdiagg), PPCG (ppcg,
// ppcg_k, ppcg_gamma), ParO (paro_k, paro_gamma_new, ...), RMM-DIIS (crmmdiagg, rrmmdiagg), their helpers
// (rotxpsig, rothsw, gram_schmidt_k), LAXlib's (cdiaghg, pcdiaghg, laxlib_*, qe_pzheevd, pzpotrf) and the
// band loops that call them (c_bands, diag_bands). GPU variants end in "_gpu".
bool diagonalizer_routine(std::string r) {
  if (r.size() > 4 && r.compare(r.size() - 4, 4, "_gpu") == 0) r.resize(r.size() - 4);
  auto ends = [&](std::string_view s) {
    return r.size() >= s.size() && r.compare(r.size() - s.size(), s.size(), s) == 0;
  };
  auto begins = [&](std::string_view s) { return r.compare(0, s.size(), s) == 0; };
  static constexpr std::string_view kExact[] = {"c_bands",    "c_bands_efield", "c_bands_nscf", "diag_bands",
                                                "rotxpsig",   "protxpsig",      "rothsw",       "qe_pzheevd",
                                                "qe_pdsyevd", "pzpotrf",        "pdpotrf"};
  for (auto e : kExact)
    if (r == e) return true;
  return ends("diaghg") || ends("diagh") || ends("egterg") || ends("egter") || ends("cgdiagg") ||
         ends("rmmdiagg") || begins("ppcg") || begins("paro") || begins("laxlib") || begins("gram_schmidt");
}

}  // namespace

ErrorKind classify_error(std::string_view routine_in, std::string_view message_in) {
  const std::string r = lower(routine_in), m = lower(message_in);
  auto has = [&](std::string_view needle) { return m.find(needle) != std::string::npos; };
  // Subspace diagonalization: a numerical failure, often cured by another diagonalization or smaller
  // mixing; c_bands stops when "too many bands are not converged".
  if (has("cholesky") || has("not positive definite") || has("eigenvectors failed") ||
      diagonalizer_routine(r))
    return ErrorKind::kDiagonalizationFailed;
  // Smearing whose Fermi level lies above every band (pw.x 6.7, nbnd = nelec/2: measured): more bands.
  if (r.compare(0, 7, "efermig") == 0 && has("cannot bracket")) return ErrorKind::kTooFewBands;
  // BFGS's own errors ("NR step-length unreasonably short", ...): the relaxation cannot go on.
  if (r == "bfgs" || r == "gdiis_step") return ErrorKind::kIonicNotConverged;
  if (has("maximum cpu time") || has("max_seconds")) return ErrorKind::kOutOfWalltime;
  // Routines that read and check the input, its cards and pseudopotentials, or the data of a previous run
  // it names (nscf/bands without scf): the user must change something before a retry can succeed.
  static constexpr std::string_view kInputPrefixes[] = {"read_namelists",
                                                        "read_cards",
                                                        "card_",
                                                        "iosys",
                                                        "input",
                                                        "readpp",
                                                        "read_pseudo",
                                                        "read_ncpp",
                                                        "read_upf",
                                                        "import_upf",
                                                        "upf",
                                                        "read_line",
                                                        "field_count",
                                                        "get_field",
                                                        "cell_base_init",
                                                        "latgen",
                                                        "setup",
                                                        "fixval",
                                                        "set_occupations",
                                                        "init_us_1",
                                                        "pseudo_type",
                                                        "qexsd_readschema",
                                                        "pw_readschema",
                                                        "read_file",
                                                        "readfile",
                                                        "set_dft_from",
                                                        "enforce_input_dft",
                                                        "check_atoms",
                                                        "kpoint_grid",
                                                        "checkallsym",
                                                        "sgam_at",
                                                        "read_xml",
                                                        "read_conf"};
  for (auto p : kInputPrefixes)
    if (r.compare(0, p.size(), p) == 0) return ErrorKind::kBadInput;
  if (r.size() > 8 && r.compare(r.size() - 8, 8, "_checkin") == 0) return ErrorKind::kBadInput;
  return ErrorKind::kCrash;
}

}  // namespace qecloud::qe::output_text
