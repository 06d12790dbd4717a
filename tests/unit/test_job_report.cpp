// The job's report: one writer, one reader, one set of defaults.
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>

#include "core/text.hpp"
#include "job/report.hpp"

namespace fs = std::filesystem;
using namespace qecloud;

TEST(AgentReport, RoundTripsWithEveryNode) {
  AgentReport r;
  r.state = JobState::kNotConverged;
  r.exit_code = kExitNotConverged;
  r.message = "convergence NOT achieved after 2 iterations";
  r.nodes = 3, r.ranks = 6, r.pools = 3;
  r.results.total_energy_ry = -15.84473648;
  r.history = {"SCF not converged after 3 iterations: … (recovery 1 of 3)", "… (recovery 2 of 3)"};
  for (int i = 0; i < 1001; ++i)
    r.node_list.push_back({i, "198.18.0." + std::to_string(10 + i % 200), "node", 2});
  const fs::path path =
      fs::temp_directory_path() / ("qecloud-report-" + std::to_string(::getpid()) + ".json");
  write_report(r, path.string());
  const auto back = parse_report(text::read_file(path.string()));
  fs::remove(path);
  ASSERT_TRUE(back);
  EXPECT_EQ(back->state, JobState::kNotConverged);
  EXPECT_EQ(back->exit_code, kExitNotConverged);
  EXPECT_EQ(back->message, r.message);
  EXPECT_EQ(back->ranks, 6);
  EXPECT_EQ(back->pools, 3);
  ASSERT_EQ(back->node_list.size(), 1001u);
  EXPECT_EQ(back->node_list[1000].node, 1000);
  EXPECT_EQ(back->node_list[1].slots, 2);
  ASSERT_TRUE(back->results.total_energy_ry);
  EXPECT_DOUBLE_EQ(*back->results.total_energy_ry, -15.84473648);
  EXPECT_EQ(back->history, r.history);
}

TEST(AgentReport, MissingFieldsNeverMakeASuccess) {
  const auto r = parse_report(R"({"state": "succeeded"})");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->state, JobState::kSucceeded);
  EXPECT_EQ(r->exit_code, kExitFailure);  // no exit code: not 0
  EXPECT_FALSE(parse_report("not json"));
  EXPECT_FALSE(parse_report(R"({"results": {}})"));
  EXPECT_EQ(parse_report(R"({"state": "no-such-state"})")->state, JobState::kFailed);
  // A report from before recoveries were recorded has no history; a malformed one is skipped, not fatal.
  EXPECT_TRUE(r->history.empty());
  EXPECT_EQ(parse_report(R"({"state": "failed", "history": ["a", 3, "b"]})")->history,
            (std::vector<std::string>{"a", "b"}));
  EXPECT_TRUE(parse_report(R"({"state": "failed", "history": "a"})")->history.empty());
}
