#pragma once
// Diagnostics about a user's file: `file:line:col: error: message`, then the offending line and a caret,
// as compilers print them. Line and column are 1-based; column 0 means "the whole line / no column".
#include <string>
#include <vector>

namespace qecloud {

enum class Severity { kError, kWarning, kNote };

struct SourceLocation {
  int line = 0;
  int column = 0;
};

struct Diagnostic {
  Severity severity = Severity::kError;
  std::string file;
  SourceLocation loc;
  std::string message;
  std::string line_text;  // the source line, without its newline; empty when not applicable
  std::string field;      // the variable or card the diagnostic is about, e.g. "pseudo_dir"; may be empty
};

const char* to_string(Severity s);

// One diagnostic in compiler style. With a line_text and a column, adds the line and a caret.
std::string format_diagnostic(const Diagnostic& d);

// All diagnostics, one after another, in order of (line, column).
std::string format_diagnostics(std::vector<Diagnostic> ds);

bool has_errors(const std::vector<Diagnostic>& ds);

}  // namespace qecloud
