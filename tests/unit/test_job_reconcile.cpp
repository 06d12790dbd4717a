// A job whose owner is gone is reconciled: `lost`, or what its report in the store says.
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>

#include "job/reconcile.hpp"
#include "job/report.hpp"
#include "job/store_layout.hpp"

namespace fs = std::filesystem;
using namespace qecloud;

namespace {

struct Tmp {
  fs::path dir = fs::temp_directory_path() / ("qecloud-reconcile-" + std::to_string(::getpid()));
  Tmp() { fs::create_directories(dir / "store"); }
  ~Tmp() { fs::remove_all(dir); }
};

// The Owner of a process that has exited: its pid is gone.
Owner dead_owner() {
  int fds[2];
  EXPECT_EQ(::pipe(fds), 0);
  pid_t pid = ::fork();
  if (pid == 0) {
    Owner o = Owner::self();
    (void)!::write(fds[1], &o.start_ticks, sizeof o.start_ticks);
    ::_exit(0);
  }
  Owner o = Owner::self();
  o.pid = pid;
  EXPECT_EQ(::read(fds[0], &o.start_ticks, sizeof o.start_ticks), static_cast<ssize_t>(sizeof o.start_ticks));
  ::close(fds[0]), ::close(fds[1]);
  int st;
  ::waitpid(pid, &st, 0);
  return o;
}

JobRecord running_job(const Tmp& t, const std::string& id, const Owner& owner) {
  JobRecord j;
  j.id = id;
  j.backend = "local";
  j.state = JobState::kRunning;
  j.owner = owner;
  j.store_url = JobLocation{"file://" + (t.dir / "store").string(), id}.url();
  return j;
}

}  // namespace

TEST(Reconcile, AJobWhoseOwnerIsAliveIsLeftAlone) {
  Tmp t;
  JobDb db((t.dir / "jobs.db").string());
  db.insert(running_job(t, "alive", Owner::self()));
  EXPECT_EQ(reconcile(db, *db.find("alive")).state, JobState::kRunning);
}

TEST(Reconcile, AJobWhoseOwnerDiedIsLost) {
  Tmp t;
  JobDb db((t.dir / "jobs.db").string());
  const Owner gone = dead_owner();
  ASSERT_EQ(owner_gone(gone), true);
  db.insert(running_job(t, "killed", gone));
  const JobRecord r = reconcile(db, *db.find("killed"));
  EXPECT_EQ(r.state, JobState::kLost);
  EXPECT_NE(r.message.find(std::to_string(gone.pid)), std::string::npos) << r.message;
  EXPECT_EQ(db.find("killed")->state, JobState::kLost);  // recorded, not only shown
}

TEST(Reconcile, AReportInTheStoreSaysHowItEnded) {
  Tmp t;
  JobDb db((t.dir / "jobs.db").string());
  JobRecord j = running_job(t, "multi", dead_owner());
  db.insert(j);
  const JobLocation loc = JobLocation::of_job_url(j.store_url, j.id);
  const fs::path out = t.dir / "store" / loc.output_prefix();
  fs::create_directories(out);
  AgentReport report;
  report.state = JobState::kSucceeded;
  report.exit_code = kExitOk;
  report.results.total_energy_ry = -15.84473648;
  write_report(report, (out / output_name::kReport).string());
  const JobRecord r = reconcile(db, *db.find("multi"));
  EXPECT_EQ(r.state, JobState::kSucceeded);
  EXPECT_EQ(r.exit_code, 0);
  EXPECT_DOUBLE_EQ(r.results["total_energy_ry"].get<double>(), -15.84473648);
}

TEST(Reconcile, AnOwnerOnAnotherHostIsJudgedByItsHeartbeat) {
  Tmp t;
  JobDb db((t.dir / "jobs.db").string());
  Owner elsewhere = Owner::self();
  elsewhere.host = "some-other-host";
  db.insert(running_job(t, "fresh", elsewhere));
  EXPECT_EQ(reconcile(db, *db.find("fresh")).state, JobState::kRunning);  // heartbeat just now
}
