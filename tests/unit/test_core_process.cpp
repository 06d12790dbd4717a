#include <gtest/gtest.h>
#include <unistd.h>

#include <csignal>
#include <filesystem>
#include <thread>

#include "core/error.hpp"
#include "core/process.hpp"
#include "core/text.hpp"
#include "core/topology.hpp"

namespace fs = std::filesystem;
using namespace qecloud;
using namespace std::chrono_literals;

namespace {
std::string tmp(const char* name) {
  return (fs::temp_directory_path() / (name + std::to_string(::getpid()))).string();
}
}  // namespace

TEST(Process, DeliversLinesAndCopiesStdout) {
  const std::string out = tmp("qecloud-sp-out");
  Process p({{"sh", "-c", "printf 'one\\ntwo\\nthree'; exit 3"}, "", {}, {}, out, ""});
  std::vector<std::string> lines;
  while (p.pump([&](std::string_view l) { lines.emplace_back(l); }, 100ms)) {
  }
  auto st = p.wait_for(5s);
  ASSERT_TRUE(st);
  EXPECT_EQ(st->code, 3);
  EXPECT_EQ(lines, (std::vector<std::string>{"one", "two", "three"}));
  EXPECT_EQ(text::read_file(out), "one\ntwo\nthree");
  fs::remove(out);
}

TEST(Process, SignalReachesTheWholeProcessGroup) {
  const std::string out = tmp("qecloud-sp-grp");
  // The shell starts a grandchild; killing the group must end both, so stdout closes.
  Process p({{"sh", "-c", "sleep 30 & sleep 30; echo never"}, "", {}, {}, out, ""});
  std::this_thread::sleep_for(200ms);
  p.signal_group(SIGTERM);
  auto start = std::chrono::steady_clock::now();
  while (p.pump([](std::string_view) {}, 100ms)) {
  }
  auto st = p.wait_for(5s);
  ASSERT_TRUE(st);
  EXPECT_EQ(st->signal, SIGTERM);
  EXPECT_LT(std::chrono::steady_clock::now() - start, 5s);
  fs::remove(out);
}

TEST(Process, MissingProgramIsAnError) {
  EXPECT_THROW(Process({{"/nonexistent/program"}, "", {}, {}, tmp("qecloud-sp-miss"), ""}), Error);
}

TEST(Topology, SeesAtLeastOneCore) {
  Topology t = detect_topology();
  EXPECT_GE(t.physical_cores, 1);
  EXPECT_GE(t.logical_cpus, t.physical_cores);
}

TEST(Process, ATornLastLineIsHandedOverApartAndLongLinesAreCut) {
  const std::string out = tmp("qecloud-sp-torn");
  // 200 KiB without a newline, then a short line, then a torn "!    total energy = -14.4" at the end.
  Process p(
      {{"sh", "-c", "head -c 204800 /dev/zero | tr '\\0' x; printf '\\nshort\\n!    total energy = -14.4'"},
       "",
       {},
       {},
       out,
       ""});
  std::vector<std::string> lines, torn;
  while (p.pump([&](std::string_view l) { lines.emplace_back(l); }, 100ms,
                [&](std::string_view t) { torn.emplace_back(t); })) {
  }
  ASSERT_TRUE(p.wait_for(5s));
  ASSERT_EQ(lines.size(), 2u);
  EXPECT_EQ(lines[0].size(), RunningProgram::kMaxLine);  // cut, not buffered whole
  EXPECT_EQ(lines[1], "short");
  EXPECT_EQ(torn, std::vector<std::string>{"!    total energy = -14.4"});
  EXPECT_EQ(fs::file_size(out), 204800u + 7 + 25);  // the copy on disk is whole
  fs::remove(out);
}

TEST(Process, CaptureReturnsWhatWasPrintedAndTheStatus) {
  SpawnOptions o;
  o.argv = {"sh", "-c", "echo out; echo err >&2; exit 4"};
  const Captured c = capture(o);
  EXPECT_EQ(c.status.code, 4);
  EXPECT_NE(c.output.find("out\n"), std::string::npos);
  EXPECT_NE(c.output.find("err\n"), std::string::npos);
  EXPECT_THROW(capture_ok({"sh", "-c", "echo nope; exit 1"}), Error);
  EXPECT_EQ(capture_ok({"printf", "a\\nb"}), "a\nb\n");
}

TEST(Process, AFullDiskStopsTheCopyNotTheProgram) {
  // /dev/full: every write fails with ENOSPC, as on a full disk.
  Process p({{"sh", "-c", "echo one; echo two"}, "", {}, {}, "/dev/full", ""});
  std::vector<std::string> lines;
  while (p.pump([&](std::string_view l) { lines.emplace_back(l); }, 100ms)) {
  }
  ASSERT_TRUE(p.wait_for(5s));
  EXPECT_EQ(lines, (std::vector<std::string>{"one", "two"}));
  EXPECT_NE(p.copy_error().find("/dev/full: No space left on device"), std::string::npos) << p.copy_error();
}

TEST(Process, RemovedVariablesDoNotReachTheChild) {
  ::setenv("QECLOUD_TEST_SECRET", "hide-me", 1);
  SpawnOptions o;
  o.argv = {"sh", "-c", "echo \"[$QECLOUD_TEST_SECRET][$EXTRA]\""};
  o.env_remove = {"QECLOUD_TEST_SECRET"};
  o.env_overrides = {{"EXTRA", "given"}};
  EXPECT_EQ(capture(o).output, "[][given]\n");
  ::unsetenv("QECLOUD_TEST_SECRET");
}
