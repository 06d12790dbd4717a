// The store layout names every object of a job; the input bundle lays out input/ so that it reruns as it is.
#include <gtest/gtest.h>

#include "core/error.hpp"
#include "job/store_layout.hpp"

using namespace qecloud;

TEST(JobLocation, NamesEveryObjectAndSplitsAJobUrlBack) {
  const JobLocation loc{"s3://bucket/runs", "20261130-101010-abcd"};
  EXPECT_EQ(loc.key(), "jobs/20261130-101010-abcd");
  EXPECT_EQ(loc.url(), "s3://bucket/runs/jobs/20261130-101010-abcd");
  EXPECT_EQ(loc.input_key("pseudo/Si.UPF"), "jobs/20261130-101010-abcd/input/pseudo/Si.UPF");
  EXPECT_EQ(loc.output_key(output_name::kReport), "jobs/20261130-101010-abcd/output/agent.json");
  EXPECT_EQ(output_name::node_log(3), "node-3.log");
  const JobLocation back = JobLocation::of_job_url(loc.url(), loc.id);
  EXPECT_EQ(back.root_url, "s3://bucket/runs");
  EXPECT_EQ(back.id, loc.id);
  // A URL whose job part is not this job's is refused, never cut at a guess.
  EXPECT_THROW(JobLocation::of_job_url("s3://bucket/runs/jobs/other", loc.id), Error);
  EXPECT_THROW(JobLocation::of_job_url("s3://bucket/jobs/x/jobs/y", "x"), Error);
  EXPECT_EQ(JobLocation::of_job_url("file:///a/jobs/b/jobs/x", "x").root_url, "file:///a/jobs/b");
  EXPECT_EQ(JobLocation::of_key("file:///store/", "jobs/x").root_url, "file:///store");
  EXPECT_THROW(JobLocation::of_key("file:///store", "jobs/x/input"), Error);
  EXPECT_THROW(JobLocation::of_key("file:///store", "runs/x"), Error);
}

namespace {
qe::JobNeeds needs(const std::string& pseudo_dir, const std::string& found_in) {
  qe::JobNeeds n;
  n.pseudo_dir = pseudo_dir;
  n.pseudos = {{"Si", "Si.UPF", found_in + "/Si.UPF", "UPF v2", "Si"},
               {"O", "O.UPF", found_in + "/O.UPF", "UPF v2", "O"}};
  return n;
}
std::vector<std::string> rels(const InputBundle& b) {
  std::vector<std::string> out;
  for (const auto& f : b.files) out.push_back(f.rel);
  return out;
}
}  // namespace

TEST(InputBundle, PseudopotentialsGoWhereTheRelativePseudoDirPoints) {
  const InputBundle here = input_bundle("/w/si/scf.in", needs("./", "/w/si"));
  EXPECT_EQ(here.input_rel, "scf.in");
  EXPECT_EQ(here.run_dir_rel(), "");
  EXPECT_EQ(rels(here), (std::vector<std::string>{"scf.in", "Si.UPF", "O.UPF"}));
  EXPECT_EQ(here.files[1].source, "/w/si/Si.UPF");

  const InputBundle below = input_bundle("/w/si/scf.in", needs("pp", "/w/si/pp"));
  EXPECT_EQ(rels(below), (std::vector<std::string>{"scf.in", "pp/Si.UPF", "pp/O.UPF"}));

  // Up and across: the bundle is rooted where both meet, and the input keeps its place below it.
  const InputBundle up = input_bundle("/w/runs/si/scf.in", needs("../../pseudo", "/w/pseudo"));
  EXPECT_EQ(up.input_rel, "runs/si/scf.in");
  EXPECT_EQ(up.run_dir_rel(), "runs/si");
  EXPECT_EQ(rels(up), (std::vector<std::string>{"runs/si/scf.in", "pseudo/Si.UPF", "pseudo/O.UPF"}));
}

TEST(InputBundle, AnAbsoluteOrMissingPseudoDirIsNotBundled) {
  EXPECT_EQ(
      rels(input_bundle("/w/si/scf.in", needs("/usr/share/espresso/pseudo", "/usr/share/espresso/pseudo"))),
      std::vector<std::string>{"scf.in"});
  EXPECT_EQ(rels(input_bundle("/w/si/scf.in", needs("", "/root/espresso/pseudo"))),
            std::vector<std::string>{"scf.in"});
}
