// Outputs cut short (a killed job): every output in tests/data (outputs/ and outputs-corpus/), cut at every
// byte of its last kilobyte and of its last '!' energy line. A torn line is never read — no torn
// "!    total energy = -14.4" becomes an energy or a step: the results are exactly those of the output up to
// its last complete line (only the warning that says a line was cut, and the message, differ) — and an
// output cut before JOB DONE is never a success (incomplete, unless it had already said why it stopped).
#include <gtest/gtest.h>

#include <cstdio>
#include <filesystem>
#include <optional>

#include "output_test_util.hpp"

using namespace qecloud;
using namespace qecloud::qe;
using namespace qecloud::testing_output;
namespace fs = std::filesystem;

namespace {

std::vector<std::string> test_outputs() {
  std::vector<std::string> out;
  for (const char* dir : {"outputs", "outputs-corpus"})
    for (const auto& e : fs::recursive_directory_iterator(data_path(dir))) {
      const std::string name = e.path().filename().string();
      if (e.is_regular_file() && (name.find(".out") != std::string::npos))
        out.push_back(fs::relative(e.path(), data_path("")).string());
    }
  std::sort(out.begin(), out.end());
  return out;
}

// The results without what a cut line may add: its warning, and the message that says the output was cut.
Results comparable(Results r) {
  r.warnings.clear();
  r.error_message.clear();
  return r;
}

bool warns_of_cut(const Results& r) {
  for (const auto& w : r.warnings)
    if (w.find("ends in the middle of a line") != std::string::npos) return true;
  return false;
}

struct Tally {
  size_t cuts = 0, disagree = 0;
  std::string first_failures;
  void fail(const std::string& what) {
    if (++disagree <= 20) first_failures += "  " + what + "\n";
  }
};

// Every cut of `text` at offsets [from, to], in order. One parser reads the complete lines as the cuts move
// on; each cut is a copy of it given the torn rest, compared with it as it stands (the output up to its last
// complete line).
void check_cuts(const std::string& name, const std::string& text, size_t from, size_t to, ErrorKind whole,
                Tally& tally) {
  OutputParser complete;
  size_t fed = 0;  // bytes of `text` whose lines `complete` has read
  std::optional<Results> reference;
  for (size_t cut = from; cut <= to && cut <= text.size(); ++cut) {
    ++tally.cuts;
    for (size_t nl = text.find('\n', fed); nl != std::string::npos && nl < cut; nl = text.find('\n', fed)) {
      complete.feed(std::string_view(text).substr(fed, nl - fed));
      fed = nl + 1;
      reference.reset();
    }
    if (!reference) reference = comparable(complete.finish());
    const std::string_view torn = std::string_view(text).substr(fed, cut - fed);
    OutputParser p(complete);
    p.feed_partial(torn);
    Results r = p.finish();
    const std::string at = name + " cut at byte " + std::to_string(cut) + ": ";
    if (torn.find_first_not_of(" \t\r") != std::string_view::npos && !warns_of_cut(r))
      tally.fail(at + "no warning that the last line was cut");
    if (!r.job_done && r.error_kind == ErrorKind::kNone) tally.fail(at + "no JOB DONE, yet a success");
    if (!r.job_done && whole == ErrorKind::kNone && r.error_kind != ErrorKind::kIncomplete)
      tally.fail(at + "error_kind " + to_string(r.error_kind) + ", not incomplete");
    if (comparable(std::move(r)) != *reference)
      tally.fail(at + "differs from the output up to its last complete line");
  }
}

TEST(OutputTruncation, TornLastLineIsNeverRead) {
  const auto files = test_outputs();
  ASSERT_GE(files.size(), 85u);
  Tally tally;
  for (const auto& rel : files) {
    const std::string text = read_output(rel);
    const ErrorKind whole = parse_text(text).error_kind;
    const size_t n = text.size();
    check_cuts(rel, text, n > 1024 ? n - 1024 : 0, n, whole, tally);
    // Every byte of the last '!' energy line, wherever it is.
    const size_t bang = text.rfind("\n!");
    if (bang != std::string::npos && bang + 1 < (n > 1024 ? n - 1024 : 0))
      check_cuts(rel, text, bang + 1, text.find('\n', bang + 1) + 1, whole, tally);
  }
  std::printf("output truncation: %zu files, %zu cuts, %zu agree, %zu disagree\n%s", files.size(), tally.cuts,
              tally.cuts - tally.disagree, tally.disagree, tally.first_failures.c_str());
  EXPECT_EQ(tally.disagree, 0u) << tally.first_failures;
}

// The example: a '!' line torn inside its number is neither an energy nor a new step.
TEST(OutputTruncation, TornEnergyLineIsNotAnEnergy) {
  const std::string text = read_output("outputs/si_relax.out");
  const size_t last = text.rfind("\n!") + 1;
  const std::string torn_line =
      text.substr(last, text.find('\n', last) - last);  // "!    total energy  = ..."
  const Results before = parse_text(text.substr(0, last));
  for (size_t keep = 1; keep < torn_line.size(); ++keep) {
    const Results r = parse_text(text.substr(0, last) + torn_line.substr(0, keep));
    EXPECT_EQ(r.total_energy_ry, before.total_energy_ry) << torn_line.substr(0, keep);
    EXPECT_EQ(r.steps.size(), before.steps.size()) << torn_line.substr(0, keep);
    EXPECT_EQ(r.error_kind, ErrorKind::kIncomplete);
    EXPECT_NE(r.error_message.find("in the middle of a line"), std::string::npos);
  }
  // Fed as a whole line (a live run's last piece): an energy line must end with its unit to count.
  OutputParser live;
  live.feed("!    total energy              =     -14.4");
  EXPECT_FALSE(live.finish().total_energy_ry);
  live.feed("     the Fermi energy is     6.6");
  EXPECT_FALSE(live.finish().fermi_energy_ev);
  // Complete, the same line is the last step's energy.
  EXPECT_EQ(parse_text(text.substr(0, text.find('\n', last) + 1)).steps.size(), before.steps.size() + 1);
}

}  // namespace
