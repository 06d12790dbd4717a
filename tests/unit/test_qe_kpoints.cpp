// The irreducible k-point count (spglib) and its cache.
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "core/text.hpp"
#include "qe/kpoints.hpp"

namespace fs = std::filesystem;
using namespace qecloud;
using namespace qecloud::qe;

namespace {
// The seed's silicon: fcc (ibrav 2) with celldm(1) = 10.20 bohr, two atoms.
const Mat3 kFcc = {{{-5.1, 0, 5.1}, {0, 5.1, 5.1}, {-5.1, 5.1, 0}}};
const std::vector<Vec3> kSi = {{0, 0, 0}, {0.25, 0.25, 0.25}};
}  // namespace

TEST(Kpoints, TheSeedGridHas145IrreduciblePoints) {
  auto n = irreducible_kpoints(kFcc, kSi, {1, 1}, {16, 16, 16}, {0, 0, 0}, {});
  ASSERT_TRUE(n) << n.error();
  EXPECT_EQ(*n, 145);
  auto no_sym = irreducible_kpoints(kFcc, kSi, {1, 1}, {4, 4, 4}, {0, 0, 0}, {false, true});
  ASSERT_TRUE(no_sym);
  EXPECT_GT(*no_sym, 8);
}

TEST(Kpoints, TheCountIsRememberedByTheCellGridAndSymmetry) {
  const fs::path cache = fs::temp_directory_path() / ("qecloud-kpoints-" + std::to_string(::getpid()));
  fs::remove(cache);
  auto first = irreducible_kpoints_cached(kFcc, kSi, {1, 1}, {16, 16, 16}, {0, 0, 0}, {}, cache.string());
  ASSERT_TRUE(first);
  EXPECT_EQ(*first, 145);
  const std::string text = text::read_file(cache.string());
  ASSERT_EQ(std::count(text.begin(), text.end(), '\n'), 1);
  // The remembered line is what a later call returns (a planted count proves it is read, not recomputed).
  const std::string key = text.substr(0, text.find(' '));
  std::ofstream(cache, std::ios::trunc) << key << " 7\n";
  EXPECT_EQ(*irreducible_kpoints_cached(kFcc, kSi, {1, 1}, {16, 16, 16}, {0, 0, 0}, {}, cache.string()), 7);
  // Another grid is another key.
  EXPECT_EQ(*irreducible_kpoints_cached(kFcc, kSi, {1, 1}, {8, 8, 8}, {1, 1, 1}, {}, cache.string()),
            *irreducible_kpoints(kFcc, kSi, {1, 1}, {8, 8, 8}, {1, 1, 1}, {}));
  fs::remove(cache);
}
