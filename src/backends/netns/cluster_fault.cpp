#include "backends/netns/cluster_fault.hpp"

#include <map>
#include <vector>

#include <fmt/format.h>

#include "core/env.hpp"
#include "core/error.hpp"

namespace qecloud::backends::netns {

ClusterFault parse_cluster_fault(const std::string& text) {
  std::vector<std::string> parts;
  for (std::size_t start = 0;;) {
    auto colon = text.find(':', start);
    parts.push_back(text.substr(start, colon - start));
    if (colon == std::string::npos) break;
    start = colon + 1;
  }
  static const std::map<std::string, ClusterFault::Kind> kinds = {
      {"no-start", ClusterFault::Kind::kNoStart},
      {"wrong-secret", ClusterFault::Kind::kWrongSecret},
      {"kill-agent", ClusterFault::Kind::kKillAgent},
      {"link-down", ClusterFault::Kind::kLinkDown},
      {"terminate", ClusterFault::Kind::kTerminate}};
  const std::string usage =
      "a fault is KIND:NODE[:SECONDS] with KIND no-start, wrong-secret, kill-agent or "
      "link-down, e.g. kill-agent:1:2, or terminate:all:SECONDS (AWS Batch's stop: SIGTERM to every node, "
      "SIGKILL 30 s later)";
  if (parts.size() < 2 || parts.size() > 3 || !kinds.count(parts[0]))
    throw UsageError(fmt::format("--inject-fault '{}': {}", text, usage));
  ClusterFault f{kinds.at(parts[0])};
  if ((f.kind == ClusterFault::Kind::kTerminate) != (parts[1] == "all"))
    throw UsageError(fmt::format("--inject-fault '{}': {}", text,
                                 f.kind == ClusterFault::Kind::kTerminate
                                     ? "AWS Batch stops every node at once: terminate:all[:SECONDS]"
                                     : "'all' is for terminate only; name one node"));
  const auto node =
      f.kind == ClusterFault::Kind::kTerminate ? std::optional<long long>(-1) : parse_integer(parts[1]);
  const auto after = parts.size() == 3 ? parse_decimal(parts[2]) : std::optional<double>(0);
  if (!node || !after || *after < 0 || *node > 100000)
    throw UsageError(fmt::format("--inject-fault '{}': {}", text, usage));
  f.node = static_cast<int>(*node);
  f.after_s = *after;
  const bool at_start = f.kind == ClusterFault::Kind::kNoStart || f.kind == ClusterFault::Kind::kWrongSecret;
  if (f.kind != ClusterFault::Kind::kTerminate && f.node < (at_start ? 1 : 0))
    throw UsageError(fmt::format("--inject-fault '{}': {}", text,
                                 at_start
                                     ? "the main node (0) must start; this fault goes to a child (1, 2, …)"
                                     : "node indices start at 0 (the main)"));
  return f;
}

}  // namespace qecloud::backends::netns
