#include "core/env.hpp"

#include <charconv>
#include <cmath>
#include <cstdlib>

#include <fmt/format.h>

#include "core/error.hpp"

namespace qecloud {

EnvLookup process_env() {
  return [](const std::string& name) -> std::optional<std::string> {
    if (const char* v = std::getenv(name.c_str())) return std::string(v);
    return std::nullopt;
  };
}

EnvLookup map_env(const std::map<std::string, std::string>& m) {
  return [m](const std::string& name) -> std::optional<std::string> {
    auto it = m.find(name);
    if (it == m.end()) return std::nullopt;
    return it->second;
  };
}

std::optional<long long> parse_integer(std::string_view text) {
  if (!text.empty() && text.front() == '+') text.remove_prefix(1);
  long long v = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (text.empty() || ec != std::errc() || end != text.data() + text.size()) return std::nullopt;
  return v;
}

std::optional<double> parse_decimal(std::string_view text) {
  if (!text.empty() && text.front() == '+') text.remove_prefix(1);
  double v = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (text.empty() || ec != std::errc() || end != text.data() + text.size() || !std::isfinite(v))
    return std::nullopt;
  return v;
}

int env_integer(const EnvLookup& env, const std::string& name, int fallback, int lo, int hi) {
  auto text = env(name);
  if (!text) return fallback;
  auto v = parse_integer(*text);
  if (!v || *v < lo || *v > hi)
    throw UsageError(fmt::format("{}='{}' is not a whole number in [{}, {}]", name, *text, lo, hi));
  return static_cast<int>(*v);
}

double env_seconds(const EnvLookup& env, const std::string& name, double fallback, double lo, double hi) {
  auto text = env(name);
  if (!text) return fallback;
  auto v = parse_decimal(*text);
  if (!v || *v <= lo || *v > hi)
    throw UsageError(fmt::format("{}='{}' is not a number of seconds in ({}, {}]", name, *text, lo, hi));
  return *v;
}

std::optional<std::string> env_text(const EnvLookup& env, const std::string& name) {
  auto v = env(name);
  if (!v || v->empty()) return std::nullopt;
  return v;
}

}  // namespace qecloud
