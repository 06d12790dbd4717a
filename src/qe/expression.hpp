#pragma once
// pw.x accepts simple arithmetic in card fields (e.g. `1/3` in ATOMIC_POSITIONS {crystal}): numbers,
// + - * / ^ and parentheses. This evaluates the same language.
#include <optional>
#include <string_view>

namespace qecloud::qe {

// The value of `expr`, or nullopt when it is not a well-formed expression (or divides by zero).
std::optional<double> evaluate_expression(std::string_view expr);

}  // namespace qecloud::qe
