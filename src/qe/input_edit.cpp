#include "qe/input_edit.hpp"

#include <algorithm>
#include <array>
#include <cctype>
#include <filesystem>
#include <fstream>
#include <optional>

#include <fmt/format.h>

#include "core/error.hpp"
#include "core/text.hpp"
#include "qe/pw_input.hpp"

namespace fs = std::filesystem;

namespace qecloud::qe {
namespace {

// pw.x's namelists in the order read_namelists reads them.
constexpr std::array<std::string_view, 5> kOrder = {"control", "system", "electrons", "ions", "cell"};

char lower(char c) {
  return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
}

// Where a namelist is: the offset of its '&' and of its closing '/'.
struct Span {
  std::size_t open = 0, close = 0;
};

// Scans from `from` to the namelist's closing '/', outside quoted strings and '!' comments (as gfortran
// reads it). npos when the text ends first.
std::size_t closing_slash(std::string_view t, std::size_t from) {
  char quote = 0;
  for (std::size_t i = from; i < t.size(); ++i) {
    const char c = t[i];
    if (quote) {
      if (c == quote) quote = 0;  // a doubled quote closes and reopens: the same for finding '/'
    } else if (c == '\'' || c == '"') {
      quote = c;
    } else if (c == '!') {
      i = t.find('\n', i);
      if (i == std::string_view::npos) return i;
    } else if (c == '/') {
      return i;
    }
  }
  return std::string_view::npos;
}

// Every namelist of the text, in order: `&name` first on its line (after blanks), its '/' found as above.
std::vector<std::pair<std::string, Span>> namelists(std::string_view t) {
  std::vector<std::pair<std::string, Span>> out;
  std::size_t pos = 0;
  while (pos < t.size()) {
    const std::size_t eol = std::min(t.find('\n', pos), t.size());
    const std::size_t first = t.find_first_not_of(" \t\r", pos);
    if (first < eol && t[first] == '&') {
      std::size_t e = first + 1;
      while (e < eol && (std::isalnum(static_cast<unsigned char>(t[e])) || t[e] == '_')) ++e;
      std::string name;
      for (std::size_t i = first + 1; i < e; ++i) name += lower(t[i]);
      const std::size_t close = closing_slash(t, e);
      out.push_back({name, {first, close}});
      if (close == std::string_view::npos) break;
      pos = close + 1;
      continue;
    }
    pos = eol + 1;
  }
  return out;
}

// Where the assignment `e.variable = …` that pw.x would read (the last) is in the text: [begin, end) from the
// name to the end of its value. nullopt when the namelist does not assign it (or not as one plain value).
std::optional<std::pair<std::size_t, std::size_t>> assignment_span(std::string_view t, const InputEdit& e) {
  const ParseResult p = parse_pw_input(t, "staged input");
  const NamelistEntry* entry = p.input.entry(e.namelist, e.variable);
  if (!entry || entry->values.size() != 1) return std::nullopt;
  std::size_t at = 0;
  for (int line = 1; line < entry->loc.line; ++line) {
    at = t.find('\n', at);
    if (at == std::string_view::npos) return std::nullopt;
    ++at;
  }
  at += static_cast<std::size_t>(entry->loc.column - 1);
  std::size_t i = at + e.variable.size();
  if (at >= t.size() || i > t.size()) return std::nullopt;
  i = t.find_first_not_of(" \t", i);
  if (i == std::string_view::npos || t[i] != '=') return std::nullopt;
  i = t.find_first_not_of(" \t", i + 1);
  if (i == std::string_view::npos) return std::nullopt;
  if (t[i] == '\'' || t[i] == '"') {
    const std::size_t close = t.find(t[i], i + 1);
    if (close == std::string_view::npos) return std::nullopt;
    return std::pair{at, close + 1};
  }
  const std::size_t end = t.find_first_of(" \t\r\n,/!", i);
  return std::pair{at, end == std::string_view::npos ? t.size() : end};
}

Expected<std::string, std::string> apply_one(std::string_view t, const InputEdit& e) {
  const auto rank = std::find(kOrder.begin(), kOrder.end(), e.namelist);
  if (rank == kOrder.end()) return unexpected(fmt::format("&{} is not a namelist pw.x reads", e.namelist));
  const std::string assignment = fmt::format("{} = {}", e.variable, e.value);
  if (const auto span = assignment_span(t, e))  // the assignment pw.x reads, rewritten where it is
    return std::string(t.substr(0, span->first)) + assignment + std::string(t.substr(span->second));
  const auto all = namelists(t);
  for (const auto& [name, span] : all) {
    if (name != e.namelist) continue;
    if (span.close == std::string_view::npos)
      return unexpected(fmt::format("&{} has no closing '/'", e.namelist));
    // The '/' alone on its line: the assignment goes on a line of its own before it; else before the '/'.
    const std::size_t bol =
        t.rfind('\n', span.close) == std::string_view::npos ? 0 : t.rfind('\n', span.close) + 1;
    const bool alone = t.substr(bol, span.close - bol).find_first_not_of(" \t") == std::string_view::npos;
    std::string out(t.substr(0, alone ? bol : span.close));
    out += alone ? fmt::format("  {}\n", assignment) : fmt::format(", {} ", assignment);
    out += t.substr(alone ? bol : span.close);
    return out;
  }
  // Not there: before the first namelist that pw.x reads after it, else after the last one.
  std::size_t at = std::string_view::npos;
  for (const auto& [name, span] : all) {
    const auto r = std::find(kOrder.begin(), kOrder.end(), name);
    if (r != kOrder.end() && r > rank) {
      at = span.open;
      break;
    }
    if (span.close == std::string_view::npos) return unexpected(fmt::format("&{} has no closing '/'", name));
    at = std::string_view::npos;
  }
  std::string upper = e.namelist;
  for (char& c : upper) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  const std::string block = fmt::format("&{}\n  {}\n/\n", upper, assignment);
  if (at != std::string_view::npos) return std::string(t.substr(0, at)) + block + std::string(t.substr(at));
  if (all.empty()) return unexpected("the input has no namelist");
  const std::size_t after = t.find('\n', all.back().second.close);
  const std::size_t cut = after == std::string_view::npos ? t.size() : after + 1;
  std::string out(t.substr(0, cut));
  if (out.empty() || out.back() != '\n') out += '\n';
  return out + block + std::string(t.substr(cut));
}

}  // namespace

std::string InputEdit::display() const {
  return fmt::format("&{} {} = {}", namelist, variable, value);
}

Expected<std::string, std::string> apply_edits(std::string_view text, std::span<const InputEdit> edits) {
  std::string out(text);
  for (const auto& e : edits) {
    auto r = apply_one(out, e);
    if (!r) return unexpected(fmt::format("cannot set {}: {}", e.display(), r.error()));
    out = std::move(r).value();
  }
  return out;
}

void edit_input_file(const std::string& path, std::span<const InputEdit> edits) {
  const std::string text = text::read_file(path);
  auto edited = apply_edits(text, edits);
  if (!edited) throw Error(fmt::format("{}: {}", path, edited.error()), kExitBadInput);
  const std::string aside = path + ".qecloud-edit";
  {
    std::ofstream out(aside, std::ios::binary | std::ios::trunc);
    out << edited.value();
    out.flush();
    if (!out) throw Error(fmt::format("{}: cannot write the edited input", aside));
  }
  std::error_code ec;
  fs::rename(aside, path, ec);
  if (ec) throw Error(fmt::format("{}: cannot replace the staged input: {}", path, ec.message()));
}

}  // namespace qecloud::qe
