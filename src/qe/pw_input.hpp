#pragma once
// The parsed form of a pw.x input file: Fortran namelists plus cards, with source locations so that every
// later check can point at file:line:col. Parsing is tolerant: it records syntax errors as diagnostics
// and keeps going, so a user sees all problems at once.
#include <array>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/diagnostic.hpp"

namespace qecloud::qe {

using Vec3 = std::array<double, 3>;
using Mat3 = std::array<Vec3, 3>;  // rows are vectors

enum class ValueKind { kInteger, kReal, kLogical, kString };
const char* to_string(ValueKind k);

struct NamelistValue {
  ValueKind kind = ValueKind::kString;
  std::string text;       // the token as written (strings without their quotes)
  long long integer = 0;  // when kInteger
  double real = 0;        // when kInteger or kReal
  bool logical = false;   // when kLogical
  SourceLocation loc;
};

struct NamelistEntry {
  std::string name;                   // lower case, without the index: "celldm"
  std::vector<int> index;             // celldm(1) -> {1}; Hubbard_U(2) -> {2}; empty when not indexed
  std::vector<NamelistValue> values;  // one per comma-separated value (`a(1) = 1, 2` fills a(1), a(2))
  SourceLocation loc;                 // of the name
  std::string display() const;        // "celldm(1)"
};

struct Namelist {
  std::string name;  // lower case, without '&': "control"
  SourceLocation loc;
  std::vector<NamelistEntry> entries;
  // Names assigned with a value the reader could not read (already reported): such a name is present,
  // so no check may also call it missing.
  std::vector<std::string> malformed;
  // The last assignment of `name` (with that exact index), or nullptr. Fortran lets a later one win.
  const NamelistEntry* find(std::string_view name, const std::vector<int>& index = {}) const;
};

struct Token {
  std::string text;
  SourceLocation loc;
};

// A card as written: its name, its option (`{crystal}`, `(alat)` or bare word, lower case) and its data
// lines split into whitespace-separated tokens. Comment-only and blank lines are dropped.
struct Card {
  std::string name;     // upper case: "ATOMIC_POSITIONS"
  std::string written;  // the name as written: "atomic_positions" (QE < 7.2 reads only upper case)
  bool known = true;    // false: not a card of any pw.x release (an unknown word alone on a line)
  std::string option;   // lower case, may be empty
  SourceLocation loc;   // of the card name
  SourceLocation option_loc;
  std::vector<std::vector<Token>> rows;
};

struct Species {
  std::string label;
  double mass = 0;
  std::string pseudo_file;
  SourceLocation loc;                       // of the label
  SourceLocation pseudo_loc;                // of the file name
  std::optional<SourceLocation> extra_loc;  // of a 4th field, which pw.x's list-directed READ ignores
};

struct Atom {
  std::string label;
  std::string wyckoff;  // a Wyckoff position ("8a") of space-group input; then `position` may be partial
  Vec3 position{};      // in the units of the card
  std::array<int, 3> if_pos{1, 1, 1};
  SourceLocation loc;
};

struct KPoints {
  std::string mode;  // automatic | gamma | tpiba | crystal | tpiba_b | crystal_b | tpiba_c | crystal_c
  std::array<int, 3> grid{};                // automatic
  std::array<int, 3> shift{};               // automatic, each 0 or 1
  std::vector<std::array<double, 4>> list;  // explicit lists: kx ky kz weight
  SourceLocation loc;
};

struct CellParameters {
  std::string units;  // alat | bohr | angstrom | "" (QE: legacy, means alat or bohr)
  Mat3 vectors{};
  SourceLocation loc;
};

struct PwInput {
  std::string file;                // as given by the user, used in diagnostics
  std::vector<std::string> lines;  // source lines without newline, for diagnostics
  std::vector<Namelist> namelists;
  std::vector<Card> cards;

  // Typed views of the cards that every calculation has; filled by parse_pw_input when well formed.
  std::vector<Species> species;
  std::vector<Atom> atoms;
  std::string positions_units;  // alat | bohr | angstrom | crystal | crystal_sg
  std::optional<KPoints> kpoints;
  std::optional<CellParameters> cell;

  const Namelist* namelist(std::string_view name) const;
  const Card* card(std::string_view name) const;
  // Convenience lookups in a namelist; nullopt when absent or of another type.
  std::optional<long long> get_int(std::string_view nl, std::string_view name,
                                   std::vector<int> index = {}) const;
  std::optional<double> get_real(std::string_view nl, std::string_view name,
                                 std::vector<int> index = {}) const;
  std::optional<bool> get_bool(std::string_view nl, std::string_view name, std::vector<int> index = {}) const;
  std::optional<std::string> get_string(std::string_view nl, std::string_view name,
                                        std::vector<int> index = {}) const;
  const NamelistEntry* entry(std::string_view nl, std::string_view name, std::vector<int> index = {}) const;

  // A diagnostic anchored at `loc` in this file, with the source line filled in.
  Diagnostic diag(SourceLocation loc, std::string message, Severity sev = Severity::kError,
                  std::string field = {}) const;
};

struct ParseResult {
  PwInput input;
  std::vector<Diagnostic> diagnostics;  // syntax errors and malformed cards
};

// Parses pw.x input text. `file` names the input in diagnostics. Never throws on bad input.
ParseResult parse_pw_input(std::string_view text, std::string file);

}  // namespace qecloud::qe
