// Exchange-correlation names as set_dft_from_name reads them: short names, composite names, the functional a
// pseudopotential states, and which pairs pw.x calls conflicting.
#include <gtest/gtest.h>

#include "qe/functionals.hpp"

using namespace qecloud::qe;

TEST(Functionals, ShortNamesAnyCase) {
  EXPECT_TRUE(resolve_functional("PBE", std::nullopt).recognized);
  EXPECT_TRUE(resolve_functional("pbesol", 607).recognized);
  EXPECT_TRUE(resolve_functional("  b3lyp ", 607).recognized);
  EXPECT_EQ(resolve_functional("PZ", 607).ids, (std::array<int, 6>{1, 1, 0, 0, 0, 0}));
}

TEST(Functionals, CompositeNamesAreMatchedTermByTerm) {
  auto pbe = resolve_functional("sla+pw+pbx+pbc", 607);
  EXPECT_TRUE(pbe.recognized);
  ASSERT_TRUE(pbe.ids);
  EXPECT_EQ((std::array<int, 4>{(*pbe.ids)[0], (*pbe.ids)[1], (*pbe.ids)[2], (*pbe.ids)[3]}),
            (std::array<int, 4>{1, 4, 3, 4}));
  EXPECT_FALSE(functionals_conflict(pbe, resolve_functional("PBE", 607)));
  EXPECT_FALSE(
      functionals_conflict(resolve_functional("SLA  PZ   NOGX NOGC", 607), resolve_functional("PZ", 607)));
  // 'SLA PW PBE PBE': gradient terms named PBE mean PBX and PBC (set_dft_from_name's back compatibility).
  EXPECT_FALSE(functionals_conflict(resolve_functional(" SLA  PW   PBE  PBE", 607), pbe));
}

TEST(Functionals, UnknownNamesAndConflicts) {
  EXPECT_FALSE(resolve_functional("xyzzy", 607).recognized);
  EXPECT_FALSE(resolve_functional("lda-xyz", std::nullopt).recognized);
  EXPECT_TRUE(resolve_functional("NOX-NOC", 607).recognized);
  EXPECT_TRUE(functionals_conflict(resolve_functional("PZ", 607), resolve_functional("PBE", 607)));
  // Names of a later release are unknown to an earlier one, unless a term makes them out.
  EXPECT_TRUE(resolve_functional("R2SCAN", 700).recognized);
  EXPECT_FALSE(functionals_conflict(resolve_functional("xyzzy", 607), resolve_functional("PBE", 607)))
      << "nothing is claimed about a name that does not resolve";
}
