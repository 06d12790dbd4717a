#include <gtest/gtest.h>

#include "core/diagnostic.hpp"
#include "core/text.hpp"

using namespace qecloud;

TEST(Text, FortranReals) {
  EXPECT_DOUBLE_EQ(*text::parse_fortran_real("1.0d-8"), 1e-8);
  EXPECT_DOUBLE_EQ(*text::parse_fortran_real("1.D0"), 1.0);
  EXPECT_DOUBLE_EQ(*text::parse_fortran_real("-2.5E+02"), -250.0);
  EXPECT_DOUBLE_EQ(*text::parse_fortran_real("10.20"), 10.2);
  EXPECT_FALSE(text::parse_fortran_real("abc"));
  EXPECT_FALSE(text::parse_fortran_real("1.0x"));
  EXPECT_FALSE(text::parse_fortran_real(""));
}

TEST(Text, ClosestMatch) {
  EXPECT_EQ(text::closest_match("ecutwf", {"ecutwfc", "ecutrho", "nat"}), "ecutwfc");
  EXPECT_EQ(text::closest_match("zzzzzz", {"ecutwfc", "ecutrho"}), "");
}

TEST(Diagnostic, CompilerStyleWithCaret) {
  Diagnostic d{Severity::kError, "scf.in", {3, 5}, "unknown variable 'ecutwf'", "    ecutwf = 18", "ecutwf"};
  EXPECT_EQ(format_diagnostic(d),
            "scf.in:3:5: error: unknown variable 'ecutwf'\n"
            "      ecutwf = 18\n"
            "      ^\n");
}
