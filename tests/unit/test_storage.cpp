#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "core/error.hpp"
#include "core/text.hpp"
#include "storage/object_store.hpp"

namespace fs = std::filesystem;
using namespace qecloud;

namespace {
struct TempDir {
  fs::path path = fs::temp_directory_path() / ("qecloud-store-" + std::to_string(::getpid()));
  TempDir() { fs::create_directories(path); }
  ~TempDir() { fs::remove_all(path); }
};
}  // namespace

TEST(FileStore, PutGetListAndTrees) {
  TempDir t;
  fs::create_directories(t.path / "src/si.save");
  std::ofstream(t.path / "src/pw.out") << "JOB DONE.\n";
  std::ofstream(t.path / "src/si.save/wfc1.dat") << std::string(1000, 'x');
  std::ofstream(t.path / "src/si.save/data-file-schema.xml") << "<qes:espresso/>";
  auto store = storage::open_store("file://" + (t.path / "store").string());
  store->put_file((t.path / "src/pw.out").string(), "jobs/1/output/pw.out");
  EXPECT_EQ(store->put_tree((t.path / "src/si.save").string(), "jobs/1/output/si.save"), 2);
  auto objects = store->list("jobs/1");
  ASSERT_EQ(objects.size(), 3u);
  EXPECT_EQ(objects[0].key, "jobs/1/output/pw.out");
  EXPECT_EQ(objects[2].key, "jobs/1/output/si.save/wfc1.dat");
  EXPECT_EQ(objects[2].size, 1000u);
  EXPECT_TRUE(store->exists("jobs/1/output/pw.out"));
  store->get_file("jobs/1/output/pw.out", (t.path / "back.out").string());
  EXPECT_EQ(text::read_file((t.path / "back.out").string()), "JOB DONE.\n");
  EXPECT_EQ(store->url("jobs/1"), "file://" + (t.path / "store/jobs/1").string());
}

TEST(FileStore, RefusesKeysOutsideTheStore) {
  TempDir t;
  auto store = storage::open_store((t.path / "store").string());
  std::ofstream(t.path / "f") << "x";
  EXPECT_THROW(store->put_file((t.path / "f").string(), "../escape"), Error);
  EXPECT_THROW(store->put_file((t.path / "f").string(), "a/../../escape"), Error);
  EXPECT_THROW(store->put_file((t.path / "missing").string(), "jobs/x"), Error);
  EXPECT_FALSE(store->exists("jobs/x"));  // a failed put leaves nothing under the key
}

TEST(StoreRegistry, UnknownSchemeIsAUsageError) {
  EXPECT_THROW(storage::open_store("gopher://x"), UsageError);
  EXPECT_THROW(storage::open_store("file://"), UsageError);
}
