#include "qe/pw_schema.hpp"

#include <fmt/format.h>

namespace qecloud::qe {
namespace detail {
extern const PwVariable kPwVariables[];
extern const size_t kPwVariableCount;
extern const PwCard kPwCards[];
extern const size_t kPwCardCount;
extern const int kLowerCaseCardsSince;
extern const PwFunctional kFunctionalNames[];
extern const size_t kFunctionalNameCount;
extern const std::span<const std::string_view> kFunctionalTerms[6];
extern const int kOldestRelease;
extern const int kNewestRelease;
}  // namespace detail

namespace {
std::span<const PwVariable> table() {
  return {detail::kPwVariables, detail::kPwVariableCount};
}
std::string release(int code) {
  return fmt::format("{}.{}", code / 100, code % 100);
}
}  // namespace

std::string Dated::why_not(int version) const {
  if (since != 0 && version < since) return fmt::format("needs QE >= {}", release(since));
  if (until != 0 && version >= until) return fmt::format("was removed in QE {}", release(until));
  return {};
}

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

const PwCard* find_pw_card(std::string_view name) {
  for (size_t i = 0; i < detail::kPwCardCount; ++i)
    if (detail::kPwCards[i].name == name) return &detail::kPwCards[i];
  return nullptr;
}

const std::vector<std::string_view>& pw_card_names() {
  // Built once: the card reader asks for every line it reads.
  static const std::vector<std::string_view> names = [] {
    std::vector<std::string_view> v;
    for (size_t i = 0; i < detail::kPwCardCount; ++i) v.push_back(detail::kPwCards[i].name);
    return v;
  }();
  return names;
}

int lower_case_cards_since() {
  return detail::kLowerCaseCardsSince;
}

const PwFunctional* find_functional(std::string_view name) {
  for (size_t i = 0; i < detail::kFunctionalNameCount; ++i)
    if (detail::kFunctionalNames[i].name == name) return &detail::kFunctionalNames[i];
  return nullptr;
}

std::span<const std::span<const std::string_view>> functional_terms() {
  return detail::kFunctionalTerms;
}

int newest_known_release() {
  return detail::kNewestRelease;
}
int oldest_known_release() {
  return detail::kOldestRelease;
}

}  // namespace qecloud::qe
