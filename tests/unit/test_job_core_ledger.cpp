// The machine's cores shared among local runs: a second run waits for the first one's cores, in line,
// and a run that died gives its cores back.
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <thread>

#include "job/core_ledger.hpp"

namespace fs = std::filesystem;
using namespace qecloud;
using namespace std::chrono_literals;

namespace {
std::string ledger() {
  return (fs::temp_directory_path() / ("qecloud-ledger-" + std::to_string(::getpid()))).string();
}

// Claims in a child process; the child holds the cores for `hold` and exits (or dies, when `crash`).
pid_t claim_in_child(const std::string& path, CoreRequest req, std::chrono::milliseconds hold,
                     bool crash = false) {
  pid_t pid = ::fork();
  if (pid == 0) {
    req.ledger_path = path;
    auto claim = claim_cores(req, {});
    std::this_thread::sleep_for(hold);
    if (crash) ::_exit(9);  // no destructor: the ledger keeps a dead pid's line
    ::_exit(claim ? claim->cores() : 100);
  }
  return pid;
}
}  // namespace

TEST(CoreLedger, TakesTheFreeCoresAndWaitsInLineForMore) {
  const std::string path = ledger();
  fs::remove(path);
  const pid_t first = claim_in_child(path, {2, 2, false, "first", ""}, 800ms);
  std::this_thread::sleep_for(300ms);
  CoreRequest req{2, std::nullopt, false, "second", path};
  std::vector<std::string> notes;
  const auto t0 = std::chrono::steady_clock::now();
  auto claim = claim_cores(req, {[&](const std::string& n) { notes.push_back(n); }, {}, {}});
  ASSERT_TRUE(claim);
  EXPECT_GE(std::chrono::steady_clock::now() - t0, 300ms);  // it waited for the first run's cores
  EXPECT_EQ(claim->cores(), 2);
  ASSERT_FALSE(notes.empty());
  EXPECT_NE(notes[0].find("2 of 2 in use by first"), std::string::npos) << notes[0];
  EXPECT_NE(notes[0].find("place 1"), std::string::npos) << notes[0];
  int st;
  ::waitpid(first, &st, 0);
  EXPECT_EQ(WEXITSTATUS(st), 2);
  claim.reset();
  fs::remove(path);
}

TEST(CoreLedger, ADeadRunGivesItsCoresBackAndOversubscribingDoesNotWait) {
  const std::string path = ledger();
  fs::remove(path);
  const pid_t crashed = claim_in_child(path, {2, 2, false, "crashed", ""}, 0ms, true);
  int st;
  ::waitpid(crashed, &st, 0);
  auto claim = claim_cores({2, 1, false, "after", path}, {});
  ASSERT_TRUE(claim);  // the dead run's line did not hold its cores
  auto over = claim_cores({2, 4, true, "over", path}, {});
  ASSERT_TRUE(over);
  EXPECT_EQ(over->cores(), 4);
  fs::remove(path);
}

TEST(CoreLedger, AStopSignalEndsTheWait) {
  const std::string path = ledger();
  fs::remove(path);
  const pid_t holder = claim_in_child(path, {1, 1, false, "holder", ""}, 1500ms);
  std::this_thread::sleep_for(300ms);
  int polls = 0;
  auto claim =
      claim_cores({1, std::nullopt, false, "waiter", path}, {{}, [&] { return ++polls > 3 ? 15 : 0; }, {}});
  EXPECT_FALSE(claim);
  int st;
  ::waitpid(holder, &st, 0);
  fs::remove(path);
}
