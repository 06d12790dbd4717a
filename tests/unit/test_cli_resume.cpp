#include <gtest/gtest.h>

#include "cli/commands.hpp"

namespace qecloud::cli {
namespace {

using Args = std::vector<std::string>;

TEST(ResumeOptions, KeepTheStoppedJobsNodesOnTheMultiNodeBackends) {
  EXPECT_EQ(resume_options("netns", 3, 3, {"--json"}), (Args{"--nodes", "3", "--json"}));
  EXPECT_EQ(resume_options("awsbatch", 3, 3, {}), (Args{"--nodes", "3", "--backend", "awsbatch"}));
  EXPECT_EQ(resume_options("local", 3, 3, {"--json"}), (Args{"--json"}));
}

TEST(ResumeOptions, KeepTheRanksPerNodeOnSlurm) {
  EXPECT_EQ(resume_options("slurm", 3, 3, {"--time", "10"}),
            (Args{"--nodes", "3", "--ntasks-per-node", "1", "--backend", "slurm", "--time", "10"}));
  EXPECT_EQ(resume_options("slurm", 2, 3, {}), (Args{"--nodes", "2", "--backend", "slurm"}));  // uneven
}

TEST(ResumeOptions, WhatTheUserGaveIsTheirsInEitherSpelling) {
  EXPECT_EQ(resume_options("netns", 3, 3, {"--nodes=3"}), (Args{"--nodes=3"}));
  EXPECT_EQ(resume_options("slurm", 3, 6, {"--nodes", "3", "--ntasks-per-node=2"}),
            (Args{"--backend", "slurm", "--nodes", "3", "--ntasks-per-node=2"}));
}

}  // namespace
}  // namespace qecloud::cli
