#include "server/util/random.h"

#include <limits>

#include "gtest/gtest.h"

namespace fgw {
namespace {

class FixedRandom : public Random {
 public:
  explicit FixedRandom(uint64_t v) : v_(v) {}
  uint64_t Next64() override { return v_; }

 private:
  uint64_t v_;
};

TEST(RandomTest, UniformBounds) {
  FixedRandom zero(0), max(std::numeric_limits<uint64_t>::max());
  EXPECT_EQ(zero.Uniform01(), 0.0);
  EXPECT_LT(max.Uniform01(), 1.0);
  EXPECT_EQ(zero.UniformDuration(absl::Seconds(1)), absl::ZeroDuration());
  EXPECT_EQ(max.UniformDuration(absl::Seconds(1)), absl::Seconds(1));
  EXPECT_EQ(max.UniformDuration(absl::ZeroDuration()), absl::ZeroDuration());
}

TEST(RandomTest, SeededIsDeterministicAndRealVaries) {
  SeededRandom a(5), b(5);
  for (int i = 0; i < 10; ++i) EXPECT_EQ(a.Next64(), b.Next64());
  Random* real = RealRandom();
  EXPECT_NE(real->Next64(), real->Next64());
  for (int i = 0; i < 1000; ++i) {
    double u = real->Uniform01();
    ASSERT_GE(u, 0.0);
    ASSERT_LT(u, 1.0);
  }
}

}  // namespace
}  // namespace fgw
