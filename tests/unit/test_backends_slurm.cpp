// The Slurm backend's pure parts: qecloud.toml's [slurm] (file:line errors, compared whole), Slurm's time
// formats, the batch script (compared whole), and the state mapping of every state Slurm documents.
#include <gtest/gtest.h>

#include <map>

#include "backends/slurm/config.hpp"
#include "backends/slurm/sbatch_script.hpp"
#include "backends/slurm/slurm_jobs.hpp"
#include "backends/slurm/slurm_state.hpp"
#include "core/error.hpp"

namespace qecloud {
namespace slurm = backends::slurm;
namespace {

const char* kGood = R"([aws]
region = "us-east-2"
[slurm]
partition = "compute"
account = "chem-123"
qos = "normal"
time = "1-12:00:00"
ntasks_per_node = 4
modules = ["quantum-espresso/7.2", "openmpi/4.1"]
pw = "/opt/qe/bin/pw.x"
qecloud = "/shared/bin/qecloud"
store = "file:///shared/qecloud/"
signal_margin = 300
sbatch_options = ["--constraint=skylake"]
)";

std::string error_of(const std::string& text) {
  try {
    slurm::parse_config(text, "qecloud.toml");
  } catch (const UsageError& e) {
    return e.what();
  }
  return "";
}

}  // namespace

TEST(SlurmConfig, ReadsEveryField) {
  const auto c = slurm::parse_config(kGood, "qecloud.toml");
  EXPECT_EQ(c.source, "qecloud.toml");
  EXPECT_EQ(c.partition, "compute");
  EXPECT_EQ(c.account, "chem-123");
  EXPECT_EQ(c.qos, "normal");
  EXPECT_EQ(c.time_s, 36 * 3600);
  EXPECT_EQ(c.ntasks_per_node, 4);
  EXPECT_EQ(c.modules, (std::vector<std::string>{"quantum-espresso/7.2", "openmpi/4.1"}));
  EXPECT_EQ(c.pw, "/opt/qe/bin/pw.x");
  EXPECT_EQ(c.mpirun, "mpirun");
  EXPECT_EQ(c.qecloud, "/shared/bin/qecloud");
  EXPECT_EQ(c.store, "file:///shared/qecloud");
  EXPECT_EQ(c.signal_margin_s, 300);
  EXPECT_EQ(c.sbatch_options, (std::vector<std::string>{"--constraint=skylake"}));
}

TEST(SlurmConfig, NoSectionMeansTheClustersDefaults) {
  const auto c = slurm::parse_config("[aws]\nregion = \"us-east-2\"\n", "qecloud.toml");
  EXPECT_TRUE(c.source.empty());
  EXPECT_TRUE(c.partition.empty());
  EXPECT_FALSE(c.time_s);
  EXPECT_EQ(c.signal_margin_s, 120);
}

TEST(SlurmConfig, ErrorsNameFileLineAndField) {
  EXPECT_EQ(error_of("[slurm]\npartiton = \"x\"\n"),
            "qecloud.toml:2: slurm.partiton: unknown field (a typo?)");
  EXPECT_EQ(error_of("[slurm]\npartition = 3\n"), "qecloud.toml:2: slurm.partition: must be a string");
  EXPECT_EQ(
      error_of("[slurm]\n\npartition = \"a b\"\n"),
      "qecloud.toml:3: slurm.partition: 'a b' is not a Slurm partition name (letters, digits, _ . + -)");
  EXPECT_EQ(error_of("[slurm]\ntime = \"2h\"\n"),
            "qecloud.toml:2: slurm.time: '2h' is not a time limit: minutes, minutes:seconds, "
            "hours:minutes:seconds, days-hours, days-hours:minutes or days-hours:minutes:seconds (not 0)");
  EXPECT_EQ(error_of("[slurm]\nntasks_per_node = \"4\"\n"),
            "qecloud.toml:2: slurm.ntasks_per_node: must be an integer");
  EXPECT_EQ(error_of("[slurm]\nsignal_margin = 5\n"),
            "qecloud.toml:2: slurm.signal_margin: 5 is outside [10, 65535]");
  EXPECT_EQ(error_of("[slurm]\nmodules = [\"qe\", 7]\n"),
            "qecloud.toml:2: slurm.modules[1]: must be a string");
  EXPECT_EQ(error_of("[slurm]\nmodules = [\"qe\\nrm -rf /\"]\n"),
            "qecloud.toml:2: slurm.modules[0]: must be one line of printable text");
  EXPECT_EQ(error_of("[slurm]\nqecloud = \"bin/qecloud\"\n"),
            "qecloud.toml:2: slurm.qecloud: 'bin/qecloud' must be an absolute path");
  EXPECT_EQ(error_of("[slurm]\nstore = \"/shared/qecloud\"\n"),
            "qecloud.toml:2: slurm.store: '/shared/qecloud' is not file:///<a path every node sees> or "
            "s3://bucket/prefix");
  EXPECT_EQ(
      error_of("[slurm]\nsbatch_options = [\"-C skylake\"]\n"),
      "qecloud.toml:2: slurm.sbatch_options[0]: '-C skylake' is not a long sbatch option (--name=value)");
  EXPECT_EQ(error_of("slurm = 3\n"), "qecloud.toml:1: slurm: must be a table ([slurm])");
  // A misspelled section would otherwise be silently no configuration at all.
  EXPECT_EQ(
      error_of("[aws]\nregion = \"us-east-2\"\n\n[slurn]\npartition = \"x\"\n"),
      "qecloud.toml:4: [slurn]: not a section of qecloud.toml, which has [aws] and [slurm] (did you mean "
      "[slurm]?)");
  EXPECT_EQ(error_of("[clusters]\n"),
            "qecloud.toml:1: [clusters]: not a section of qecloud.toml, which has [aws] and [slurm]");
  EXPECT_EQ(error_of("[slurm]\npartition = \"x\n"),
            "qecloud.toml:2:15: Error while parsing string: unescaped control characters other than TAB "
            "(U+0009) are explicitly prohibited");
}

TEST(SlurmTime, SlurmsFormats) {
  EXPECT_EQ(slurm::parse_slurm_time("90"), 90 * 60);
  EXPECT_EQ(slurm::parse_slurm_time("1:30"), 90);
  EXPECT_EQ(slurm::parse_slurm_time("01:30:00"), 5400);
  EXPECT_EQ(slurm::parse_slurm_time("2-0"), 2 * 86400);
  EXPECT_EQ(slurm::parse_slurm_time("1-2:03"), 86400 + 2 * 3600 + 180);
  EXPECT_EQ(slurm::parse_slurm_time("1-02:03:04"), 86400 + 2 * 3600 + 184);
  for (const char* bad :
       {"", "0", "0:00", "2h", "1:2:3:4", "1-2:3:4:5", "-5", "1--2", "a", "1:", "99999999999"})
    EXPECT_FALSE(slurm::parse_slurm_time(bad)) << bad;
  EXPECT_EQ(slurm::slurm_time_text(60), "0-00:01:00");
  EXPECT_EQ(slurm::slurm_time_text(61), "0-00:02:00");  // Slurm keeps whole minutes
  EXPECT_EQ(slurm::slurm_time_text(36 * 3600), "1-12:00:00");
}

namespace {

slurm::SbatchJob three_nodes() {
  slurm::SbatchJob j;
  j.job_id = "20261130-1200-ab12";
  j.name = "si scf.in";
  j.nodes = 3;
  j.ntasks_per_node = 2;
  j.time_s = 3600;
  j.signal_margin_s = 120;
  j.partition = "debug";
  j.output = "/home/u/.qecloud/work/20261130-1200-ab12/slurm-%j.out";
  j.chdir = "/home/u/.qecloud/work/20261130-1200-ab12";
  j.contract = {{"QECLOUD_JOB_SECRET", "s3cr3t'quote"}, {"QECLOUD_INPUT", "scf.in"}};
  j.qecloud = "/opt/qecloud/bin/qecloud";
  return j;
}

}  // namespace

TEST(SbatchScript, ThreeNodesWholeText) {
  EXPECT_EQ(slurm::sbatch_script(three_nodes()), R"(#!/bin/bash
# qecloud job 20261130-1200-ab12 (si scf.in): pw.x on 3 nodes under Slurm.
# Written by `qecloud submit --backend slurm`. `sbatch` on this file runs the same job again, into the
# same place in the store. It holds the job's secret: keep it private (mode 600).
#SBATCH --job-name=qecloud-si_scf.in-20261130-1200-ab12
#SBATCH --nodes=3
#SBATCH --ntasks-per-node=2
#SBATCH --time=0-01:00:00
# 120 s before the time limit Slurm sends SIGTERM to the batch shell only ("B:"; it may come up to
# 60 s early, sbatch(1) --signal): the main agent, below, then stops pw.x cleanly and stores the
# restart data before the limit.
#SBATCH --signal=B:TERM@120
#SBATCH --partition=debug
#SBATCH --output=/home/u/.qecloud/work/20261130-1200-ab12/slurm-%j.out
#SBATCH --chdir=/home/u/.qecloud/work/20261130-1200-ab12

set -eu

# The node contract: what qecloud decided for this job (its docs/ARCHITECTURE.md, "Slurm").
export QECLOUD_INPUT='scf.in'
export QECLOUD_JOB_SECRET='s3cr3t'\''quote'

# One agent on each of the other nodes, as one step in the background. They join the main agent on
# this node (srun gives them its address as SLURM_LAUNCH_NODE_IPADDR) and start what mpirun asks
# of them. The step has all the job's CPUs on its nodes (srun(1): without --exact a step gets every
# non-GRES resource); --cpu-bind=none keeps the agent, and the ranks it starts, off a single core;
# --overlap lets a later step (mpirun's own) share them; --mpi=none: the agents are not MPI programs.
srun --nodes=2 --ntasks=2 --relative=1 --overlap --cpu-bind=none --mpi=none '/opt/qecloud/bin/qecloud' agent --scheduler slurm &

# The main agent: this shell becomes it, so that Slurm's signal reaches it and nothing else. It runs
# pw.x across all nodes, stores outputs, restart data and results.json, and exits with the job's code.
exec '/opt/qecloud/bin/qecloud' agent --scheduler slurm
)");
}

TEST(SbatchScript, OneNodeWholeNodesModulesAndSiteOptions) {
  auto j = three_nodes();
  j.nodes = 1;
  j.ntasks_per_node = 0;
  j.time_s = 60;  // the margin is at most half the limit
  j.account = "chem";
  j.qos = "long";
  j.modules = {"quantum-espresso/7.2"};
  j.extra_options = {"--constraint=skylake"};
  const std::string s = slurm::sbatch_script(j);
  EXPECT_EQ(s.rfind("#!/bin/bash -l\n", 0), 0u) << s;  // sites define `module` for login shells
  EXPECT_NE(s.find("#SBATCH --exclusive\n"), std::string::npos);
  EXPECT_EQ(s.find("--ntasks-per-node"), std::string::npos);
  EXPECT_NE(s.find("#SBATCH --signal=B:TERM@30\n"), std::string::npos);
  EXPECT_NE(s.find("#SBATCH --account=chem\n#SBATCH --qos=long\n"), std::string::npos);
  EXPECT_NE(s.find("#SBATCH --constraint=skylake\n\nset -eu\nmodule load 'quantum-espresso/7.2'\n"),
            std::string::npos);
  EXPECT_EQ(s.find("srun"), std::string::npos);  // one node: no children
  EXPECT_NE(s.find("\nexec '/opt/qecloud/bin/qecloud' agent --scheduler slurm\n"), std::string::npos);
  j.time_s.reset();  // the partition's default limit: the margin as configured
  EXPECT_EQ(slurm::signal_margin(j), 120);
}

TEST(SlurmState, EveryDocumentedState) {
  // squeue(1), JOB STATE CODES: every state, by what qecloud makes of it.
  const std::map<JobState, std::vector<const char*>> active = {
      {JobState::kQueued,
       {"PENDING", "CONFIGURING", "REQUEUED", "REQUEUE_HOLD", "REQUEUE_FED", "RESV_DEL_HOLD",
        "SPECIAL_EXIT"}},
      {JobState::kRunning,
       {"RUNNING", "COMPLETING", "SUSPENDED", "STOPPED", "SIGNALING", "RESIZING", "STAGE_OUT"}}};
  const std::map<JobState, std::vector<const char*>> ended = {
      {JobState::kSucceeded, {"COMPLETED"}},
      {JobState::kFailed,
       {"FAILED", "TIMEOUT", "NODE_FAIL", "OUT_OF_MEMORY", "BOOT_FAIL", "DEADLINE", "REVOKED"}},
      {JobState::kStopped, {"CANCELLED", "PREEMPTED"}}};
  int words = 0;
  for (const auto* table : {&active, &ended})
    for (const auto& [state, list] : *table)
      for (const char* word : list) {
        const auto s = slurm::map_slurm_state(word);
        EXPECT_EQ(s.state, state) << word;
        EXPECT_EQ(s.final, table == &ended) << word;
        ++words;
      }
  EXPECT_EQ(words, 24);
  EXPECT_EQ(slurm::map_slurm_state("CANCELLED by 1000").state, JobState::kStopped);  // sacct's form
  EXPECT_EQ(slurm::map_slurm_state("timeout").meaning, "the time limit was reached");
  EXPECT_FALSE(slurm::map_slurm_state("SOMETHING_NEW").final);  // never taken as an end
}

TEST(SlurmPlan, OptionsBeatTheConfigAndForeignOptionsAreRefused) {
  auto c = slurm::parse_config(kGood, "qecloud.toml");
  backends::JobOptions o;
  o.nodes = 3;
  o.partition = "debug";
  o.slurm_time = "30";
  o.given = {"--nodes", "--partition", "--time"};
  const auto p = slurm::plan_submit(c, o);
  EXPECT_EQ(p.partition, "debug");
  EXPECT_EQ(p.account, "chem-123");
  EXPECT_EQ(p.time_s, 1800);
  EXPECT_EQ(p.ntasks_per_node, 4);
  EXPECT_EQ(p.store_url, "file:///shared/qecloud");
  o.given.insert("--timeout");
  EXPECT_THROW(slurm::plan_submit(c, o), UsageError);
  o.given.erase("--timeout");
  o.slurm_time = "2h";
  try {
    slurm::plan_submit(c, o);
    ADD_FAILURE() << "2h accepted";
  } catch (const UsageError& e) {
    EXPECT_EQ(std::string(e.what()).rfind("--time '2h': a Slurm time limit", 0), 0u) << e.what();
  }
  o.slurm_time.clear();
  o.partition = "debug;rm";
  EXPECT_THROW(slurm::plan_submit(c, o), UsageError);
}

}  // namespace qecloud
