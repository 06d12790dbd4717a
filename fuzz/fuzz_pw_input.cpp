// libFuzzer target: the pw.x input parser and validator must never crash, hang or read out of bounds,
// whatever bytes they are given. Pseudopotential lookups go to a directory that does not exist. The input's
// length picks the QE release it is judged for (or none: every release), so the release checks run too.
#include <cstddef>
#include <cstdint>
#include <iterator>
#include <string_view>

#include "core/json_text.hpp"
#include "qe/pw_input.hpp"
#include "qe/validator.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  auto parsed = qecloud::qe::parse_pw_input(text, "fuzz.in");
  qecloud::qe::ValidationEnv env;
  env.run_dir = "/nonexistent-qecloud-fuzz";
  constexpr int kReleases[] = {0, 605, 606, 607, 608, 700, 701, 702, 703, 704, 705};
  if (int r = kReleases[size % std::size(kReleases)]; r != 0) env.qe_version = {r / 100, r % 100};
  auto report = qecloud::qe::validate(parsed, env);
  (void)qecloud::json_text(qecloud::qe::to_json(report));
  (void)qecloud::format_diagnostics(report.diagnostics);
  return 0;
}
