#include <gtest/gtest.h>

#include "qe/input_edit.hpp"
#include "qe/pw_input.hpp"

namespace qecloud::qe {
namespace {

std::string edit(std::string_view text, std::vector<InputEdit> edits) {
  auto r = apply_edits(text, edits);
  EXPECT_TRUE(r.has_value()) << (r ? "" : r.error());
  return r ? r.value() : std::string();
}

// What pw.x reads: the parser follows gfortran, where the later assignment wins.
std::optional<std::string> read_string(const std::string& text, std::string_view nl, std::string_view var) {
  return parse_pw_input(text, "x.in").input.get_string(nl, var);
}

TEST(InputEdit, TheAssignmentPwxReadsIsRewrittenWhereItIs) {
  const std::string in =
      "&CONTROL\n  calculation = 'scf'\n  restart_mode = 'from_scratch'\n/\n&SYSTEM\n  ibrav = 2\n/\n";
  const std::string out = edit(in, {{"control", "restart_mode", "'restart'", ""}});
  EXPECT_EQ(out, "&CONTROL\n  calculation = 'scf'\n  restart_mode = 'restart'\n/\n&SYSTEM\n  ibrav = 2\n/\n");
  EXPECT_EQ(read_string(out, "control", "restart_mode"), "restart");
}

TEST(InputEdit, OnlyTheLastOfSeveralAssignmentsIsRewrittenAndTheRestOfTheLineStays) {
  const std::string in =
      "&control\n restart_mode='from_scratch', prefix='si'\n/\n&electrons\n mixing_beta = 0.7, "
      "conv_thr=1d-8\n"
      " mixing_beta=0.9d0 ! too high\n/\n";
  const std::string out =
      edit(in, {{"control", "restart_mode", "'restart'", ""}, {"electrons", "mixing_beta", "0.63", ""}});
  EXPECT_EQ(
      out,
      "&control\n restart_mode = 'restart', prefix='si'\n/\n&electrons\n mixing_beta = 0.7, conv_thr=1d-8\n"
      " mixing_beta = 0.63 ! too high\n/\n");
  const auto p = parse_pw_input(out, "x.in");
  EXPECT_EQ(p.input.get_real("electrons", "mixing_beta"), 0.63);
  EXPECT_EQ(p.input.get_string("control", "prefix"), "si");
}

TEST(InputEdit, ASlashAfterValuesOnOneLineAndSlashesInStringsAndComments) {
  const std::string in = "&control outdir='./a/b' ! a/comment\n prefix='si' /\n&system ibrav=2, nat=1 /\n";
  const std::string out = edit(in, {{"control", "max_seconds", "1740", ""}, {"system", "nbnd", "8", ""}});
  EXPECT_EQ(out,
            "&control outdir='./a/b' ! a/comment\n prefix='si' , max_seconds = 1740 /\n"
            "&system ibrav=2, nat=1 , nbnd = 8 /\n");
  const auto p = parse_pw_input(out, "x.in");
  EXPECT_TRUE(p.diagnostics.empty());
  EXPECT_EQ(p.input.get_real("control", "max_seconds"), 1740.0);
  EXPECT_EQ(p.input.get_int("system", "nbnd"), 8);
  EXPECT_EQ(p.input.get_string("control", "outdir"), "./a/b");
}

TEST(InputEdit, AMissingNamelistIsAddedInPwxOrder) {
  const std::string in = "&CONTROL\n/\n&SYSTEM\n ibrav=2\n/\n&CELL\n/\nATOMIC_SPECIES\n";
  const std::string out = edit(in, {{"electrons", "mixing_beta", "0.49", ""}});
  EXPECT_EQ(
      out,
      "&CONTROL\n/\n&SYSTEM\n ibrav=2\n/\n&ELECTRONS\n  mixing_beta = 0.49\n/\n&CELL\n/\nATOMIC_SPECIES\n");
  const std::string tail =
      edit("&control\n/\n&system\n/\nK_POINTS gamma\n", {{"ions", "ion_dynamics", "'bfgs'", ""}});
  EXPECT_EQ(tail, "&control\n/\n&system\n/\n&IONS\n  ion_dynamics = 'bfgs'\n/\nK_POINTS gamma\n");
}

TEST(InputEdit, WhatCannotBeEditedIsSaid) {
  auto r = apply_edits("&control\n  prefix = 'si'\n",
                       std::vector<InputEdit>{{"control", "max_seconds", "10", ""}});
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error(), "cannot set &control max_seconds = 10: &control has no closing '/'");
  r = apply_edits("&control\n/\n", std::vector<InputEdit>{{"inputpp", "x", "1", ""}});
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error(), "cannot set &inputpp x = 1: &inputpp is not a namelist pw.x reads");
}

}  // namespace
}  // namespace qecloud::qe
