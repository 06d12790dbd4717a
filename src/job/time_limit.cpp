#include "job/time_limit.hpp"

#include <algorithm>
#include <cmath>

#include <fmt/format.h>

#include "core/text.hpp"
#include "qe/pw_input.hpp"

namespace qecloud {

int stop_margin_s(int limit_s) {
  return std::min(std::clamp(limit_s / 10, 60, 900), limit_s / 2);
}

std::optional<qe::InputEdit> max_seconds_edit(int limit_s, double elapsed_s,
                                              std::optional<double> input_max) {
  if (limit_s <= 0) return std::nullopt;
  const int margin = stop_margin_s(limit_s);
  const int budget = std::max(1, static_cast<int>(std::floor(limit_s - margin - elapsed_s)));
  if (input_max && *input_max > 0 && *input_max <= budget) return std::nullopt;
  return qe::InputEdit{
      "control", "max_seconds", std::to_string(budget),
      fmt::format("the time limit {} s less {:.0f} s spent and a {} s margin to stop and store the "
                  "restart data",
                  limit_s, elapsed_s, margin)};
}

std::optional<double> input_max_seconds(const std::string& input_path) {
  try {
    const qe::ParseResult p = qe::parse_pw_input(text::read_file(input_path), input_path);
    return p.input.get_real("control", "max_seconds");
  } catch (const std::exception&) {
    return std::nullopt;
  }
}

}  // namespace qecloud
