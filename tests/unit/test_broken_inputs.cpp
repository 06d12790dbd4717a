// Data-driven: every tests/data/broken/NAME.in must be rejected, and every tests/data/accepted/NAME.in
// accepted, each with exactly the diagnostics in NAME.expected. Run from that directory, as pw.x would be
// (pseudo_dir './' resolves there); no $ESPRESSO_PSEUDO, no $HOME. A NAME.version file ("6.7") judges the
// input for that QE release; without one it is judged against every release of the table.
// QECLOUD_UPDATE_EXPECTED=1 rewrites the .expected files from what the validator says (then read the diff).
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>

#include "core/text.hpp"
#include "qe/validator.hpp"

namespace fs = std::filesystem;
using namespace qecloud;

namespace {

const fs::path kData = fs::path(QECLOUD_TEST_DATA);

std::vector<std::string> cases(const char* folder) {
  std::vector<std::string> names;
  for (const auto& e : fs::directory_iterator(kData / folder))
    if (e.path().extension() == ".in") names.push_back(std::string(folder) + "/" + e.path().stem().string());
  std::sort(names.begin(), names.end());
  return names;
}

qe::ValidationReport judge(const fs::path& in) {
  qe::ValidationEnv env;
  env.run_dir = in.parent_path().string();
  fs::path version = fs::path(in).replace_extension(".version");
  if (fs::exists(version)) {
    env.qe_version = qe::QeVersion::parse(text::read_file(version.string()));
    env.qe_version_source = "test";
  }
  auto text = text::read_file(in.string());
  return qe::validate(qe::parse_pw_input(text, in.filename().string()), env);
}

void compare_with_expected(const fs::path& in, const qe::ValidationReport& report) {
  const fs::path expected_file = fs::path(in).replace_extension(".expected");
  const std::string actual = format_diagnostics(report.diagnostics);
  if (const char* u = std::getenv("QECLOUD_UPDATE_EXPECTED"); u && std::string(u) == "1") {
    std::ofstream(expected_file) << actual;
    return;
  }
  EXPECT_EQ(actual, text::read_file(expected_file.string())) << "case " << in;
}

std::string test_name(const ::testing::TestParamInfo<std::string>& info) {
  std::string n = info.param.substr(info.param.find('/') + 1);
  for (char& ch : n)
    if (!std::isalnum(static_cast<unsigned char>(ch))) ch = '_';
  return n;
}

class BrokenInput : public ::testing::TestWithParam<std::string> {};

TEST_P(BrokenInput, RejectedWithExpectedDiagnostics) {
  const fs::path in = kData / (GetParam() + ".in");
  auto report = judge(in);
  EXPECT_FALSE(report.ok()) << GetParam() << " was accepted";
  compare_with_expected(in, report);
}

INSTANTIATE_TEST_SUITE_P(Corpus, BrokenInput, ::testing::ValuesIn(cases("broken")), test_name);

class AcceptedInput : public ::testing::TestWithParam<std::string> {};

TEST_P(AcceptedInput, ValidWithExpectedDiagnostics) {
  const fs::path in = kData / (GetParam() + ".in");
  auto report = judge(in);
  EXPECT_TRUE(report.ok()) << GetParam() << " was refused:\n" << format_diagnostics(report.diagnostics);
  compare_with_expected(in, report);
}

INSTANTIATE_TEST_SUITE_P(Corpus, AcceptedInput, ::testing::ValuesIn(cases("accepted")), test_name);

TEST(BrokenInputCorpus, HasAtLeastThirtyCases) {
  EXPECT_GE(cases("broken").size(), 30u);
  EXPECT_GE(cases("accepted").size(), 10u);
}

}  // namespace
