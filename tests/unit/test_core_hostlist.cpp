// Host lists in Slurm's notation. Every expected list below is what `scontrol show hostnames` (Slurm 22.05,
// Debian 12) printed for the same text, except the suffix case, which Slurm 22.05 refuses and LLNL's
// hostlist (pdsh) expands.
#include <gtest/gtest.h>

#include "core/hostlist.hpp"

using namespace qecloud;

namespace {

std::vector<std::string> hosts(const std::string& list) {
  auto h = expand_hostlist(list);
  EXPECT_TRUE(h.has_value()) << list << ": " << (h ? "" : h.error());
  return h ? *h : std::vector<std::string>{};
}

std::string refusal(const std::string& list) {
  auto h = expand_hostlist(list);
  return h ? "expanded" : h.error();
}

using V = std::vector<std::string>;

}  // namespace

TEST(Hostlist, RangesListsAndPlainNames) {
  EXPECT_EQ(hosts("node-[0-2]"), (V{"node-0", "node-1", "node-2"}));
  EXPECT_EQ(hosts("node-[1,3-5]"), (V{"node-1", "node-3", "node-4", "node-5"}));
  EXPECT_EQ(hosts("n1[0-1]"), (V{"n10", "n11"}));
  EXPECT_EQ(hosts("rack[1-2]"), (V{"rack1", "rack2"}));
  EXPECT_EQ(hosts("[1-2]"), (V{"1", "2"}));
  EXPECT_EQ(hosts("node-0"), (V{"node-0"}));
  EXPECT_EQ(hosts(""), V{});
}

TEST(Hostlist, WidthComesFromTheLowerBound) {
  EXPECT_EQ(hosts("n[01-3]"), (V{"n01", "n02", "n03"}));
  EXPECT_EQ(hosts("n[9-11]"), (V{"n9", "n10", "n11"}));
  EXPECT_EQ(hosts("z[098-101]"), (V{"z098", "z099", "z100", "z101"}));
}

TEST(Hostlist, SeveralGroupsKeepTheirOrder) {
  EXPECT_EQ(hosts("n[1-2],m[3]"), (V{"n1", "n2", "m3"}));
  EXPECT_EQ(hosts(" a , b"), (V{"a", "b"}));
  EXPECT_EQ(hosts("a[1-2],a[1-2]"), (V{"a1", "a2", "a1", "a2"}));  // repeats stay, as in Slurm
  EXPECT_EQ(hosts("x,y[8-10],login"), (V{"x", "y8", "y9", "y10", "login"}));
}

TEST(Hostlist, SeveralBracketsMultiplyLeftmostSlowest) {
  EXPECT_EQ(hosts("a[1-2]b[3-4]"), (V{"a1b3", "a1b4", "a2b3", "a2b4"}));
  EXPECT_EQ(hosts("n[1-2]x[01-02]"), (V{"n1x01", "n1x02", "n2x01", "n2x02"}));
  EXPECT_EQ(hosts("a[1-2]b[3-4],c[5-6]"), (V{"a1b3", "a1b4", "a2b3", "a2b4", "c5", "c6"}));
}

TEST(Hostlist, TextAfterTheLastBracket) {
  EXPECT_EQ(hosts("a[01-03]b"), (V{"a01b", "a02b", "a03b"}));
  EXPECT_EQ(hosts("gpu[1-2]-ib,cpu[3]-ib"), (V{"gpu1-ib", "gpu2-ib", "cpu3-ib"}));
}

TEST(Hostlist, MalformedListsAreRefusedSayingWhy) {
  EXPECT_EQ(refusal("n[10-8]"), "'n[10-8]' is not a host list: range '10-8' runs backwards in 'n[10-8]'");
  EXPECT_EQ(refusal("foo[1-2"), "'foo[1-2' is not a host list: unclosed '[' in 'foo[1-2'");
  EXPECT_EQ(refusal("foo]1"), "'foo]1' is not a host list: unmatched ']' in 'foo]1'");
  EXPECT_EQ(refusal("n[a-b]"),
            "'n[a-b]' is not a host list: 'a-b' is not a number or a range N-M in 'n[a-b]'");
  EXPECT_EQ(refusal("n[1-]"), "'n[1-]' is not a host list: '1-' is not a number or a range N-M in 'n[1-]'");
  EXPECT_EQ(refusal("n[1-99999999]"),
            "'n[1-99999999]' is not a host list: range '1-99999999' is too long in "
            "'n[1-99999999]'");
}
