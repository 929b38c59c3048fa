#include "server/policy/api_key.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace fgw {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

TEST(Sha256HexTest, KnownDigests) {
  EXPECT_EQ(Sha256Hex(""),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  EXPECT_EQ(Sha256Hex("abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

TEST(IsSha256HexTest, SixtyFourHexDigitsOnly) {
  EXPECT_TRUE(IsSha256Hex(Sha256Hex("k")));
  EXPECT_TRUE(IsSha256Hex(
      "BA7816BF8F01CFEA414140DE5DAE2223B00361A396177A9CB410FF61F20015AD"));
  EXPECT_FALSE(IsSha256Hex(Sha256Hex("k").substr(1)));
  EXPECT_FALSE(IsSha256Hex(std::string(64, 'g')));
  EXPECT_FALSE(IsSha256Hex(""));
}

TEST(ConstantTimeEqualsTest, ComparesLengthAndBytes) {
  EXPECT_TRUE(ConstantTimeEquals("abc", "abc"));
  EXPECT_TRUE(ConstantTimeEquals("", ""));
  EXPECT_FALSE(ConstantTimeEquals("abc", "abd"));
  EXPECT_FALSE(ConstantTimeEquals("abc", "ab"));
  EXPECT_FALSE(ConstantTimeEquals(std::string("a\0b", 3), "a"));
}

TEST(ParseApiKeyFileTest, LinesCommentsAndBlanks) {
  const std::string h1 = Sha256Hex("one"), h2 = Sha256Hex("two");
  auto entries = ParseApiKeyFile(
      "# rotation: both keys valid\n\nbilling " + h1 + "\n  billing\t" + h2 +
          "  \nreports " + h1.substr(0, 0) + Sha256Hex("three"),
      "keys");
  ASSERT_TRUE(entries.ok()) << entries.status();
  ASSERT_EQ(entries->size(), 3u);
  EXPECT_EQ((*entries)[0].caller, "billing");
  EXPECT_EQ((*entries)[0].sha256, h1);
  EXPECT_EQ((*entries)[1].sha256, h2);
  EXPECT_EQ((*entries)[2].caller, "reports");
}

TEST(ParseApiKeyFileTest, UpperCaseHexIsStoredLowerCase) {
  std::string upper = Sha256Hex("x");
  for (char& c : upper) c = static_cast<char>(std::toupper(c));
  auto entries = ParseApiKeyFile("a " + upper, "keys");
  ASSERT_TRUE(entries.ok());
  EXPECT_EQ((*entries)[0].sha256, Sha256Hex("x"));
}

TEST(ParseApiKeyFileTest, ABadLineNamesItsNumberNotItsContent) {
  auto entries =
      ParseApiKeyFile("# ok\nbilling fgwk_raw_secret_key\n", "/etc/keys");
  ASSERT_FALSE(entries.ok());
  EXPECT_EQ(entries.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(entries.status().message(), HasSubstr("/etc/keys:2:"));
  EXPECT_THAT(entries.status().message(),
              Not(HasSubstr("fgwk_raw_secret_key")));
  EXPECT_FALSE(
      ParseApiKeyFile("billing " + Sha256Hex("a") + " extra", "k").ok());
}

}  // namespace
}  // namespace fgw
