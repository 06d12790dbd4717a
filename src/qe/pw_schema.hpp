#pragma once
// pw.x's own variable list: every namelist variable some supported QE version (6.5 – 7.3) reads, with its
// Fortran type, array shape and — for character variables pw.x checks — the values it accepts.
// The table is generated (tools/gen_pw_schema.py); this header is the lookup API.
#include <array>
#include <optional>
#include <span>
#include <string_view>
#include <vector>

namespace qecloud::qe {

enum class VarType { kInteger, kReal, kLogical, kCharacter };

struct PwVariable {
  std::string_view namelist;  // lower case, without '&'
  std::string_view name;      // lower case
  VarType type;
  int rank;                      // 0 for scalars, else the number of indices
  std::array<int, 3> max_index;  // fixed upper bound per index; 0 = sized by ntyp, nat, … at run time
  std::span<const std::string_view> allowed;  // exact values pw.x accepts; empty = not checked
};

const PwVariable* find_pw_variable(std::string_view namelist, std::string_view name);
std::vector<std::string_view> pw_variable_names(std::string_view namelist);
bool is_known_namelist(std::string_view namelist);
// The namelist a variable belongs to, for "ecutwfc belongs in &system" hints.
std::optional<std::string_view> namelist_of(std::string_view name);
size_t pw_variable_count();

}  // namespace qecloud::qe
