#pragma once
// pw.x's own input vocabulary at every QE release 6.5 – 7.5: namelist variables (Fortran type, array shape),
// the values pw.x accepts for character variables it checks, cards, and the exchange-correlation names
// set_dft_from_name knows — each with the release it appeared in (`since`) and the first release without it
// (`until`, 0 = still there). The table is generated from QE's sources at each release tag
// (tools/gen_pw_schema.py); this header is the lookup API.
#include <array>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace qecloud::qe {

enum class VarType { kInteger, kReal, kLogical, kCharacter };

// Release codes are major*100+minor (6.7 -> 607). since = 0: in every release of the table.
struct Dated {
  int since = 0;
  int until = 0;
  // In release `version`; with no version (nothing known of the pw.x that will run), in any release.
  bool in(std::optional<int> version) const {
    return !version || ((since == 0 || *version >= since) && (until == 0 || *version < until));
  }
  // "needs QE >= 7.0" / "was removed in QE 7.1" for a release where it is not.
  std::string why_not(int version) const;
};

struct PwValue {
  std::string_view value;
  int since;
  int until;
  Dated dated() const { return {since, until}; }
};

struct PwVariable {
  std::string_view namelist;  // lower case, without '&'
  std::string_view name;      // lower case
  VarType type;
  int rank;                          // 0 for scalars, else the number of indices
  std::array<int, 3> max_index;      // fixed upper bound per index; 0 = sized by ntyp, nat, … at run time
  std::span<const PwValue> allowed;  // values pw.x accepts, compared exactly; empty = not checked
  int since;
  int until;
  Dated dated() const { return {since, until}; }
};

struct PwCard {
  std::string_view name;  // upper case
  int since;
  int until;
  Dated dated() const { return {since, until}; }
};

// A short exchange-correlation name and the indices set_dft_from_name gives it (-1: not known).
struct PwFunctional {
  std::string_view name;  // upper case
  int since;
  int until;
  std::array<int, 6> ids;
  Dated dated() const { return {since, until}; }
};

const PwVariable* find_pw_variable(std::string_view namelist, std::string_view name);
std::vector<std::string_view> pw_variable_names(std::string_view namelist);
bool is_known_namelist(std::string_view namelist);
// The namelist a variable belongs to, for "ecutwfc belongs in &system" hints.
std::optional<std::string_view> namelist_of(std::string_view name);
size_t pw_variable_count();

const PwCard* find_pw_card(std::string_view upper_case_name);
const std::vector<std::string_view>& pw_card_names();
// The first release whose pw.x reads card names in any case (read_cards upper-cases the line first).
int lower_case_cards_since();

const PwFunctional* find_functional(std::string_view upper_case_name);
// The single terms a composite name ('sla+pw+pbx+pbc') is matched against, by family (exchange,
// correlation, gradient exchange, gradient correlation, meta-GGA, non-local) and index.
std::span<const std::span<const std::string_view>> functional_terms();

// The newest release the table knows, and the oldest.
int newest_known_release();
int oldest_known_release();

}  // namespace qecloud::qe
