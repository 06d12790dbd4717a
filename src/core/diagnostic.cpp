#include "core/diagnostic.hpp"

#include <algorithm>

#include <fmt/format.h>

namespace qecloud {

const char* to_string(Severity s) {
  switch (s) {
    case Severity::kError:
      return "error";
    case Severity::kWarning:
      return "warning";
    case Severity::kNote:
      return "note";
  }
  return "error";
}

std::string format_diagnostic(const Diagnostic& d) {
  std::string out = d.file;
  if (d.loc.line > 0) {
    out += fmt::format(":{}", d.loc.line);
    if (d.loc.column > 0) out += fmt::format(":{}", d.loc.column);
  }
  out += fmt::format(": {}: {}\n", to_string(d.severity), d.message);
  if (!d.line_text.empty()) {
    out += "  " + d.line_text + "\n";
    if (d.loc.column > 0) {
      // Keep tabs so the caret lines up under the offending character.
      std::string pad;
      for (int i = 0; i + 1 < d.loc.column && i < static_cast<int>(d.line_text.size()); ++i)
        pad += d.line_text[static_cast<size_t>(i)] == '\t' ? '\t' : ' ';
      out += "  " + pad + "^\n";
    }
  }
  return out;
}

std::string format_diagnostics(std::vector<Diagnostic> ds) {
  std::stable_sort(ds.begin(), ds.end(), [](const Diagnostic& a, const Diagnostic& b) {
    if (a.file != b.file) return false;
    if (a.loc.line != b.loc.line) return a.loc.line < b.loc.line;
    return a.loc.column < b.loc.column;
  });
  std::string out;
  for (const auto& d : ds) out += format_diagnostic(d);
  return out;
}

bool has_errors(const std::vector<Diagnostic>& ds) {
  return std::any_of(ds.begin(), ds.end(),
                     [](const Diagnostic& d) { return d.severity == Severity::kError; });
}

}  // namespace qecloud
