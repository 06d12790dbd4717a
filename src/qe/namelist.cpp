#include "qe/namelist.hpp"

#include <array>
#include <cctype>

#include <fmt/format.h>

#include "core/text.hpp"
#include "qe/pw_schema.hpp"

namespace qecloud::qe {
namespace {

// Card names outside pw.x's own table (qe/pw_schema.hpp) that still start a card: neb.x's ATOMIC_NAMES.
constexpr std::array<std::string_view, 1> kOtherCardNames{"ATOMIC_NAMES"};

bool is_name_start(char c) {
  return std::isalpha(static_cast<unsigned char>(c)) != 0;
}
bool is_name_char(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) != 0 || c == '_' || c == '%';
}
bool is_blank(char c) {
  return c == ' ' || c == '\t' || c == '\r' || c == '\f' || c == '\v';
}
// gfortran's list-directed and namelist input take ';' as a value separator as well as ',' (pw.x runs
// `ecutwfc = 18.0; nbnd = 8`).
bool is_comma(char c) {
  return c == ',' || c == ';';
}

// A cursor over the lines of the input. Columns are 1-based in diagnostics, 0-based here.
class Reader {
 public:
  Reader(PwInput& in, std::vector<Diagnostic>& diags) : in_(in), diags_(diags) {}

  size_t run() {
    while (line_ < in_.lines.size()) {
      std::string_view l = in_.lines[line_];
      std::string_view t = text::trim(l);
      if (t.empty() || t[0] == '!' || t[0] == '#') {
        ++line_;
        continue;
      }
      if (t[0] == '&') {
        col_ = l.find('&');
        read_namelist();
        continue;
      }
      if (is_card_line(l)) return line_;
      // Fortran skips anything between namelist groups and pw.x ignores it silently. Before the first
      // namelist that is a common way to write a title (QE's own examples do); after one it is almost always
      // a mistake (a lost '&' or a stray value), so say so.
      if (in_.namelists.empty()) {
        ++line_;
        continue;
      }
      error({static_cast<int>(line_ + 1), static_cast<int>(l.find_first_not_of(" \t") + 1)},
            "text outside any namelist or card");
      ++line_;
    }
    return line_;
  }

 private:
  SourceLocation here() const { return {static_cast<int>(line_ + 1), static_cast<int>(col_ + 1)}; }
  std::string_view cur_line() const { return in_.lines[line_]; }
  bool at_eol() const { return col_ >= cur_line().size(); }
  char peek() const { return at_eol() ? '\n' : cur_line()[col_]; }

  void error(SourceLocation loc, std::string msg) { diags_.push_back(in_.diag(loc, std::move(msg))); }

  // Skips blanks, comments and line ends. Returns false at end of input.
  bool skip_space() {
    while (line_ < in_.lines.size()) {
      while (!at_eol() && is_blank(peek())) ++col_;
      if (at_eol() || peek() == '!') {
        ++line_;
        col_ = 0;
        continue;
      }
      return true;
    }
    return false;
  }

  // Skips to the next separator so one bad token produces one diagnostic.
  void recover() {
    while (!at_eol() && !is_comma(peek()) && peek() != '/' && !is_blank(peek())) ++col_;
  }

  std::string read_name() {
    size_t start = col_;
    while (!at_eol() && is_name_char(peek())) ++col_;
    return text::to_lower(cur_line().substr(start, col_ - start));
  }

  void read_namelist() {
    SourceLocation nl_loc = here();
    ++col_;  // '&'
    std::string name = read_name();
    if (name.empty()) {
      error(nl_loc, "expected a namelist name after '&'");
      ++line_, col_ = 0;
      return;
    }
    Namelist nl{name, nl_loc, {}};
    bool closed = false;
    bool at_card = false;
    while (skip_space()) {
      if (col_ == cur_line().find_first_not_of(" \t") && is_card_line(cur_line()) &&
          !at_next_assignment()) {  // no '/'
        at_card = true;
        break;
      }
      char c = peek();
      if (c == '/') {
        ++col_;
        closed = true;
        break;
      }
      if (c == '&') {  // "&end" closes, another "&name" means the '/' was forgotten
        std::string_view rest = cur_line().substr(col_ + 1);
        if (text::istarts_with(rest, "end") && (rest.size() == 3 || !is_name_char(rest[3]))) {
          col_ += 4;
          closed = true;
        }
        break;
      }
      if (is_comma(c)) {
        ++col_;
        continue;
      }
      if (!is_name_start(c)) {
        error(here(), fmt::format("expected a variable name in &{}, found '{}'", name, c));
        ++col_;
        recover();
        continue;
      }
      read_assignment(nl);
    }
    if (!closed) error(nl_loc, fmt::format("namelist &{} is not closed by '/'", name));
    // Whatever follows '/' on the same line is ignored by gfortran; so do we.
    if (!at_card) ++line_;
    col_ = 0;
    in_.namelists.push_back(std::move(nl));
  }

  void read_assignment(Namelist& nl) {
    NamelistEntry e;
    e.loc = here();
    e.name = read_name();
    bool ok = true;
    while (!at_eol() && is_blank(peek())) ++col_;
    if (peek() == '(') {
      ++col_;
      while (true) {
        while (!at_eol() && is_blank(peek())) ++col_;
        size_t start = col_;
        if (peek() == '-' || peek() == '+') ++col_;
        while (!at_eol() && std::isdigit(static_cast<unsigned char>(peek()))) ++col_;
        auto idx = text::parse_int(cur_line().substr(start, col_ - start));
        if (!idx) {
          error({e.loc.line, static_cast<int>(start + 1)}, fmt::format("bad index for '{}'", e.name));
          ok = false;
          break;
        }
        e.index.push_back(static_cast<int>(*idx));
        // An array section `celldm(1:2) = 2*10.2` (gfortran's namelist input): the values fill the elements
        // from the lower bound on, as after `celldm(1) =`.
        if (peek() == ':') {
          size_t hi_start = ++col_;
          while (!at_eol() && std::isdigit(static_cast<unsigned char>(peek()))) ++col_;
          auto hi = text::parse_int(cur_line().substr(hi_start, col_ - hi_start));
          if (!hi || *hi < *idx) {
            error({e.loc.line, static_cast<int>(hi_start + 1)},
                  fmt::format("bad array section for '{}'", e.name));
            ok = false;
            break;
          }
        }
        while (!at_eol() && is_blank(peek())) ++col_;
        if (peek() == ',') {
          ++col_;
          continue;
        }
        if (peek() == ')') {
          ++col_;
          break;
        }
        error(here(), fmt::format("expected ')' after the index of '{}'", e.name));
        ok = false;
        break;
      }
      if (!ok) {
        size_t close = cur_line().find(')', col_);
        if (close == std::string_view::npos) {
          nl.malformed.push_back(e.name);
          ++line_, col_ = 0;
          return;
        }
        col_ = close + 1;
      }
      while (!at_eol() && is_blank(peek())) ++col_;
    }
    if (peek() != '=') {
      error(here(), fmt::format("expected '=' after '{}'", e.display()));
      nl.malformed.push_back(e.name);
      recover();
      return;
    }
    ++col_;
    size_t errors_before = diags_.size();
    read_values(e);
    if (diags_.size() != errors_before || !ok) {  // already reported; keep the entry out
      nl.malformed.push_back(e.name);
      return;
    }
    if (e.values.empty()) error(e.loc, fmt::format("no value given for '{}'", e.display()));
    nl.entries.push_back(std::move(e));
  }

  // True when the text at the cursor starts a new `name =` or `name(…) =` assignment.
  bool at_next_assignment() const {
    std::string_view l = cur_line();
    size_t i = col_;
    if (i >= l.size() || !is_name_start(l[i])) return false;
    while (i < l.size() && is_name_char(l[i])) ++i;
    while (i < l.size() && is_blank(l[i])) ++i;
    if (i < l.size() && l[i] == '(') {
      i = l.find(')', i);
      if (i == std::string_view::npos) return false;
      ++i;
      while (i < l.size() && is_blank(l[i])) ++i;
    }
    return i < l.size() && l[i] == '=';
  }

  void read_values(NamelistEntry& e) {
    while (skip_space()) {
      char c = peek();
      if (c == '/' || c == '&' || at_next_assignment()) return;
      if (col_ == cur_line().find_first_not_of(" \t") && is_card_line(cur_line()) && !at_next_assignment())
        return;
      if (is_comma(c)) {
        ++col_;
        continue;
      }
      if (!read_value(e)) return;
    }
  }

  bool read_value(NamelistEntry& e) {
    SourceLocation loc = here();
    char c = peek();
    if (c == '\'' || c == '"') {
      std::string s;
      ++col_;
      while (true) {
        if (at_eol()) {
          error(loc, fmt::format("unterminated string for '{}'", e.display()));
          return false;
        }
        if (peek() == c) {
          ++col_;
          if (peek() == c) {  // doubled quote is a literal quote
            s += c;
            ++col_;
            continue;
          }
          break;
        }
        s += peek();
        ++col_;
      }
      e.values.push_back({ValueKind::kString, std::move(s), 0, 0, false, loc});
      return expect_separator(e);
    }
    size_t start = col_;
    while (!at_eol() && !is_blank(peek()) && !is_comma(peek()) && peek() != '/' && peek() != '!') ++col_;
    std::string_view tok = cur_line().substr(start, col_ - start);
    int repeat = 1;
    if (auto star = tok.find('*'); star != std::string_view::npos) {
      auto r = text::parse_int(tok.substr(0, star));
      if (!r || *r < 1 || *r > 100000) {
        error(loc, fmt::format("bad repeat count in '{}' for '{}'", tok, e.display()));
        return true;
      }
      repeat = static_cast<int>(*r);
      tok = tok.substr(star + 1);
      loc.column += static_cast<int>(star + 1);
    }
    NamelistValue v;
    v.loc = loc;
    v.text = std::string(tok);
    if (auto i = text::parse_int(tok)) {
      v.kind = ValueKind::kInteger, v.integer = *i, v.real = static_cast<double>(*i);
    } else if (auto r = text::parse_fortran_real(tok)) {
      v.kind = ValueKind::kReal, v.real = *r;
    } else if (auto b = parse_logical(tok)) {
      v.kind = ValueKind::kLogical, v.logical = *b;
    } else {
      const bool numeric = !tok.empty() && (std::isdigit(static_cast<unsigned char>(tok[0])) ||
                                            tok[0] == '-' || tok[0] == '+' || tok[0] == '.');
      if (numeric)
        error(loc, fmt::format("bad number '{}' for '{}'", tok, e.display()));
      else
        error(loc,
              fmt::format("bad value '{}' for '{}' (strings must be quoted: '{}')", tok, e.display(), tok));
      return true;
    }
    for (int k = 0; k < repeat; ++k) e.values.push_back(v);
    return true;
  }

  bool expect_separator(const NamelistEntry& e) {
    char c = peek();
    if (at_eol() || is_blank(c) || is_comma(c) || c == '/' || c == '!') return true;
    error(here(), fmt::format("unexpected '{}' after the value of '{}'", c, e.display()));
    recover();
    return true;
  }

  // Fortran's rule: an optional '.', then T or F, then anything up to a separator.
  static std::optional<bool> parse_logical(std::string_view tok) {
    if (!tok.empty() && tok[0] == '.') tok.remove_prefix(1);
    if (tok.empty()) return std::nullopt;
    std::string low = text::to_lower(tok);
    if (!low.empty() && low.back() == '.') low.pop_back();
    if (low == "t" || low == "true") return true;
    if (low == "f" || low == "false") return false;
    return std::nullopt;
  }

  PwInput& in_;
  std::vector<Diagnostic>& diags_;
  size_t line_ = 0;
  size_t col_ = 0;
};

}  // namespace

bool is_card_line(std::string_view line) {
  std::string_view t = text::trim(line);
  size_t end = 0;
  while (end < t.size() && (is_name_char(t[end]))) ++end;
  std::string_view word = t.substr(0, end);
  // A card name stands alone or before its option: "OCCUPATIONS" is a card, "occupations='smearing'" is not.
  if (end < t.size() && t[end] != ' ' && t[end] != '\t' && t[end] != '{' && t[end] != '(') return false;
  for (auto name : pw_card_names())
    if (text::iequals(word, name)) return true;
  for (auto name : kOtherCardNames)
    if (text::iequals(word, name)) return true;
  return false;
}

size_t read_namelists(PwInput& in, std::vector<Diagnostic>& diags) {
  return Reader(in, diags).run();
}

}  // namespace qecloud::qe
