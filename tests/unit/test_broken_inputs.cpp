// Data-driven: every tests/data/broken/NAME.in must be rejected with exactly the diagnostics in
// NAME.expected. Run from that directory, as pw.x would be (pseudo_dir './' resolves there); no
// $ESPRESSO_PSEUDO, no $HOME.
#include <gtest/gtest.h>

#include <filesystem>

#include "core/text.hpp"
#include "qe/validator.hpp"

namespace fs = std::filesystem;
using namespace qecloud;

namespace {

const fs::path kDir = fs::path(QECLOUD_TEST_DATA) / "broken";

std::vector<std::string> cases() {
  std::vector<std::string> names;
  for (const auto& e : fs::directory_iterator(kDir))
    if (e.path().extension() == ".in") names.push_back(e.path().stem().string());
  std::sort(names.begin(), names.end());
  return names;
}

class BrokenInput : public ::testing::TestWithParam<std::string> {};

TEST_P(BrokenInput, RejectedWithExpectedDiagnostics) {
  const std::string name = GetParam();
  qe::ValidationEnv env;
  env.run_dir = kDir.string();
  auto text = text::read_file((kDir / (name + ".in")).string());
  auto report = qe::validate(qe::parse_pw_input(text, name + ".in"), env);
  EXPECT_FALSE(report.ok()) << name << " was accepted";
  std::string expected = text::read_file((kDir / (name + ".expected")).string());
  EXPECT_EQ(format_diagnostics(report.diagnostics), expected) << "case " << name;
}

INSTANTIATE_TEST_SUITE_P(Corpus, BrokenInput, ::testing::ValuesIn(cases()),
                         [](const auto& info) { return info.param; });

TEST(BrokenInputCorpus, HasAtLeastThirtyCases) {
  EXPECT_GE(cases().size(), 30u);
}

}  // namespace
