#include "qe/pw_input.hpp"

#include <algorithm>
#include <cctype>

#include <fmt/format.h>

#include "core/text.hpp"
#include "qe/expression.hpp"
#include "qe/namelist.hpp"

namespace qecloud::qe {

const char* to_string(ValueKind k) {
  switch (k) {
    case ValueKind::kInteger:
      return "integer";
    case ValueKind::kReal:
      return "real";
    case ValueKind::kLogical:
      return "logical";
    case ValueKind::kString:
      return "string";
  }
  return "value";
}

std::string NamelistEntry::display() const {
  if (index.empty()) return name;
  std::string s = name + "(";
  for (size_t i = 0; i < index.size(); ++i) s += (i ? "," : "") + std::to_string(index[i]);
  return s + ")";
}

const NamelistEntry* Namelist::find(std::string_view n, const std::vector<int>& index) const {
  const NamelistEntry* found = nullptr;
  for (const auto& e : entries) {
    if (e.name != n) continue;
    if (e.index == index) found = &e;
    // `a(1) = x, y` also sets a(2): look through the value list of a rank-1 array. `a = x, y` (no index)
    // fills the array from its first element, as a Fortran namelist does.
    const int first = e.index.empty() ? 1 : e.index.size() == 1 ? e.index[0] : 0;
    if (index.size() == 1 && first > 0 && index[0] >= first && (index[0] > first || e.index.empty()) &&
        static_cast<size_t>(index[0] - first) < e.values.size())
      found = &e;
  }
  return found;
}

const Namelist* PwInput::namelist(std::string_view name) const {
  for (const auto& nl : namelists)
    if (nl.name == name) return &nl;
  return nullptr;
}

const Card* PwInput::card(std::string_view name) const {
  for (const auto& c : cards)
    if (c.name == name) return &c;
  return nullptr;
}

const NamelistEntry* PwInput::entry(std::string_view nl, std::string_view name,
                                    std::vector<int> index) const {
  const Namelist* n = namelist(nl);
  return n ? n->find(name, index) : nullptr;
}

namespace {
// The value of entry `e` for array element `index` (see Namelist::find).
const NamelistValue* value_of(const NamelistEntry* e, const std::vector<int>& index) {
  if (!e || e->values.empty()) return nullptr;
  const int first = e->index.empty() ? 1 : e->index[0];
  size_t k = (index.size() == 1 && e->index.size() <= 1) ? static_cast<size_t>(index[0] - first) : 0;
  return k < e->values.size() ? &e->values[k] : nullptr;
}
}  // namespace

std::optional<long long> PwInput::get_int(std::string_view nl, std::string_view name,
                                          std::vector<int> index) const {
  const NamelistValue* v = value_of(entry(nl, name, index), index);
  if (!v || v->kind != ValueKind::kInteger) return std::nullopt;
  return v->integer;
}

std::optional<double> PwInput::get_real(std::string_view nl, std::string_view name,
                                        std::vector<int> index) const {
  const NamelistValue* v = value_of(entry(nl, name, index), index);
  if (!v || (v->kind != ValueKind::kReal && v->kind != ValueKind::kInteger)) return std::nullopt;
  return v->real;
}

std::optional<bool> PwInput::get_bool(std::string_view nl, std::string_view name,
                                      std::vector<int> index) const {
  const NamelistValue* v = value_of(entry(nl, name, index), index);
  if (!v || v->kind != ValueKind::kLogical) return std::nullopt;
  return v->logical;
}

std::optional<std::string> PwInput::get_string(std::string_view nl, std::string_view name,
                                               std::vector<int> index) const {
  const NamelistValue* v = value_of(entry(nl, name, index), index);
  if (!v || v->kind != ValueKind::kString) return std::nullopt;
  return v->text;
}

Diagnostic PwInput::diag(SourceLocation loc, std::string message, Severity sev, std::string field) const {
  Diagnostic d;
  d.severity = sev;
  d.file = file;
  d.loc = loc;
  d.message = std::move(message);
  d.field = std::move(field);
  if (loc.line > 0 && static_cast<size_t>(loc.line) <= lines.size()) {
    d.line_text = lines[static_cast<size_t>(loc.line - 1)];
    while (!d.line_text.empty() && (d.line_text.back() == '\r' || d.line_text.back() == ' '))
      d.line_text.pop_back();
  }
  return d;
}

namespace {

std::vector<std::string> split_lines(std::string_view text) {
  std::vector<std::string> lines;
  size_t start = 0;
  while (start <= text.size()) {
    size_t nl = text.find('\n', start);
    if (nl == std::string_view::npos) {
      if (start < text.size()) lines.emplace_back(text.substr(start));
      break;
    }
    std::string_view l = text.substr(start, nl - start);
    if (!l.empty() && l.back() == '\r') l.remove_suffix(1);
    lines.emplace_back(l);
    start = nl + 1;
  }
  return lines;
}

// Splits a card data line into tokens; a '!' or '#' starts a comment.
std::vector<Token> tokenize_row(std::string_view line, int line_no) {
  std::vector<Token> out;
  size_t i = 0;
  while (i < line.size()) {
    while (i < line.size() && (std::isspace(static_cast<unsigned char>(line[i])) || line[i] == ',')) ++i;
    if (i >= line.size() || line[i] == '!' || line[i] == '#') break;
    size_t j = i;
    while (j < line.size() && !std::isspace(static_cast<unsigned char>(line[j])) && line[j] != ',' &&
           line[j] != '!' && line[j] != '#')
      ++j;
    out.push_back({std::string(line.substr(i, j - i)), {line_no, static_cast<int>(i + 1)}});
    i = j;
  }
  return out;
}

// Card header: "ATOMIC_POSITIONS {crystal}", "K_POINTS (automatic)", "CELL_PARAMETERS alat".
Card read_card_header(std::string_view line, int line_no) {
  Card c;
  size_t b = line.find_first_not_of(" \t");
  size_t e = b;
  while (e < line.size() && (std::isalnum(static_cast<unsigned char>(line[e])) || line[e] == '_')) ++e;
  c.written = std::string(line.substr(b, e - b));
  for (size_t k = b; k < e; ++k)
    c.name += static_cast<char>(std::toupper(static_cast<unsigned char>(line[k])));
  c.loc = {line_no, static_cast<int>(b + 1)};
  std::string_view rest = line.substr(e);
  if (auto cmt = rest.find_first_of("!#"); cmt != std::string_view::npos) rest = rest.substr(0, cmt);
  size_t ob = rest.find_first_not_of(" \t{}()=");
  if (ob != std::string_view::npos) {
    size_t oe = rest.find_first_of(" \t{}()", ob);
    c.option = text::to_lower(rest.substr(ob, oe == std::string_view::npos ? rest.size() - ob : oe - ob));
    c.option_loc = {line_no, static_cast<int>(e + ob + 1)};
  }
  return c;
}

// A word alone on its line (or before an option), in upper case and long or with an underscore, is written
// as a card name: data rows start with a number, a species label (at most 3 characters in QE 6.x, mixed
// case), a quoted string or a short Hubbard keyword.
bool looks_like_card(std::string_view t) {
  size_t end = 0;
  while (end < t.size() && (std::isalnum(static_cast<unsigned char>(t[end])) || t[end] == '_')) ++end;
  std::string_view word = t.substr(0, end);
  if (word.empty() || !std::isalpha(static_cast<unsigned char>(word[0]))) return false;
  for (char ch : word)
    if (std::islower(static_cast<unsigned char>(ch))) return false;
  if (word.size() < 4 && word.find('_') == std::string_view::npos) return false;
  std::string_view rest = text::trim(t.substr(end));
  if (rest.empty() || rest[0] == '!' || rest[0] == '#' || rest[0] == '{' || rest[0] == '(') return true;
  auto words = text::split_ws(rest);
  return words.size() == 1 && !text::parse_fortran_real(words[0]);
}

class CardReader {
 public:
  CardReader(PwInput& in, std::vector<Diagnostic>& diags) : in_(in), diags_(diags) {}

  void read_rows(size_t first_line) {
    Card* current = nullptr;
    for (size_t i = first_line; i < in_.lines.size(); ++i) {
      const std::string& l = in_.lines[i];
      std::string_view t = text::trim(l);
      int line_no = static_cast<int>(i + 1);
      if (t.empty() || t[0] == '!' || t[0] == '#') continue;
      if (is_card_line(l)) {
        Card c = read_card_header(l, line_no);
        for (const auto& prev : in_.cards)
          if (prev.name == c.name)
            error(c.loc, fmt::format("card {} appears twice (first at line {})", c.name, prev.loc.line));
        in_.cards.push_back(std::move(c));
        current = &in_.cards.back();
        continue;
      }
      int col = static_cast<int>(l.find_first_not_of(" \t") + 1);
      if (t[0] == '&') {
        error({line_no, col}, "namelist after the cards: pw.x reads all namelists before any card");
        continue;
      }
      if (looks_like_card(t)) {
        // pw.x takes any line after a card's rows as the next card's name and skips an unknown one
        // ("card FOO ignored") with the rows under it: say what it is, and keep its rows out of the last
        // card.
        Card c = read_card_header(l, line_no);
        c.known = false;
        in_.cards.push_back(std::move(c));
        current = &in_.cards.back();
        continue;
      }
      if (!current) {
        error({line_no, col}, "text outside any namelist or card");
        continue;
      }
      auto row = tokenize_row(l, line_no);
      if (!row.empty()) current->rows.push_back(std::move(row));
    }
  }

  void read_typed_views() {
    for (const auto& c : in_.cards) {
      if (c.name == "ATOMIC_SPECIES")
        species(c);
      else if (c.name == "ATOMIC_POSITIONS")
        positions(c);
      else if (c.name == "K_POINTS")
        kpoints(c);
      else if (c.name == "CELL_PARAMETERS")
        cell(c);
    }
  }

 private:
  void error(SourceLocation loc, std::string msg) { diags_.push_back(in_.diag(loc, std::move(msg))); }

  std::optional<double> number(const Token& t, std::string_view what, bool allow_expression = false) {
    if (auto v = text::parse_fortran_real(t.text)) return v;
    if (allow_expression)
      if (auto v = evaluate_expression(t.text)) return v;
    error(t.loc, fmt::format("expected a number for {}, found '{}'", what, t.text));
    return std::nullopt;
  }

  std::optional<int> integer(const Token& t, std::string_view what) {
    if (auto v = text::parse_int(t.text)) return static_cast<int>(*v);
    error(t.loc, fmt::format("expected an integer for {}, found '{}'", what, t.text));
    return std::nullopt;
  }

  bool columns(const std::vector<Token>& row, const Card& c, size_t lo, size_t hi, std::string_view layout) {
    if (row.size() >= lo && row.size() <= hi) return true;
    error(row.front().loc, fmt::format("{} row has {} field{}, expected {}", c.name, row.size(),
                                       row.size() == 1 ? "" : "s", layout));
    return false;
  }

  void species(const Card& c) {
    // card_atomic_species: a list-directed READ of label, mass, file; fields after the third are ignored.
    for (const auto& row : c.rows) {
      if (!columns(row, c, 3, 99, "3: label, mass, pseudopotential file")) continue;
      Species s{row[0].text, 0, row[2].text, row[0].loc, row[2].loc, std::nullopt};
      if (row.size() > 3) s.extra_loc = row[3].loc;
      if (auto m = number(row[1], "the mass")) s.mass = *m;
      in_.species.push_back(std::move(s));
    }
  }

  // card_atomic_positions: a second field of at most 3 characters ending in a letter is a Wyckoff label.
  static bool is_wyckoff(std::string_view f) {
    return !f.empty() && f.size() < 4 && std::isalpha(static_cast<unsigned char>(f.back())) &&
           std::isdigit(static_cast<unsigned char>(f.front()));
  }

  void positions(const Card& c) {
    static const std::vector<std::string_view> kUnits{"alat", "bohr", "angstrom", "crystal", "crystal_sg"};
    in_.positions_units = c.option.empty() ? "alat" : c.option;
    if (!c.option.empty() && std::find(kUnits.begin(), kUnits.end(), c.option) == kUnits.end())
      error(c.option_loc, fmt::format("unknown ATOMIC_POSITIONS units '{}' (expected alat, bohr, angstrom, "
                                      "crystal or crystal_sg)",
                                      c.option));
    for (const auto& row : c.rows) {
      // Space-group input (card_atomic_positions with crystal_sg): a Wyckoff label such as "8a" in place of
      // the first coordinate, then only the free coordinates of that position, then the if_pos flags.
      if (c.option == "crystal_sg" && row.size() >= 2 && is_wyckoff(row[1].text)) {
        if (!columns(row, c, 2, 8, "a label, a Wyckoff position and up to 3 coordinates and 3 flags"))
          continue;
        Atom a{row[0].text, row[1].text, {}, {1, 1, 1}, row[0].loc};
        in_.atoms.push_back(std::move(a));
        continue;
      }
      if (!columns(row, c, 4, 7, "4 (label x y z) or 7 (label x y z if_x if_y if_z)")) continue;
      if (row.size() != 4 && row.size() != 7) {
        columns(row, c, 4, 4, "4 (label x y z) or 7 (label x y z if_x if_y if_z)");
        continue;
      }
      Atom a{row[0].text, "", {}, {1, 1, 1}, row[0].loc};
      for (int k = 0; k < 3; ++k)
        if (auto v = number(row[static_cast<size_t>(k + 1)], "a coordinate", true)) a.position[k] = *v;
      if (row.size() == 7)
        for (int k = 0; k < 3; ++k)
          if (auto v = integer(row[static_cast<size_t>(k + 4)], "a fixed-coordinate flag (0 or 1)"))
            a.if_pos[k] = *v;
      in_.atoms.push_back(std::move(a));
    }
  }

  void kpoints(const Card& c) {
    static const std::vector<std::string_view> kModes{"automatic", "gamma",     "tpiba",   "crystal",
                                                      "tpiba_b",   "crystal_b", "tpiba_c", "crystal_c"};
    KPoints k;
    k.mode = c.option.empty() ? "tpiba" : c.option;
    k.loc = c.loc;
    if (std::find(kModes.begin(), kModes.end(), k.mode) == kModes.end()) {
      error(c.option_loc,
            fmt::format("unknown K_POINTS mode '{}' (expected automatic, gamma, tpiba, crystal, "
                        "tpiba_b, crystal_b, tpiba_c or crystal_c)",
                        c.option));
      return;
    }
    if (k.mode == "gamma") {
      in_.kpoints = k;
      return;
    }
    if (k.mode == "automatic") {
      if (c.rows.empty()) return error(c.loc, "K_POINTS automatic needs a row: nk1 nk2 nk3 sk1 sk2 sk3");
      const auto& row = c.rows[0];
      if (!columns(row, c, 6, 6, "6: nk1 nk2 nk3 sk1 sk2 sk3")) return;
      for (int i = 0; i < 6; ++i) {
        auto v =
            integer(row[static_cast<size_t>(i)], i < 3 ? "a k-point grid size" : "a grid offset (0 or 1)");
        if (!v) return;
        if (i < 3 && *v < 1)
          return error(row[static_cast<size_t>(i)].loc, "k-point grid sizes must be at least 1");
        if (i >= 3 && *v != 0 && *v != 1)
          return error(row[static_cast<size_t>(i)].loc, "k-point grid offsets must be 0 or 1");
        (i < 3 ? k.grid[i] : k.shift[i - 3]) = *v;
      }
      if (c.rows.size() > 1) error(c.rows[1].front().loc, "K_POINTS automatic takes a single row");
      in_.kpoints = k;
      return;
    }
    if (c.rows.empty()) return error(c.loc, fmt::format("K_POINTS {} needs the number of k-points", k.mode));
    auto nks = integer(c.rows[0][0], "the number of k-points");
    if (!nks) return;
    if (*nks < 1) return error(c.rows[0][0].loc, "the number of k-points must be at least 1");
    if (static_cast<size_t>(*nks) != c.rows.size() - 1)
      return error(c.rows[0][0].loc,
                   fmt::format("K_POINTS says {} k-points but lists {}", *nks, c.rows.size() - 1));
    // Band paths (tpiba_b, crystal_b) may name special points instead of coordinates: "gG 20", "X 0".
    const bool path = k.mode == "tpiba_b" || k.mode == "crystal_b";
    for (size_t r = 1; r < c.rows.size(); ++r) {
      const auto& row = c.rows[r];
      if (path && row.size() == 2 && !text::parse_fortran_real(row[0].text)) {
        if (auto w = number(row[1], "a k-point weight")) k.list.push_back({0, 0, 0, *w});
        continue;
      }
      // card_kpoints reads each row with READ(…, *) xk(1:3), wk: a row without its weight ends the read
      // ("end of file while reading tpiba k points").
      if (!columns(row, c, 4, 4, "4: kx ky kz weight")) continue;
      std::array<double, 4> p{0, 0, 0, 1};
      for (size_t i = 0; i < row.size(); ++i)
        if (auto v = number(row[i], i < 3 ? "a k-point coordinate" : "a k-point weight", true)) p[i] = *v;
      k.list.push_back(p);
    }
    in_.kpoints = k;
  }

  void cell(const Card& c) {
    CellParameters cp;
    cp.units = c.option;
    cp.loc = c.loc;
    if (!c.option.empty() && c.option != "alat" && c.option != "bohr" && c.option != "angstrom")
      error(c.option_loc,
            fmt::format("unknown CELL_PARAMETERS units '{}' (expected alat, bohr or angstrom)", c.option));
    if (c.rows.size() != 3)
      return error(c.loc, fmt::format("CELL_PARAMETERS needs 3 rows (a1, a2, a3), found {}", c.rows.size()));
    for (size_t r = 0; r < 3; ++r) {
      if (!columns(c.rows[r], c, 3, 3, "3 components")) return;
      for (size_t i = 0; i < 3; ++i)
        if (auto v = number(c.rows[r][i], "a cell vector component", true)) cp.vectors[r][i] = *v;
    }
    in_.cell = cp;
  }

  PwInput& in_;
  std::vector<Diagnostic>& diags_;
};

}  // namespace

ParseResult parse_pw_input(std::string_view text, std::string file) {
  ParseResult r;
  r.input.file = std::move(file);
  r.input.lines = split_lines(text);
  size_t first_card = read_namelists(r.input, r.diagnostics);
  CardReader cards(r.input, r.diagnostics);
  cards.read_rows(first_card);
  cards.read_typed_views();
  return r;
}

}  // namespace qecloud::qe
