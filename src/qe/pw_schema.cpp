#include "qe/pw_schema.hpp"

namespace qecloud::qe {
namespace detail {
extern const PwVariable kPwVariables[];
extern const size_t kPwVariableCount;
}  // namespace detail

namespace {
std::span<const PwVariable> table() {
  return {detail::kPwVariables, detail::kPwVariableCount};
}
}  // namespace

const PwVariable* find_pw_variable(std::string_view namelist, std::string_view name) {
  for (const auto& v : table())
    if (v.name == name && v.namelist == namelist) return &v;
  return nullptr;
}

std::vector<std::string_view> pw_variable_names(std::string_view namelist) {
  std::vector<std::string_view> names;
  for (const auto& v : table())
    if (v.namelist == namelist) names.push_back(v.name);
  return names;
}

bool is_known_namelist(std::string_view namelist) {
  for (const auto& v : table())
    if (v.namelist == namelist) return true;
  return false;
}

std::optional<std::string_view> namelist_of(std::string_view name) {
  for (const auto& v : table())
    if (v.name == name) return v.namelist;
  return std::nullopt;
}

size_t pw_variable_count() {
  return detail::kPwVariableCount;
}

}  // namespace qecloud::qe
