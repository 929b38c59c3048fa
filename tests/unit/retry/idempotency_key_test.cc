#include "server/retry/idempotency_key.h"

#include <regex>
#include <set>

#include "gtest/gtest.h"

namespace fgw {
namespace {

TEST(IdempotencyKeyTest, IsUuidV4Text) {
  SeededRandom random(3);
  std::regex uuid(
      "^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$");
  std::set<std::string> seen;
  for (int i = 0; i < 1000; ++i) {
    std::string key = GenerateIdempotencyKey(random);
    ASSERT_TRUE(std::regex_match(key, uuid)) << key;
    seen.insert(key);
  }
  EXPECT_EQ(seen.size(), 1000u);
}

TEST(IdempotencyKeyTest, DeterministicWithASeed) {
  SeededRandom a(9), b(9);
  EXPECT_EQ(GenerateIdempotencyKey(a), GenerateIdempotencyKey(b));
  EXPECT_NE(GenerateIdempotencyKey(*RealRandom()),
            GenerateIdempotencyKey(*RealRandom()));
}

}  // namespace
}  // namespace fgw
