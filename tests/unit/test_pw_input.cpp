#include <gtest/gtest.h>

#include "core/json_text.hpp"
#include "core/text.hpp"
#include "qe/expression.hpp"
#include "qe/pw_input.hpp"
#include "qe/validator.hpp"

using namespace qecloud;
using namespace qecloud::qe;

namespace {
std::string errors_of(const ParseResult& r) {
  return format_diagnostics(r.diagnostics);
}
}  // namespace

TEST(PwInput, ParsesTheSeedInput) {
  auto text = text::read_file(std::string(QECLOUD_SOURCE_DIR) + "/examples/si/scf.in");
  auto r = parse_pw_input(text, "scf.in");
  ASSERT_EQ(errors_of(r), "");
  const PwInput& in = r.input;
  EXPECT_EQ(in.get_string("control", "calculation"), "scf");
  EXPECT_EQ(in.get_bool("control", "tstress"), true);
  EXPECT_EQ(in.get_int("system", "ibrav"), 2);
  EXPECT_DOUBLE_EQ(*in.get_real("system", "celldm", {1}), 10.20);
  EXPECT_DOUBLE_EQ(*in.get_real("electrons", "conv_thr"), 1e-8);
  ASSERT_EQ(in.species.size(), 1u);
  EXPECT_EQ(in.species[0].pseudo_file, "Si.pz-vbc.UPF");
  EXPECT_EQ(in.species[0].pseudo_loc.line, 21);
  ASSERT_EQ(in.atoms.size(), 2u);
  EXPECT_EQ(in.positions_units, "alat");
  EXPECT_DOUBLE_EQ(in.atoms[1].position[2], 0.25);
  ASSERT_TRUE(in.kpoints);
  EXPECT_EQ(in.kpoints->mode, "automatic");
  EXPECT_EQ(in.kpoints->grid, (std::array<int, 3>{16, 16, 16}));
}

TEST(PwInput, FortranNamelistSyntax) {
  auto r = parse_pw_input(
      "&CONTROL ! comment\n"
      "  Calculation = \"relax\", tprnfor = T\n"
      "  title = 'it''s', verbosity='high' /\n"
      "&system\n"
      "  ibrav=0, nat=3 ntyp=2, ecutwfc=2.5D1\n"
      "  starting_magnetization(2) = 0.5, celldm(1)=1.d0\n"
      "  hubbard_u(1) = 1.0, 2.0\n"
      "  nr1 = 3*0\n"
      "/\n"
      "&electrons\n"
      "  startingwfc = 'atomic+random' tqr=.t.\n"
      "&end\n",
      "in");
  ASSERT_EQ(errors_of(r), "");
  const PwInput& in = r.input;
  EXPECT_EQ(in.get_string("control", "calculation"), "relax");
  EXPECT_EQ(in.get_bool("control", "tprnfor"), true);
  EXPECT_EQ(in.get_string("control", "title"), "it's");
  EXPECT_EQ(in.get_int("system", "ntyp"), 2);
  EXPECT_DOUBLE_EQ(*in.get_real("system", "ecutwfc"), 25.0);
  EXPECT_DOUBLE_EQ(*in.get_real("system", "starting_magnetization", {2}), 0.5);
  EXPECT_DOUBLE_EQ(*in.get_real("system", "hubbard_u", {2}), 2.0);
  EXPECT_EQ(in.entry("system", "nr1")->values.size(), 3u);
  EXPECT_EQ(in.get_bool("electrons", "tqr"), true);
  EXPECT_EQ(in.entry("system", "celldm", {1})->loc.line, 6);
  EXPECT_EQ(in.entry("system", "celldm", {1})->loc.column, 36);
}

TEST(PwInput, ReportsEverySyntaxErrorWithCaret) {
  auto r = parse_pw_input(
      "&control\n"
      "  calculation = scf\n"
      "  prefix = 'si\n"
      "/\n"
      "&system ibrav = 2 celldm(x) = 1 /\n",
      "bad.in");
  EXPECT_EQ(errors_of(r),
            "bad.in:2:17: error: bad value 'scf' for 'calculation' (strings must be quoted: 'scf')\n"
            "    calculation = scf\n"
            "                  ^\n"
            "bad.in:3:12: error: unterminated string for 'prefix'\n"
            "    prefix = 'si\n"
            "             ^\n"
            "bad.in:5:26: error: bad index for 'celldm'\n"
            "  &system ibrav = 2 celldm(x) = 1 /\n"
            "                           ^\n");
}

TEST(PwInput, UnclosedNamelistBeforeCards) {
  auto r = parse_pw_input("&control\n calculation='scf'\nATOMIC_SPECIES\n Si 28.0 Si.UPF\n", "x.in");
  EXPECT_EQ(errors_of(r),
            "x.in:1:1: error: namelist &control is not closed by '/'\n"
            "  &control\n"
            "  ^\n");
  ASSERT_EQ(r.input.species.size(), 1u);
}

TEST(PwInput, CardsWithOptionsCommentsAndExpressions) {
  auto r = parse_pw_input(
      "&control /\n&system /\n&electrons /\n"
      "ATOMIC_SPECIES\n"
      "# a comment\n"
      " Fe 55.8 Fe.UPF  ! trailing comment\n"
      "ATOMIC_POSITIONS {crystal}\n"
      " Fe 1/3 2/3 0.25 0 0 1\n"
      "K_POINTS (tpiba)\n"
      " 2\n"
      " 0.0 0.0 0.0 1.0\n"
      " 0.5 0.5 0.5 3.0\n"
      "CELL_PARAMETERS angstrom\n"
      " 1 0 0\n 0 1 0\n 0 0 1\n",
      "c.in");
  ASSERT_EQ(errors_of(r), "");
  const PwInput& in = r.input;
  ASSERT_EQ(in.species.size(), 1u);
  EXPECT_EQ(in.species[0].pseudo_file, "Fe.UPF");
  EXPECT_EQ(in.positions_units, "crystal");
  EXPECT_NEAR(in.atoms[0].position[0], 1.0 / 3, 1e-15);
  EXPECT_EQ(in.atoms[0].if_pos, (std::array<int, 3>{0, 0, 1}));
  EXPECT_EQ(in.kpoints->mode, "tpiba");
  EXPECT_EQ(in.kpoints->list.size(), 2u);
  EXPECT_EQ(in.cell->units, "angstrom");
}

TEST(PwInput, MalformedCards) {
  auto r = parse_pw_input(
      "&control /\n"
      "ATOMIC_SPECIES\n"
      " Si 28.0\n"
      "ATOMIC_POSITIONS bananas\n"
      " Si 0 0 zero\n"
      "K_POINTS automatic\n"
      " 4 4 0 0 0 2\n",
      "m.in");
  EXPECT_EQ(
      errors_of(r),
      "m.in:3:2: error: ATOMIC_SPECIES row has 2 fields, expected 3: label, mass, pseudopotential file\n"
      "   Si 28.0\n"
      "   ^\n"
      "m.in:4:18: error: unknown ATOMIC_POSITIONS units 'bananas' (expected alat, bohr, angstrom, crystal "
      "or crystal_sg)\n"
      "  ATOMIC_POSITIONS bananas\n"
      "                   ^\n"
      "m.in:5:9: error: expected a number for a coordinate, found 'zero'\n"
      "   Si 0 0 zero\n"
      "          ^\n"
      "m.in:7:6: error: k-point grid sizes must be at least 1\n"
      "   4 4 0 0 0 2\n"
      "       ^\n");
}

TEST(Expression, Arithmetic) {
  EXPECT_DOUBLE_EQ(*evaluate_expression("1/3"), 1.0 / 3);
  EXPECT_DOUBLE_EQ(*evaluate_expression("-(1+2)*2^2"), -12.0);
  EXPECT_DOUBLE_EQ(*evaluate_expression("1.5d-1*2"), 0.3);
  EXPECT_FALSE(evaluate_expression("1/0"));
  EXPECT_FALSE(evaluate_expression("(1"));
  EXPECT_FALSE(evaluate_expression("sqrt(2)"));
}

TEST(PwInput, BytesThatAreNotUtf8DoNotBreakTheJsonReport) {
  // Found by fuzz_pw_input: a variable name with 0xff bytes made the JSON dump throw.
  auto text = text::read_file(std::string(QECLOUD_TEST_DATA) + "/fuzz-regressions/invalid-utf8-in-name.in");
  qecloud::qe::ValidationEnv env;
  env.run_dir = "/nonexistent";
  auto report = qecloud::qe::validate(parse_pw_input(text, "x.in"), env);
  EXPECT_FALSE(report.ok());
  std::string json = qecloud::json_text(qecloud::qe::to_json(report));
  EXPECT_NE(json.find("\xEF\xBF\xBD"), std::string::npos);  // U+FFFD in place of the bad bytes
}
