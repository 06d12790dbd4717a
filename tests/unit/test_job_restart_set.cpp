#include <unistd.h>

#include <filesystem>
#include <fstream>

#include <gtest/gtest.h>

#include "core/error.hpp"
#include "job/restart_set.hpp"

namespace fs = std::filesystem;

namespace qecloud {
namespace {

struct Tmp {
  fs::path path = fs::temp_directory_path() / ("qecloud-restart-" + std::to_string(::getpid()));
  Tmp() { fs::create_directories(path); }
  ~Tmp() { fs::remove_all(path); }
};

void write(const fs::path& p, const std::string& text) {
  fs::create_directories(p.parent_path());
  std::ofstream(p) << text;
}

// What pw.x 6.7 left in outdir when stopped mid-SCF with -np 2 -nk 2 (names as measured).
void stopped_run(const fs::path& outdir, int first_rank, int ranks, bool main) {
  for (int n = first_rank; n < first_rank + ranks; ++n)
    for (const char* kind : {"wfc", "mix", "restart_scf", "restart_k"})
      write(outdir / ("silicon." + std::string(kind) + std::to_string(n)), std::string(10 * n, 'x'));
  if (main) {
    write(outdir / "silicon.save/charge-density.dat", "rho");
    write(outdir / "silicon.save/data-file-schema.xml", "<xml main/>");
  } else {
    write(outdir / "silicon.save/data-file-schema.xml", "<xml child/>");
  }
  write(outdir / "silicon.EXIT", "\n");
  write(outdir / "other.wfc1", "another prefix");
  write(outdir / "pw.out", "not restart data");
}

TEST(RestartSet, EveryFileOfThePrefixButTheExitFile) {
  Tmp t;
  stopped_run(t.path, 1, 2, true);
  std::vector<std::string> names;
  for (const auto& f : find_restart_files(t.path.string(), "silicon")) names.push_back(f.name);
  EXPECT_EQ(names, (std::vector<std::string>{
                       "silicon.mix1", "silicon.mix2", "silicon.restart_k1", "silicon.restart_k2",
                       "silicon.restart_scf1", "silicon.restart_scf2", "silicon.save/charge-density.dat",
                       "silicon.save/data-file-schema.xml", "silicon.wfc1", "silicon.wfc2"}));
  EXPECT_TRUE(find_restart_files((t.path / "nowhere").string(), "silicon").empty());
}

TEST(RestartSet, StoredPartsComeBackMergedWithTheMainsFilesWinning) {
  Tmp t;
  auto store = storage::open_store("file://" + (t.path / "store").string());
  const JobLocation loc{store->url(""), "job1"};
  stopped_run(t.path / "n0", 1, 1, true);
  stopped_run(t.path / "n1", 2, 1, false);
  RestartManifest m = store_restart_set(*store, loc, (t.path / "n0").string(), "silicon", 2, 2);
  ASSERT_TRUE(m.complete);
  StoredPart child =
      store_restart_files(*store, loc, 1, find_restart_files((t.path / "n1").string(), "silicon"));
  EXPECT_TRUE(child.failed.empty());
  m.parts.push_back(child.part);
  m.nodes = 2;
  write_restart_manifest(*store, loc, m);
  EXPECT_TRUE(store->exists("jobs/job1/output/silicon.wfc1"));
  EXPECT_TRUE(store->exists("jobs/job1/output/node-1/silicon.wfc2"));
  EXPECT_TRUE(store->exists("jobs/job1/output/silicon.save/charge-density.dat"));

  const auto back = read_restart_manifest(*store, loc);
  ASSERT_TRUE(back);
  EXPECT_EQ(back->file_count(), 11);
  EXPECT_EQ(back->bytes(), m.bytes());
  EXPECT_EQ(back->ranks, 2);
  EXPECT_EQ(back->summary(), "11 files, 0.0 MB from 2 nodes, whole");

  write(t.path / "resume/silicon.EXIT", "\n");  // stale: must go
  const RestoredSet r = fetch_restart_files(*store, loc, "silicon", (t.path / "resume").string());
  EXPECT_EQ(r.files, 11);
  EXPECT_FALSE(fs::exists(t.path / "resume/silicon.EXIT"));
  EXPECT_TRUE(fs::exists(t.path / "resume/silicon.wfc2"));
  std::ifstream xml(t.path / "resume/silicon.save/data-file-schema.xml");
  std::string text((std::istreambuf_iterator<char>(xml)), {});
  EXPECT_EQ(text, "<xml main/>");
}

TEST(RestartSet, FilesOfAPwxThatDidNotEndItselfAreNotWhole) {
  EXPECT_EQ(untrusted_restart(false, std::nullopt, true), "");
  EXPECT_EQ(untrusted_restart(true, std::nullopt, false),
            "pw.x was killed after its grace period: its restart files may be torn");
  EXPECT_EQ(untrusted_restart(false, std::string("node 2 went silent"), true),
            "a node was lost while pw.x ran (node 2 went silent): its restart files may be torn");
  EXPECT_EQ(untrusted_restart(false, std::nullopt, false),
            "pw.x did not end cleanly (no JOB DONE): its restart files may be torn");
  Tmp t;
  auto store = storage::open_store("file://" + (t.path / "store").string());
  const JobLocation loc{store->url(""), "job3"};
  stopped_run(t.path / "n0", 1, 2, true);
  const RestartManifest m = store_restart_set(*store, loc, (t.path / "n0").string(), "silicon", 2, 2,
                                              untrusted_restart(true, std::nullopt, false));
  EXPECT_FALSE(m.complete);
  EXPECT_FALSE(read_restart_manifest(*store, loc)->complete);
  EXPECT_EQ(m.summary(),
            "10 files, 0.0 MB from 1 node, NOT whole: pw.x was killed after its grace period: its "
            "restart files may be torn");
}

TEST(RestartSet, AJobWithoutRestartDataIsSaidSo) {
  Tmp t;
  auto store = storage::open_store("file://" + (t.path / "store").string());
  const JobLocation loc{store->url(""), "job2"};
  try {
    fetch_restart_files(*store, loc, "silicon", (t.path / "r").string());
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("job job2 has no restart data for prefix 'silicon' in file://"),
              std::string::npos)
        << e.what();
  }
  EXPECT_FALSE(read_restart_manifest(*store, loc));
  EXPECT_TRUE(store_restart_set(*store, loc, (t.path / "none").string(), "silicon", 1, 1).parts.empty());
}

}  // namespace
}  // namespace qecloud
