// validate_file on anything a user may name: only a regular file of at most kMaxInputBytes is read; a FIFO, a
// device or a directory is refused at once (opening a FIFO must not wait for a writer), a huge file unread.
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "core/text.hpp"
#include "qe/validator.hpp"

namespace fs = std::filesystem;
using namespace qecloud;

namespace {

struct Scratch {
  fs::path dir = fs::temp_directory_path() / ("qecloud-validate-file-" + std::to_string(::getpid()));
  Scratch() { fs::create_directories(dir); }
  ~Scratch() { fs::remove_all(dir); }
};

std::string only_message(const qe::ValidationReport& r) {
  EXPECT_EQ(r.diagnostics.size(), 1u);
  return r.diagnostics.empty() ? "" : format_diagnostic(r.diagnostics[0]);
}

}  // namespace

TEST(ValidateFile, RefusesAFifoWithoutWaitingForAWriter) {
  Scratch s;
  const std::string fifo = (s.dir / "input.in").string();
  ASSERT_EQ(::mkfifo(fifo.c_str(), 0600), 0);
  auto r = qe::validate_file(fifo, {});  // would block forever if the FIFO were opened for a blocking read
  EXPECT_FALSE(r.ok());
  EXPECT_EQ(only_message(r), fifo + ": error: is not a regular file (a FIFO): pw.x inputs are files\n");
}

TEST(ValidateFile, RefusesDevicesAndDirectories) {
  Scratch s;
  EXPECT_EQ(only_message(qe::validate_file("/dev/zero", {})),
            "/dev/zero: error: is not a regular file (a character device): pw.x inputs are files\n");
  EXPECT_EQ(only_message(qe::validate_file(s.dir.string(), {})),
            s.dir.string() + ": error: is a directory, not a pw.x input file\n");
  EXPECT_EQ(
      only_message(qe::validate_file((s.dir / "missing.in").string(), {})),
      (s.dir / "missing.in").string() + ": error: cannot read the input file: No such file or directory\n");
}

TEST(ValidateFile, RefusesAHugeFileUnread) {
  Scratch s;
  const fs::path big = s.dir / "huge.in";
  std::ofstream(big) << " &control\n";
  fs::resize_file(big, static_cast<uintmax_t>(qe::kMaxInputBytes) + 1);  // sparse: nothing is written
  auto r = qe::validate_file(big.string(), {});
  EXPECT_EQ(only_message(r),
            big.string() + ": error: is larger than 16 MiB: pw.x inputs are kilobytes; refused unread\n");
  // Exactly at the limit is read (and then judged as an input: here a broken one).
  fs::resize_file(big, static_cast<uintmax_t>(qe::kMaxInputBytes));
  auto at_limit = qe::validate_file(big.string(), {});
  EXPECT_FALSE(at_limit.ok());
  EXPECT_EQ(at_limit.diagnostics[0].file, big.string());
  EXPECT_NE(format_diagnostics(at_limit.diagnostics).find("namelist"), std::string::npos);
}

TEST(ValidateFile, ReleasesOutsideTheTableAreJudgedAsItsEndsWithAWarning) {
  qe::ValidationEnv env;
  env.run_dir = std::string(QECLOUD_SOURCE_DIR) + "/examples/si";
  for (const auto& [release, said] :
       {std::pair{"8.0", "QE 8.0 is newer than the releases qecloud knows (6.5 to 7.5): judged as 7.5"},
        std::pair{"6.4", "QE 6.4 is older than the releases qecloud knows (6.5 to 7.5): judged as 6.5"}}) {
    env.qe_version = qe::QeVersion::parse(release);
    auto r = qe::validate_file(env.run_dir + "/scf.in", env);
    const std::string text = format_diagnostics(r.diagnostics);
    EXPECT_TRUE(r.ok()) << text;  // not "'calculation' needs QE >= 6.5"
    EXPECT_NE(text.find(std::string("warning: ") + said), std::string::npos) << text;
    EXPECT_EQ(r.qe_version, env.qe_version);  // the report names the release asked for
  }
  env.qe_version = qe::QeVersion::parse("7.2");
  EXPECT_EQ(format_diagnostics(qe::validate_file(env.run_dir + "/scf.in", env).diagnostics).find("qecloud knows"),
            std::string::npos);
}

TEST(ValidateFile, JudgesTheSeedAsValidForAnyRelease) {
  qe::ValidationEnv env;
  env.run_dir = std::string(QECLOUD_SOURCE_DIR) + "/examples/si";
  auto r = qe::validate_file(env.run_dir + "/scf.in", env);
  EXPECT_TRUE(r.ok()) << format_diagnostics(r.diagnostics);
  EXPECT_FALSE(r.qe_version);
  env.qe_version_unknown = true;  // a caller that looked for pw.x and found none: said in a note
  auto noted = qe::validate_file(env.run_dir + "/scf.in", env);
  EXPECT_TRUE(noted.ok());
  EXPECT_NE(
      format_diagnostics(noted.diagnostics)
          .find("note: no pw.x found and no --qe-version given: judged against every QE release from 6.5 "
                "to 7.5"),
      std::string::npos);
}
