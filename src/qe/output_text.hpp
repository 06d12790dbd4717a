#pragma once
// Reading the pieces of pw.x's printed text: numbers, durations, error routines. Internal to the output
// parser (qe/output_parser.cpp), in a header of its own so the unit tests can reach the edge cases.
//
// Every function here is total: any input, however mangled (a truncated line, Fortran's "*****" for a
// number that overflowed its field, two numbers glued together), yields a value or nullopt, never an
// exception or a read past the end. Numbers go through std::from_chars: no locale, no allocation.
#include <optional>
#include <string_view>

#include "qe/pw_input.hpp"
#include "qe/results.hpp"

namespace qecloud::qe::output_text {

// Leading blanks and trailing blanks / '\r' off. Hand-written: it runs on every line of multi-GB outputs,
// and isspace() through the C locale costs more than the rest of the line dispatch.
inline std::string_view trim(std::string_view s) {
  size_t b = 0, e = s.size();
  while (b < e && (s[b] == ' ' || s[b] == '\t')) ++b;
  while (e > b && (s[e - 1] == ' ' || s[e - 1] == '\t' || s[e - 1] == '\r')) --e;
  return s.substr(b, e - b);
}

inline bool starts_with(std::string_view s, std::string_view prefix) {
  return s.size() >= prefix.size() && s.compare(0, prefix.size(), prefix) == 0;
}

// The next number at or after `pos`; `pos` moves past it (or past an overflow field). nullopt when the
// line has no further number, or when the next field is Fortran overflow ("*****"): the value is missing,
// and a later call continues after the stars. Glued fields ("-0.12345678-0.23456789") are split at the
// sign, as Fortran fixed-width output means them. Fortran exponents (1.0D-05) are accepted.
std::optional<double> next_number(std::string_view s, size_t& pos);

// The first number after the first occurrence of `marker`.
std::optional<double> number_after(std::string_view s, std::string_view marker);

// An integer count printed by pw.x ("number of atoms/cell = 2"). nullopt unless the number is a whole
// value that fits an int (a fuzzed "1e300" must not become undefined behaviour in a cast).
std::optional<int> int_after(std::string_view s, std::string_view marker);
std::optional<int> to_int(std::optional<double> v);

// Three numbers after `marker` ("force =", "a(1) = ("); nullopt when any is missing.
std::optional<Vec3> vec_after(std::string_view s, std::string_view marker);

// pw.x's clock format → seconds: "1.50s", "1m23.45s", "1h 2m", "2d 3h 4m"; leading words are skipped.
std::optional<double> duration(std::string_view s);

// Classifies pw.x's "Error in routine ROUTINE (N): MESSAGE" block (see ErrorKind).
ErrorKind classify_error(std::string_view routine, std::string_view message);

}  // namespace qecloud::qe::output_text
