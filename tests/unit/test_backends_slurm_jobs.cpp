// The Slurm backend's job flow against a fake Slurm that records every command and answers as Slurm 22.05
// does (the answers were copied from the real commands in integration.slurm): submit records `queued` with
// the Slurm job id and writes a private batch script; sbatch's refusal is shown verbatim and nothing is
// recorded as submitted; refresh follows squeue, then sacct, then the job's report; cancel stops a running
// job through its batch shell only.
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>

#include "backends/slurm/slurm_jobs.hpp"
#include "core/error.hpp"
#include "core/text.hpp"
#include "job/report.hpp"
#include "job/store_layout.hpp"

namespace fs = std::filesystem;

namespace qecloud {
namespace slurm = backends::slurm;
namespace {

// $QECLOUD_HOME in a fresh directory for the test's life.
struct Home {
  fs::path dir = fs::temp_directory_path() / ("qecloud-slurm-unit-" + std::to_string(::getpid()));
  std::string saved = std::getenv("QECLOUD_HOME") ? std::getenv("QECLOUD_HOME") : "";
  Home() {
    fs::remove_all(dir);
    fs::create_directories(dir);
    ::setenv("QECLOUD_HOME", dir.c_str(), 1);
  }
  ~Home() {
    if (saved.empty())
      ::unsetenv("QECLOUD_HOME");
    else
      ::setenv("QECLOUD_HOME", saved.c_str(), 1);
    fs::remove_all(dir);
  }
};

// Answers by command name, in order; records every argv.
struct FakeSlurm {
  std::map<std::string, std::vector<Captured>> answers;
  std::vector<std::vector<std::string>> asked;
  void answer(const std::string& cmd, int code, const std::string& out) {
    Captured c;
    c.status.code = code;
    c.output = out;
    answers[cmd].push_back(c);
  }
  slurm::SlurmRunner runner() {
    return [this](const std::vector<std::string>& argv) {
      asked.push_back(argv);
      auto& q = answers[argv.at(0)];
      if (q.empty()) throw Error("the fake has no answer for " + argv[0]);
      Captured c = q.front();
      q.erase(q.begin());
      return c;
    };
  }
};

backends::JobOptions options() {
  backends::JobOptions o;
  o.input = std::string(QECLOUD_SOURCE_DIR) + "/examples/si/scf.in";
  o.nodes = 3;
  o.tasks_per_node = 1;
  o.slurm_time = "10";
  o.given = {"--nodes", "--ntasks-per-node", "--time"};
  return o;
}

JobRecord submitted(FakeSlurm& fake) {
  fake.answer("sbatch", 0, "4242\n");
  const auto s = slurm::submit(fake.runner(), slurm::SlurmConfig{}, options(), {}, {}, "/usr/bin/qecloud");
  JobDb db(job_db_path());
  return *db.find(s.job_id);
}

// A job submitted as Slurm job 4242, and its database.
class SlurmJob : public ::testing::Test {
 protected:
  Home home;
  FakeSlurm fake;
  JobRecord job = submitted(fake);
  JobDb db{job_db_path()};
};

}  // namespace

TEST(SlurmJobs, SubmitRecordsQueuedWithTheSlurmIdAndAPrivateScript) {
  Home home;
  FakeSlurm fake;
  const JobRecord job = submitted(fake);
  EXPECT_EQ(job.state, JobState::kQueued);
  EXPECT_EQ(job.backend, "slurm");
  EXPECT_EQ(job.remote["slurm_job_id"], "4242");
  EXPECT_EQ(job.remote["output"], "slurm-4242.out");
  EXPECT_TRUE(job.owner.empty());  // Slurm has it
  ASSERT_EQ(fake.asked.size(), 1u);
  const std::string script = job.remote["script"];
  EXPECT_EQ(fake.asked[0], (std::vector<std::string>{"sbatch", "--parsable", script}));
  struct stat st {};
  ASSERT_EQ(::stat(script.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  const std::string text = text::read_file(script);
  EXPECT_NE(text.find("#SBATCH --nodes=3\n#SBATCH --ntasks-per-node=1\n#SBATCH --time=0-00:10:00\n"),
            std::string::npos);
  EXPECT_NE(text.find("export QECLOUD_AGENT_SLOTS='1'\n"), std::string::npos);
  EXPECT_NE(text.find("export QECLOUD_STORE_JOB='jobs/" + job.id + "'\n"), std::string::npos);
  EXPECT_NE(text.find("exec '/usr/bin/qecloud' agent --scheduler slurm\n"), std::string::npos);
  // The input is in the store, where the main agent looks for it.
  const JobLocation loc = JobLocation::of_job_url(job.store_url, job.id);
  EXPECT_TRUE(fs::exists(loc.root_url.substr(7) + "/" + loc.input_key("scf.in")));
}

TEST(SlurmJobs, SbatchRefusalIsShownVerbatimAndNothingIsRecordedAsSubmitted) {
  Home home;
  FakeSlurm fake;
  const std::string refusal =
      "sbatch: error: invalid partition specified: nope\n"
      "sbatch: error: Batch job submission failed: Invalid partition name specified\n";
  fake.answer("sbatch", 1, refusal);
  auto o = options();
  o.partition = "nope";
  o.given.insert("--partition");
  try {
    slurm::submit(fake.runner(), slurm::SlurmConfig{}, o, {}, {}, "/usr/bin/qecloud");
    ADD_FAILURE() << "submitted";
  } catch (const Error& e) {
    EXPECT_EQ(std::string(e.what()),
              "sbatch refused the job (exit code 1):\n" + refusal.substr(0, refusal.size() - 1));
  }
  JobDb db(job_db_path());
  const auto jobs = db.list();
  ASSERT_EQ(jobs.size(), 1u);
  EXPECT_EQ(jobs[0].state, JobState::kFailed);
  EXPECT_FALSE(jobs[0].remote.contains("slurm_job_id"));
  EXPECT_NE(jobs[0].message.find("Invalid partition name specified"), std::string::npos) << jobs[0].message;
}

TEST_F(SlurmJob, RefreshFollowsSqueueThenTheReport) {
  fake.answer("squeue", 0, "PENDING|Resources|\n");
  auto st = slurm::refresh(fake.runner(), db, job);
  EXPECT_EQ(st.job.state, JobState::kQueued);
  EXPECT_EQ(st.reason, "Resources");
  EXPECT_EQ(fake.asked.back(), (std::vector<std::string>{"squeue", "--noheader", "--jobs=4242",
                                                         "--states=all", "--format=%T|%r|%N"}));
  fake.answer("squeue", 0, "RUNNING|None|node-[0-2]\n");
  st = slurm::refresh(fake.runner(), db, st.job);
  EXPECT_EQ(st.job.state, JobState::kRunning);
  ASSERT_EQ(st.nodes.size(), 3u);
  EXPECT_EQ(st.nodes[2].reason, "node-2");
  // The job ended and slurmctld forgot it; no accounting; the main's report is in the store.
  AgentReport report;
  report.state = JobState::kSucceeded;
  report.exit_code = 0;
  report.results.total_energy_ry = -15.84473648;
  const JobLocation loc = JobLocation::of_job_url(job.store_url, job.id);
  const fs::path out = loc.root_url.substr(7) + "/" + loc.output_key(output_name::kReport);
  fs::create_directories(out.parent_path());
  write_report(report, out.string());
  fake.answer("squeue", 1, "slurm_load_jobs error: Invalid job id specified\n");
  fake.answer("sacct", 1, "Slurm accounting storage is disabled\n");
  st = slurm::refresh(fake.runner(), db, st.job);
  EXPECT_EQ(st.job.state, JobState::kSucceeded);
  EXPECT_EQ(st.backend_state, "unknown to Slurm");
  EXPECT_DOUBLE_EQ(st.job.results["total_energy_ry"].get<double>(), -15.84473648);
}

TEST_F(SlurmJob, AFinalSlurmStateWithoutReportIsTheFallback) {
  fake.answer("squeue", 0, "TIMEOUT|TimeLimit|node-[0-2]\n");
  auto st = slurm::refresh(fake.runner(), db, job);
  EXPECT_EQ(st.job.state, JobState::kFailed);
  EXPECT_EQ(st.job.message, "Slurm: TIMEOUT (the time limit was reached)");
  // squeue cannot reach slurmctld: an error, not a guess.
  fake.answer("squeue", 1, "slurm_load_jobs error: Unable to contact slurm controller (connect failure)\n");
  EXPECT_THROW(slurm::refresh(fake.runner(), db, job), Error);
}

TEST_F(SlurmJob, SacctAnswersWhenAccountingExists) {
  fake.answer("squeue", 1, "slurm_load_jobs error: Invalid job id specified\n");
  fake.answer("sacct", 0, "NODE_FAIL|1:0|node-[0-2]\n");
  auto st = slurm::refresh(fake.runner(), db, job);
  EXPECT_EQ(st.job.state, JobState::kFailed);
  EXPECT_EQ(st.fields["slurm_source"], "sacct");
  EXPECT_EQ(st.job.message, "Slurm: NODE_FAIL (a node failed)");
}

TEST_F(SlurmJob, CancelStopsARunningJobThroughItsBatchShellOnly) {
  fake.answer("squeue", 0, "RUNNING|None|node-[0-2]\n");
  fake.answer("scancel", 0, "");
  slurm::cancel(fake.runner(), db, job, "wrong input");
  EXPECT_EQ(fake.asked.back(), (std::vector<std::string>{"scancel", "--batch", "--signal=TERM", "4242"}));
  fake.answer("squeue", 0, "PENDING|Priority|\n");
  fake.answer("scancel", 0, "");
  slurm::cancel(fake.runner(), db, job, "wrong input");
  EXPECT_EQ(fake.asked.back(), (std::vector<std::string>{"scancel", "4242"}));
  // The reason is kept for the final message.
  job = *db.find(job.id);
  fake.answer("squeue", 0, "CANCELLED|None|\n");
  EXPECT_EQ(slurm::refresh(fake.runner(), db, job).job.message,
            "Slurm: CANCELLED (cancelled); cancel requested: wrong input");
  job = *db.find(job.id);
  EXPECT_EQ(job.state, JobState::kStopped);
  EXPECT_THROW(slurm::cancel(fake.runner(), db, job, "again"), Error);
}

}  // namespace qecloud
