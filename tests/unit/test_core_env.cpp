// One strict number reader for environment values.
#include <gtest/gtest.h>

#include "core/env.hpp"
#include "core/error.hpp"

using namespace qecloud;

TEST(Env, NumbersAreTheWholeValue) {
  EXPECT_EQ(parse_integer("30"), 30);
  EXPECT_EQ(parse_integer("+7"), 7);
  EXPECT_EQ(parse_integer("-5"), -5);
  for (const char* bad : {"30s", " 30", "30 ", "", "+", "3.0", "0x10", "1e3"})
    EXPECT_FALSE(parse_integer(bad)) << bad;
  EXPECT_DOUBLE_EQ(*parse_decimal("2.5"), 2.5);
  EXPECT_DOUBLE_EQ(*parse_decimal("1e3"), 1000);
  for (const char* bad : {"2.5s", "inf", "nan", "", "1,5"}) EXPECT_FALSE(parse_decimal(bad)) << bad;
}

TEST(Env, ReadersNameTheVariableAndTheRange) {
  const EnvLookup env = map_env({{"QECLOUD_S3_STALL_TIMEOUT", "30s"}, {"N", "5"}, {"T", "0"}});
  try {
    env_integer(env, "QECLOUD_S3_STALL_TIMEOUT", 30, 1, 86400);
    FAIL() << "30s accepted";
  } catch (const UsageError& e) {
    EXPECT_STREQ(e.what(), "QECLOUD_S3_STALL_TIMEOUT='30s' is not a whole number in [1, 86400]");
  }
  EXPECT_EQ(env_integer(env, "N", 1, 1, 10), 5);
  EXPECT_EQ(env_integer(env, "UNSET", 9, 1, 10), 9);
  EXPECT_THROW(env_integer(env, "N", 1, 6, 10), UsageError);
  EXPECT_THROW(env_seconds(env, "T", 1, 0, 10), UsageError);  // (0, 10]: zero is not a duration
  EXPECT_FALSE(env_text(map_env({{"E", ""}}), "E"));
}
