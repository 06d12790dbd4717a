#pragma once
// Small string helpers shared by the parsers. ASCII only: QE input and output are ASCII.
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace qecloud::text {

std::string to_lower(std::string_view s);
std::string_view trim(std::string_view s);
bool iequals(std::string_view a, std::string_view b);
bool istarts_with(std::string_view s, std::string_view prefix);
std::vector<std::string_view> split_ws(std::string_view s);
bool starts_with(std::string_view s, std::string_view prefix);
bool contains(std::string_view s, std::string_view needle);

// Fortran-style numbers: "1.0d-8", "1.D0", "-3", "2.5E+02". Whole string must be the number.
std::optional<double> parse_fortran_real(std::string_view s);
std::optional<long long> parse_int(std::string_view s);

// Levenshtein distance, for "did you mean".
size_t edit_distance(std::string_view a, std::string_view b);
// The closest candidate within a distance that scales with the length of `word`, or empty.
std::string closest_match(std::string_view word, const std::vector<std::string_view>& candidates);

std::string read_file(const std::string& path);  // throws qecloud::Error naming the path

}  // namespace qecloud::text
