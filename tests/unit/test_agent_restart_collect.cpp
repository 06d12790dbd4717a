// Collecting every node's part of pw.x's restart data: the store request and its answer as they cross the
// wire, the split of a node's files into what its run wrote and what came with the input bundle, storing
// under a deadline (nothing partial stands as stored), and the merge into one manifest — whole only when
// every node answered and stored everything.
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <thread>

#include <gtest/gtest.h>

#include "agent/restart_collect.hpp"
#include "agent/wire.hpp"
#include "core/crypto.hpp"
#include "storage/object_store.hpp"

namespace fs = std::filesystem;
using namespace qecloud;
using namespace qecloud::agent;
using namespace std::chrono_literals;

namespace {

struct Tmp {
  fs::path path = fs::temp_directory_path() / ("qecloud-collect-" + std::to_string(::getpid()));
  Tmp() { fs::create_directories(path); }
  ~Tmp() { fs::remove_all(path); }
};

void write(const fs::path& p, const std::string& text) {
  fs::create_directories(p.parent_path());
  std::ofstream(p) << text;
}

StoredPart part(int node, std::vector<std::pair<std::string, std::uintmax_t>> files,
                std::vector<std::string> failed = {}) {
  return StoredPart{{node, std::move(files)}, std::move(failed)};
}

}  // namespace

TEST(StoreRequest, CrossesTheWireAuthenticated) {
  const std::string nonce = random_bytes(kNonceSize);
  Channel main("0123456789abcdef-job-secret", nonce, true),
      child("0123456789abcdef-job-secret", nonce, false);
  std::string buf = main.seal(FrameType::kStore, to_json(StoreRequest{"run/tmp", "silicon", 26.5}));
  const auto f = child.open(buf);
  ASSERT_TRUE(f);
  ASSERT_EQ(f->type, FrameType::kStore);
  std::string why;
  const auto r = store_request_of(f->json(), why);
  ASSERT_TRUE(r) << why;
  EXPECT_EQ(r->outdir, "run/tmp");
  EXPECT_EQ(r->prefix, "silicon");
  EXPECT_DOUBLE_EQ(r->seconds, 26.5);

  std::string back =
      child.seal(FrameType::kStored, to_json(part(2, {{"silicon.wfc5", 1234}}, {"silicon.mix5 (disk)"})));
  const auto g = main.open(back);
  ASSERT_TRUE(g);
  const auto p = stored_part_of(g->json(), 2);
  ASSERT_TRUE(p);
  EXPECT_EQ(p->part.node, 2);
  EXPECT_EQ(p->part.files, (std::vector<std::pair<std::string, std::uintmax_t>>{{"silicon.wfc5", 1234}}));
  EXPECT_EQ(p->failed, std::vector<std::string>{"silicon.mix5 (disk)"});
}

TEST(StoreRequest, RefusesWhatIsNotARestartSetOfThisJob) {
  std::string why;
  EXPECT_FALSE(store_request_of({{"outdir", "tmp"}, {"prefix", "../etc/passwd"}}, why));
  EXPECT_EQ(why, "the prefix '../etc/passwd' is not a file name");
  why.clear();
  EXPECT_FALSE(store_request_of({{"outdir", "run/../../x"}, {"prefix", "si"}}, why));
  EXPECT_EQ(why, "the outdir 'run/../../x' is not inside the job's work directory");
  why.clear();
  EXPECT_FALSE(store_request_of({{"outdir", "."}, {"prefix", "si"}, {"seconds", -1}}, why));
  EXPECT_EQ(why, "a negative time (-1 s)");
  why.clear();
  EXPECT_FALSE(store_request_of({{"prefix", "si"}}, why));
  EXPECT_NE(why.find("malformed store request"), std::string::npos);
  why.clear();
  EXPECT_TRUE(store_request_of({{"outdir", "/scratch/si"}, {"prefix", "si"}}, why))
      << why;  // as every node has it
  EXPECT_TRUE(store_request_of({{"outdir", "run/../tmp"}, {"prefix", "si"}}, why)) << why;
  EXPECT_FALSE(stored_part_of({{"files", "not a list"}, {"failed", {}}}, 1));
}

TEST(NodeRestartFiles, OnlyWhatThisRunWroteIsTheNodesPart) {
  Tmp t;
  write(t.path / "si.wfc1", "from the bundle: another node's, or the last job's");
  write(t.path / "si.save/charge-density.dat", "from the bundle");
  std::this_thread::sleep_for(20ms);  // past the file system's clock tick
  const auto fetched = fs::file_time_type::clock::now();
  std::this_thread::sleep_for(20ms);
  write(t.path / "si.wfc2", "this run's");
  write(t.path / "si.save/wfc3.dat", "this run's");
  write(t.path / "si.EXIT", "\n");
  const NodeFiles f = node_restart_files(t.path.string(), "si", fetched);
  ASSERT_EQ(f.fresh.size(), 2u);
  EXPECT_EQ(f.fresh[0].name, "si.save/wfc3.dat");
  EXPECT_EQ(f.fresh[1].name, "si.wfc2");
  ASSERT_EQ(f.stale.size(), 2u);
  EXPECT_EQ(f.stale[0].name, "si.save/charge-density.dat");
  EXPECT_EQ(f.stale[1].name, "si.wfc1");
}

TEST(StorePartUntil, StoresUnderTheNodesKeysAndNothingAfterTheDeadline) {
  Tmp t;
  const fs::path out = t.path / "out";
  for (int i = 1; i <= 20; ++i)
    write(out / ("si.wfc" + std::to_string(i)), std::string(static_cast<std::size_t>(i), 'w'));
  auto store = storage::open_store("file://" + (t.path / "store").string());
  const JobLocation loc{"file://" + (t.path / "store").string(), "job1"};
  const auto files = find_restart_files(out.string(), "si");

  const StoredPart all = store_part_until(*store, loc, 2, files, [] { return std::nullopt; });
  EXPECT_EQ(all.part.files.size(), 20u);
  EXPECT_TRUE(all.failed.empty());
  EXPECT_TRUE(fs::exists(t.path / "store/jobs/job1/output/node-2/si.wfc13"));

  const StoredPart none = store_part_until(*store, loc, 1, files, [] { return SteadyClock::now() - 1s; });
  EXPECT_TRUE(none.part.files.empty());
  ASSERT_EQ(none.failed.size(), 20u);
  EXPECT_EQ(none.failed[0], "si.wfc1 (the SIGKILL window closed first)");
  EXPECT_FALSE(fs::exists(t.path / "store/jobs/job1/output/node-1"));

  // The window closes during the upload: the first round is stored, the rest named.
  int asked = 0;
  const StoredPart some =
      store_part_until(*store, loc, 3, files, [&]() -> std::optional<SteadyClock::time_point> {
        return ++asked > 1 ? SteadyClock::now() - 1s : SteadyClock::now() + 1h;
      });
  EXPECT_FALSE(some.part.files.empty());
  EXPECT_FALSE(some.failed.empty());
  EXPECT_EQ(some.part.files.size() + some.failed.size(), 20u);
}

TEST(MergeRestartParts, WholeOnlyWhenEveryNodeStoredEverything) {
  const StoredPart main = part(0, {{"si.save/charge-density.dat", 100}, {"si.wfc1", 10}});
  std::vector<ChildAnswer> children = {{2, part(2, {{"si.wfc3", 30}}), "", false},
                                       {1, part(1, {{"si.wfc2", 20}}), "", false}};
  RestartManifest m = merge_restart_parts("si", 3, 3, 3, main, children);
  EXPECT_TRUE(m.complete);
  EXPECT_EQ(m.note, "");
  ASSERT_EQ(m.parts.size(), 3u);
  EXPECT_EQ(m.parts[1].node, 1);  // in node order
  EXPECT_EQ(m.parts[2].node, 2);
  EXPECT_EQ(m.bytes(), 160u);
  EXPECT_EQ(m.summary(), "4 files, 0.0 MB from 3 nodes, whole");
  const auto j = report_json(m);
  EXPECT_EQ(j["files"], 4);
  EXPECT_EQ(j["nodes"][2]["files"][0]["name"], "si.wfc3");
  EXPECT_EQ(j["nodes"][2]["files"][0]["bytes"], 30);

  children[0] = {2, std::nullopt, "did not answer by the deadline", true};
  children[1] = {1, part(1, {{"si.wfc2", 20}}, {"si.mix2 (the SIGKILL window closed first)"}), "", false};
  m = merge_restart_parts("si", 3, 3, 3, main, children);
  EXPECT_FALSE(m.complete);
  EXPECT_EQ(m.note,
            "node 1: not stored: si.mix2 (the SIGKILL window closed first); node 2 did not answer by the "
            "deadline: its part is missing");
  EXPECT_EQ(m.parts.size(), 2u);
  EXPECT_FALSE(report_json(m)["complete"]);
}
