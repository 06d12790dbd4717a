#pragma once
// Which Quantum ESPRESSO release an input is judged for. pw.x's input changes between releases (variables,
// values and cards appear and disappear: tools/gen_pw_schema.py dates them), so the validator judges an input
// as the pw.x that will run it: the local one (asked once, the answer cached), or a version the caller names.
#include <optional>
#include <string>
#include <string_view>

namespace qecloud::qe {

struct QeVersion {
  int major = 0;
  int minor = 0;
  // major*100+minor, the form of the variable table's since/until (6.7 -> 607).
  int code() const { return major * 100 + minor; }
  std::string str() const;  // "6.7"
  // "6.7", "7.3.1", "v.6.7MaX", "7.5rc": the major and minor release; nullopt when there is none.
  static std::optional<QeVersion> parse(std::string_view text);
  friend bool operator==(const QeVersion&, const QeVersion&) = default;
};

// A version from pw.x's banner: "     Program PWSCF v.6.7MaX starts on …" -> 6.7; nullopt for any other line.
std::optional<QeVersion> version_from_banner(std::string_view line);

// The version of the pw.x at `path` (absolute), asking it at most once per path, modification time and size:
// it is started in a scratch directory with no input and stopped as soon as its banner names the version.
// Answers are kept in `cache_file` (one line per pw.x; an unwritable cache only costs asking again).
// nullopt when the program does not start or prints no PWSCF banner.
std::optional<QeVersion> ask_pw_version(const std::string& path, const std::string& cache_file);

}  // namespace qecloud::qe
