#include "core/hostlist.hpp"

#include <charconv>

#include <fmt/format.h>

#include "core/text.hpp"

namespace qecloud {
namespace {

// More names than any cluster has: a typo like "n[1-999999999]" is refused rather than expanded.
constexpr std::size_t kMaxHosts = 1000000;

bool all_digits(std::string_view s) {
  return !s.empty() && s.find_first_not_of("0123456789") == std::string_view::npos;
}

// "1,3-5" → {"1", "3", "4", "5"}, each as wide as its range's lower bound.
Expected<std::vector<std::string>, std::string> expand_ranges(std::string_view ranges) {
  std::vector<std::string> out;
  while (true) {
    const std::size_t comma = ranges.find(',');
    const std::string_view item = ranges.substr(0, comma);
    const std::size_t dash = item.find('-');
    const std::string_view lo_text = item.substr(0, dash);
    const std::string_view hi_text = dash == std::string_view::npos ? lo_text : item.substr(dash + 1);
    if (!all_digits(lo_text) || !all_digits(hi_text))
      return unexpected(fmt::format("'{}' is not a number or a range N-M", item));
    unsigned long lo = 0, hi = 0;
    std::from_chars(lo_text.data(), lo_text.data() + lo_text.size(), lo);
    std::from_chars(hi_text.data(), hi_text.data() + hi_text.size(), hi);
    if (hi < lo) return unexpected(fmt::format("range '{}' runs backwards", item));
    if (hi - lo >= kMaxHosts) return unexpected(fmt::format("range '{}' is too long", item));
    for (unsigned long v = lo; v <= hi; ++v) out.push_back(fmt::format("{:0{}}", v, lo_text.size()));
    if (comma == std::string_view::npos) return out;
    ranges.remove_prefix(comma + 1);
  }
}

// One entry ("rack[1-2]n[01-02]") → its names, the leftmost bracket varying slowest.
Expected<std::vector<std::string>, std::string> expand_entry(std::string_view entry) {
  std::vector<std::string> names = {""};
  while (!entry.empty()) {
    const std::size_t open = entry.find('[');
    const std::string_view text = entry.substr(0, open);
    if (text.find(']') != std::string_view::npos) return unexpected(fmt::format("unmatched ']'"));
    for (auto& n : names) n += text;
    if (open == std::string_view::npos) break;
    const std::size_t close = entry.find(']', open);
    if (close == std::string_view::npos) return unexpected(std::string("unclosed '['"));
    auto values = expand_ranges(entry.substr(open + 1, close - open - 1));
    if (!values) return unexpected(values.error());
    if (names.size() * values->size() > kMaxHosts) return unexpected(std::string("too many hosts"));
    std::vector<std::string> product;
    product.reserve(names.size() * values->size());
    for (const auto& n : names)
      for (const auto& v : *values) product.push_back(n + v);
    names = std::move(product);
    entry.remove_prefix(close + 1);
  }
  return names;
}

}  // namespace

Expected<std::vector<std::string>, std::string> expand_hostlist(std::string_view list) {
  std::vector<std::string> hosts;
  std::size_t start = 0;
  int depth = 0;
  for (std::size_t i = 0; i <= list.size(); ++i) {
    const char c = i < list.size() ? list[i] : ',';
    if (c == '[') ++depth;
    if (c == ']') --depth;
    if (c != ',' || (depth > 0 && i < list.size())) continue;
    const std::string_view entry = text::trim(list.substr(start, i - start));
    start = i + 1;
    if (entry.empty()) continue;
    auto names = expand_entry(entry);
    if (!names)
      return unexpected(fmt::format("'{}' is not a host list: {} in '{}'", list, names.error(), entry));
    if (hosts.size() + names->size() > kMaxHosts)
      return unexpected(fmt::format("'{}' names more than {} hosts", list, kMaxHosts));
    hosts.insert(hosts.end(), names->begin(), names->end());
  }
  return hosts;
}

}  // namespace qecloud
