#pragma once
// Helpers of the output parser's tests: the text of a test output (gzip or plain), parsing a text as a file
// would be read (an unterminated end goes to feed_partial), and the edits that make a sibling of a real
// output (each must find its text, or the test fails instead of testing an unedited file).
#include <gtest/gtest.h>
#include <zlib.h>

#include <stdexcept>
#include <string>
#include <string_view>

#include "qe/output_parser.hpp"

namespace qecloud::testing_output {

inline std::string data_path(const std::string& rel) {
  return std::string(QECLOUD_TEST_DATA) + "/" + rel;
}

// The text of tests/data/REL, inflated when gzip (zlib reads plain files as they are).
inline std::string read_output(const std::string& rel) {
  gzFile f = gzopen(data_path(rel).c_str(), "rb");
  if (!f) throw std::runtime_error("cannot open " + rel);
  std::string out;
  char buf[1 << 16];
  int n;
  while ((n = gzread(f, buf, sizeof buf)) > 0) out.append(buf, static_cast<size_t>(n));
  gzclose(f);
  return out;
}

// parse_output_file on tests/data/outputs-corpus/REL.
inline qe::Results parse_corpus(const std::string& rel) {
  return qe::parse_output_file(data_path("outputs-corpus/" + rel));
}

// Parses `text` line by line; an unterminated end is passed to feed_partial(), as the file reader does.
inline qe::Results parse_text(std::string_view text) {
  qe::OutputParser p;
  size_t start = 0;
  while (start < text.size()) {
    const size_t nl = text.find('\n', start);
    if (nl == std::string_view::npos) {
      p.feed_partial(text.substr(start));
      break;
    }
    p.feed(text.substr(start, nl - start));
    start = nl + 1;
  }
  return p.finish();
}

// `text` with the first `from` replaced by `to`; throws when `from` is not there.
inline std::string edit(std::string text, std::string_view from, std::string_view to) {
  const size_t at = text.find(from);
  if (at == std::string::npos) throw std::runtime_error("edit: \"" + std::string(from) + "\" not found");
  return text.replace(at, from.size(), to);
}

// `text` up to (not including) the first line that starts with `marker` after trimming, i.e. cut there.
inline std::string cut_before(const std::string& text, std::string_view marker) {
  const size_t at = text.find(marker);
  if (at == std::string::npos) throw std::runtime_error("cut: \"" + std::string(marker) + "\" not found");
  return text.substr(0, text.rfind('\n', at) + 1);
}

}  // namespace qecloud::testing_output
