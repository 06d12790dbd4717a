// libFuzzer target: the streaming pw.x output parser must survive any text (truncated runs, garbage), fed as
// the file reader feeds it: complete lines, then the unterminated end through feed_partial().
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "core/json_text.hpp"
#include "qe/output_parser.hpp"
#include "qe/results.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  qecloud::qe::OutputParser parser;
  size_t start = 0;
  while (start < text.size()) {
    size_t nl = text.find('\n', start);
    if (nl == std::string_view::npos) {
      // A snapshot reads the torn end as a line too (a live run's last piece), the original as a torn end.
      qecloud::qe::OutputParser live(parser);
      live.feed(text.substr(start));
      (void)qecloud::json_text(qecloud::qe::to_json(live.finish()));
      parser.feed_partial(text.substr(start));
      break;
    }
    parser.feed(text.substr(start, nl - start));
    start = nl + 1;
  }
  (void)parser.not_pw_output();
  (void)qecloud::json_text(qecloud::qe::to_json(parser.finish()));
  return 0;
}
