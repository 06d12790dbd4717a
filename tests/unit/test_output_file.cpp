// parse_output_file on any file: bounded memory whatever the lines, FIFOs and directories answered without
// blocking, and "not a pw.x output" (exit code 3) for what is not one, naming the file.
#include <gtest/gtest.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <thread>

#include "core/error.hpp"
#include "output_test_util.hpp"

using namespace qecloud;
using namespace qecloud::qe;
using namespace qecloud::testing_output;
namespace fs = std::filesystem;

namespace {

class OutputFile : public testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("qecloud-output-file-" + std::to_string(::getpid()));
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }
  std::string write(const std::string& name, const std::string& text) {
    const std::string p = (dir_ / name).string();
    std::ofstream(p, std::ios::binary) << text;
    return p;
  }
  // The qecloud::Error that parsing `path` throws (its message and exit code), or a failure.
  static std::pair<std::string, int> refusal(const std::string& path) {
    try {
      parse_output_file(path);
    } catch (const Error& e) {
      return {e.what(), e.exit_code()};
    }
    ADD_FAILURE() << path << " was accepted";
    return {"", 0};
  }
  fs::path dir_;
};

long peak_rss_kib() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  return u.ru_maxrss;
}

TEST_F(OutputFile, NotPwOutputsAreRefusedNamingTheFile) {
  const std::string empty = write("empty.out", "");
  auto [msg, code] = refusal(empty);
  EXPECT_EQ(msg, empty + ": not a pw.x output: it is empty");
  EXPECT_EQ(code, kExitBadInput);

  const std::string readme = write("notes.txt", "Some notes\nabout nothing in particular\n");
  std::tie(msg, code) = refusal(readme);
  EXPECT_NE(msg.find(readme + ": not a pw.x output"), std::string::npos) << msg;
  EXPECT_EQ(code, kExitBadInput);

  // Another QE program's output (JOB DONE and all).
  const std::string ph =
      write("ph.out", "\n     Program PHONON v.6.7MaX starts on  1Jan2026 at 10: 0: 0\n   JOB DONE.\n");
  std::tie(msg, code) = refusal(ph);
  EXPECT_EQ(msg, ph + ": not a pw.x output: it is the output of QE's PHONON, not of pw.x (PWSCF)");

  const std::string blank = write("blank.out", "\n\n   \n");
  EXPECT_EQ(refusal(blank).second, kExitBadInput);

  std::tie(msg, code) = refusal(dir_.string());
  EXPECT_EQ(msg, dir_.string() + ": not a pw.x output: it is a directory");
  EXPECT_EQ(code, kExitBadInput);

  std::tie(msg, code) = refusal("/dev/null");
  EXPECT_EQ(msg, "/dev/null: not a pw.x output: it is not a regular file or a pipe");

  std::tie(msg, code) = refusal((dir_ / "missing.out").string());
  EXPECT_NE(msg.find("missing.out: cannot open"), std::string::npos);
  EXPECT_EQ(code, kExitFailure);
}

TEST_F(OutputFile, FragmentWithoutBannerIsStillPwOutput) {
  const std::string text = read_output("outputs/si_scf.out");
  const std::string fragment = text.substr(text.find("number of atoms/cell"));
  Results r = parse_output_file(write("fragment.out", fragment));
  EXPECT_EQ(*r.total_energy_ry, -15.84452726);
  EXPECT_NE(r.warnings.back().find("no \"Program PWSCF\" banner"), std::string::npos);
}

TEST_F(OutputFile, FifoWithoutWriterDoesNotBlock) {
  const std::string fifo = (dir_ / "pw.fifo").string();
  ASSERT_EQ(::mkfifo(fifo.c_str(), 0600), 0);
  auto [msg, code] = refusal(fifo);  // would wait for a writer forever if open() blocked
  EXPECT_EQ(msg, fifo + ": not a pw.x output: it is a FIFO that no writer opened (nothing to read)");
  EXPECT_EQ(code, kExitBadInput);
}

// The writer may open the FIFO after the reader (a shell's `pw.x > fifo &` racing `qecloud parse fifo`).
TEST_F(OutputFile, FifoWithWriterIsReadAsAStream) {
  const std::string fifo = (dir_ / "pw.fifo").string();
  ASSERT_EQ(::mkfifo(fifo.c_str(), 0600), 0);
  const std::string text = read_output("outputs/si_relax.out");
  std::thread writer([&] { std::ofstream(fifo, std::ios::binary) << text; });
  Results r = parse_output_file(fifo);
  writer.join();
  EXPECT_EQ(to_json(r), to_json(parse_output_file(data_path("outputs/si_relax.out"))));
}

// A stream without a newline, through a FIFO: read with bounded memory (not buffered whole), then refused —
// its only line is cut and not pw.x's. It is 512 MiB longer than the process's peak so far, so that buffering
// it would raise the peak by hundreds of MiB whatever ran before in this process.
TEST_F(OutputFile, NewlineFreeStreamKeepsMemoryBounded) {
  const std::string fifo = (dir_ / "big.fifo").string();
  ASSERT_EQ(::mkfifo(fifo.c_str(), 0600), 0);
  const long before = peak_rss_kib();
  const long mib = before / 1024 + 512;
  std::thread writer([&] {
    std::ofstream out(fifo, std::ios::binary);
    const std::string chunk(1 << 20, 'x');
    for (long i = 0; i < mib && out; ++i) out << chunk;
  });
  auto [msg, code] = refusal(fifo);
  writer.join();
  EXPECT_EQ(code, kExitBadInput) << msg;
  EXPECT_LT(peak_rss_kib() - before, 64L * 1024) << "KiB of peak RSS added by reading " << mib << " MiB";
}

TEST_F(OutputFile, OverlongLinesAreSkippedWithAWarning) {
  const std::string text = read_output("outputs/si_scf.out");
  const size_t at = text.find("     number of k points=");
  const std::string with_long = text.substr(0, at) + std::string(1 << 20, '!') + "\n" +
                                std::string(200000, 'x') + " total energy = -1.0 Ry\n" + text.substr(at);
  Results r = parse_output_file(write("long.out", with_long));
  Results plain = parse_output_file(data_path("outputs/si_scf.out"));
  nlohmann::json a = to_json(r), b = to_json(plain);
  a.erase("warnings"), b.erase("warnings");
  EXPECT_EQ(a, b);
  EXPECT_NE(
      std::find(r.warnings.begin(), r.warnings.end(), "2 line(s) longer than 64 KiB skipped (not pw.x's)"),
      r.warnings.end());
  // A line of exactly 64 KiB is still read.
  OutputParser p;
  p.feed(std::string(64 * 1024 - 30, ' ') + "number of atoms/cell = 7");
  EXPECT_EQ(p.finish().n_atoms, 7);
}

TEST_F(OutputFile, TornLastLineOfAFileIsNotRead) {
  const std::string text = read_output("outputs/si_relax.out");
  const size_t last = text.rfind("\n!") + 1;
  const std::string cut = text.substr(0, last) + "!    total energy              =     -15.6";
  Results r = parse_output_file(write("cut.out", cut));
  EXPECT_EQ(to_json(r), to_json(parse_text(cut)));
  EXPECT_NE(*r.total_energy_ry, -15.6);
  EXPECT_EQ(r.error_kind, ErrorKind::kIncomplete);
  EXPECT_EQ(r.error_message, "the output ends without JOB DONE, in the middle of a line");
}

}  // namespace
