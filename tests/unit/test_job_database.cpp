#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>

#include "core/error.hpp"
#include "job/database.hpp"

#include <sqlite3.h>

namespace fs = std::filesystem;
using namespace qecloud;

namespace {
struct TempDb {
  fs::path dir = fs::temp_directory_path() / ("qecloud-db-" + std::to_string(::getpid()));
  TempDb() { fs::create_directories(dir); }
  ~TempDb() { fs::remove_all(dir); }
  std::string path() const { return (dir / "jobs.db").string(); }
};
JobRecord job(const std::string& id) {
  JobRecord j;
  j.id = id;
  j.name = "scf.in";
  j.input = "/x/scf.in";
  return j;
}
}  // namespace

TEST(JobDb, RecordsStatesLayoutAndResults) {
  TempDb t;
  JobDb db(t.path());
  db.insert(job("20261124-000000-aaaa"));
  db.set_layout("20261124-000000-aaaa", {{"ranks", 2}, {"pools", 2}});
  db.set_state("20261124-000000-aaaa", JobState::kRunning, "2 ranks");
  db.finish("20261124-000000-aaaa", JobState::kSucceeded, 0, {{"total_energy_ry", -15.84473648}}, "");
  auto j = db.find("20261124-000000");
  ASSERT_TRUE(j);
  EXPECT_EQ(j->state, JobState::kSucceeded);
  EXPECT_EQ(j->exit_code, 0);
  EXPECT_EQ(j->layout["pools"], 2);
  EXPECT_EQ(j->results["total_energy_ry"], -15.84473648);
  EXPECT_FALSE(j->started_at.empty());
  EXPECT_FALSE(j->finished_at.empty());
  auto tr = db.transitions(j->id);
  ASSERT_EQ(tr.size(), 3u);
  EXPECT_EQ(tr[0].state, "created");
  EXPECT_EQ(tr[1].state, "running");
  EXPECT_EQ(tr[2].state, "succeeded");
  EXPECT_FALSE(db.find("nope"));
}

TEST(JobDb, AResumeIsLinkedBothWays) {
  TempDb t;
  JobDb db(t.path());
  db.insert(job("20261124-000000-aaaa"));
  JobRecord second = job("20261124-000100-bbbb");
  second.resumed_from = "20261124-000000-aaaa";
  db.insert(second);
  EXPECT_EQ(db.find("20261124-000100-bbbb")->resumed_from, "20261124-000000-aaaa");
  EXPECT_EQ(db.find("20261124-000000-aaaa")->resumed_from, "");
  const auto by = db.resumed_by("20261124-000000-aaaa");
  ASSERT_EQ(by.size(), 1u);
  EXPECT_EQ(by[0].id, "20261124-000100-bbbb");
  EXPECT_TRUE(db.resumed_by("20261124-000100-bbbb").empty());
}

TEST(JobDb, AmbiguousPrefixIsAnError) {
  TempDb t;
  JobDb db(t.path());
  db.insert(job("20261124-000000-aaaa"));
  db.insert(job("20261124-000000-bbbb"));
  EXPECT_THROW(db.find("20261124"), Error);
  EXPECT_EQ(db.find("20261124-000000-bbbb")->id, "20261124-000000-bbbb");
  EXPECT_EQ(db.list().size(), 2u);
}

namespace {
// Forks `procs` processes that each open the database and record `jobs` jobs through all their states;
// returns how many of them failed.
int record_from_processes(const std::string& path, int procs, int jobs) {
  std::vector<pid_t> kids;
  for (int p = 0; p < procs; ++p) {
    pid_t pid = fork();
    if (pid == 0) {
      try {
        JobDb db(path);
        for (int i = 0; i < jobs; ++i) {
          std::string id = "p" + std::to_string(p) + "-" + std::to_string(i);
          db.insert(job(id));
          db.set_state(id, JobState::kRunning);
          db.finish(id, JobState::kSucceeded, 0, nlohmann::json::object(), "");
        }
        _exit(0);
      } catch (...) {
        _exit(1);
      }
    }
    kids.push_back(pid);
  }
  int failed = 0;
  for (pid_t k : kids) {
    int st = 0;
    waitpid(k, &st, 0);
    if (!(WIFEXITED(st) && WEXITSTATUS(st) == 0)) ++failed;
  }
  return failed;
}
}  // namespace

TEST(JobDb, SeveralProcessesWriteAtOnce) {
  TempDb t;
  { JobDb init(t.path()); }
  constexpr int kProcs = 4, kJobs = 25;
  EXPECT_EQ(record_from_processes(t.path(), kProcs, kJobs), 0);
  JobDb db(t.path());
  auto all = db.list(1000);
  EXPECT_EQ(all.size(), static_cast<size_t>(kProcs * kJobs));
  for (const auto& j : all) EXPECT_EQ(j.state, JobState::kSucceeded);
}

// Two `qecloud run`s started at once on a machine where no job was ever recorded both create the database.
TEST(JobDb, SeveralProcessesCreateTheDatabaseAtOnce) {
  for (int round = 0; round < 20; ++round) {
    TempDb t;
    EXPECT_EQ(record_from_processes(t.path(), 6, 3), 0) << "round " << round;
    JobDb db(t.path());
    EXPECT_EQ(db.list(1000).size(), 18u);
  }
}

TEST(JobDb, APrefixIsTextNotAPattern) {
  TempDb t;
  JobDb db(t.path());
  db.insert(job("20261124-000000-aaaa"));
  EXPECT_FALSE(db.find("%"));
  EXPECT_FALSE(db.find("2026_124"));
  EXPECT_FALSE(db.find(""));
  EXPECT_EQ(db.find("20261124-0")->id, "20261124-000000-aaaa");
}

TEST(JobDb, OwnerHeartbeatAndFinishOnlyWhileActive) {
  TempDb t;
  JobDb db(t.path());
  JobRecord j = job("a");
  j.owner = Owner::self();
  db.insert(j);
  auto got = db.find("a");
  ASSERT_TRUE(got);
  EXPECT_EQ(got->owner.pid, ::getpid());
  EXPECT_FALSE(got->heartbeat_at.empty());
  EXPECT_EQ(owner_gone(got->owner), false);
  db.set_state("a", JobState::kQueued, "submitted");
  EXPECT_TRUE(db.finish_if_active("a", JobState::kLost, 1, nlohmann::json::object(), "owner gone"));
  EXPECT_FALSE(db.finish_if_active("a", JobState::kFailed, 1, nlohmann::json::object(), "again"));
  got = db.find("a");
  EXPECT_EQ(got->state, JobState::kLost);
  EXPECT_TRUE(got->owner.empty());  // a finished job has no owner
  EXPECT_EQ(db.transitions("a").size(), 3u);
}

// A database written by an older qecloud (no remote, owner or heartbeat columns) is brought up to date.
TEST(JobDb, AnOldDatabaseGetsTheNewColumns) {
  TempDb t;
  {
    sqlite3* raw = nullptr;
    ASSERT_EQ(sqlite3_open(t.path().c_str(), &raw), SQLITE_OK);
    sqlite3_exec(
        raw,
        "CREATE TABLE jobs (id TEXT PRIMARY KEY, name TEXT, input TEXT, backend TEXT, state TEXT, "
        "store_url TEXT, created_at TEXT, started_at TEXT, finished_at TEXT, exit_code INTEGER, layout "
        "TEXT, results TEXT, message TEXT); INSERT INTO jobs (id, state) VALUES ('old', 'succeeded');",
        nullptr, nullptr, nullptr);
    sqlite3_close(raw);
  }
  JobDb db(t.path());
  auto old = db.find("old");
  ASSERT_TRUE(old);
  EXPECT_EQ(old->state, JobState::kSucceeded);
  db.insert(job("new"));
  EXPECT_EQ(db.list().size(), 2u);
}

TEST(JobDb, ErrorsNameTheFile) {
  try {
    JobDb db("/nonexistent-dir/jobs.db");
    FAIL() << "opened";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("/nonexistent-dir"), std::string::npos) << e.what();
  }
}
