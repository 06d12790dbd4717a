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
