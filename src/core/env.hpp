#pragma once
// Environment variables: one lookup type (so tests give their own map instead of the process's environment)
// and one strict reader for numbers. Strict means the whole value is the number: "30s", "1e3x", " 7" and ""
// are refused, with the variable's name and the accepted range in the message, wherever they are read.
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>

namespace qecloud {

using EnvLookup = std::function<std::optional<std::string>(const std::string& name)>;
EnvLookup process_env();                                         // getenv
EnvLookup map_env(const std::map<std::string, std::string>& m);  // a fixed set (tests, child environments)

// The whole text as a number; nullopt when any of it is not (no sign-only, no trailing unit, no blanks).
std::optional<long long> parse_integer(std::string_view text);
std::optional<double> parse_decimal(std::string_view text);  // also 1e3; not inf or nan

// `name`'s value as a whole number in [lo, hi]; `fallback` when unset. Throws qecloud::UsageError
// ("QECLOUD_JOIN_TIMEOUT='30s' is not a whole number in [1, 86400]").
int env_integer(const EnvLookup& env, const std::string& name, int fallback, int lo, int hi);
// `name`'s value as seconds in (lo, hi]; `fallback` when unset. Throws qecloud::UsageError.
double env_seconds(const EnvLookup& env, const std::string& name, double fallback, double lo, double hi);
// A non-empty value, or nullopt when unset or empty.
std::optional<std::string> env_text(const EnvLookup& env, const std::string& name);

}  // namespace qecloud
