#include "server/transcoding/scalar_text.h"

#include <cmath>
#include <limits>

#include "gtest/gtest.h"

namespace fgw {
namespace {

std::string Int(absl::string_view number) {
  std::string out;
  return JsonNumberToInteger(number, &out) ? out : "<not an integer>";
}

TEST(ScalarTextTest, JsonNumberToInteger) {
  EXPECT_EQ(Int("340282366920938463463374607431768211457"),
            "340282366920938463463374607431768211457");
  EXPECT_EQ(Int("-0"), "0");
  EXPECT_EQ(Int("1e40"), "10000000000000000000000000000000000000000");
  EXPECT_EQ(Int("1.50e1"), "15");
  EXPECT_EQ(Int("1500e-2"), "15");
  EXPECT_EQ(Int("0.0"), "0");
  EXPECT_EQ(Int("0e999999"), "0");
  EXPECT_EQ(Int("1.5"), "<not an integer>");
  EXPECT_EQ(Int("1e-3"), "<not an integer>");
  EXPECT_EQ(Int("1e5000"), "<not an integer>");
  EXPECT_EQ(Int("abc"), "<not an integer>");
  EXPECT_EQ(Int(""), "<not an integer>");
  EXPECT_EQ(Int("1."), "<not an integer>");
}

TEST(ScalarTextTest, NormalizeBigint) {
  std::string out;
  EXPECT_TRUE(NormalizeBigint("000123", &out));
  EXPECT_EQ(out, "123");
  EXPECT_TRUE(NormalizeBigint("-000", &out));
  EXPECT_EQ(out, "0");
  EXPECT_FALSE(NormalizeBigint("", &out));
  EXPECT_FALSE(NormalizeBigint("1e3", &out));
  EXPECT_FALSE(NormalizeBigint("--1", &out));
}

TEST(ScalarTextTest, FormatDouble) {
  std::string out;
  ASSERT_TRUE(FormatDouble(100.0, &out));
  EXPECT_EQ(out, "100");
  ASSERT_TRUE(FormatDouble(0.1, &out));
  EXPECT_EQ(out, "0.1");
  ASSERT_TRUE(FormatDouble(-2.5e-8, &out));
  EXPECT_EQ(out, "-2.5e-8");
  ASSERT_TRUE(FormatDouble(1e300, &out));
  EXPECT_EQ(out, "1e300");
  EXPECT_FALSE(FormatDouble(std::numeric_limits<double>::infinity(), &out));
  EXPECT_FALSE(FormatDouble(std::nan(""), &out));
}

}  // namespace
}  // namespace fgw
