#pragma once
// JSON text for output. User files may hold bytes that are not UTF-8 (a stray Latin-1 character in an input
// or an output); they are replaced (U+FFFD) rather than failing the whole report.
#include <string>

#include <nlohmann/json.hpp>

namespace qecloud {

inline std::string json_text(const nlohmann::json& j, int indent = 2) {
  return j.dump(indent, ' ', false, nlohmann::json::error_handler_t::replace);
}

}  // namespace qecloud
