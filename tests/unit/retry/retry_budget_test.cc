#include "server/retry/retry_budget.h"

#include "gtest/gtest.h"
#include "tests/support/fake_clock.h"

namespace fgw {
namespace {

TEST(RetryBudgetTest, MinPerSecondThenExhausted) {
  FakeClock clock;
  RetryBudget budget({0.2, 3, 1000}, &clock);
  EXPECT_TRUE(budget.TryAcquireRetry());
  EXPECT_TRUE(budget.TryAcquireRetry());
  EXPECT_TRUE(budget.TryAcquireRetry());
  EXPECT_FALSE(budget.TryAcquireRetry());
  clock.Advance(absl::Seconds(1));
  EXPECT_TRUE(budget.TryAcquireRetry());
  EXPECT_TRUE(budget.TryAcquireRetry());
  EXPECT_TRUE(budget.TryAcquireRetry());
  EXPECT_FALSE(budget.TryAcquireRetry());
}

TEST(RetryBudgetTest, RatioOfFirstAttempts) {
  FakeClock clock;
  RetryBudget budget({0.2, 0, 1000}, &clock);
  EXPECT_FALSE(budget.TryAcquireRetry());
  for (int i = 0; i < 100; ++i) budget.OnFirstAttempt();
  int retries = 0;
  while (budget.TryAcquireRetry()) ++retries;
  EXPECT_EQ(
      retries,
      20);  // 20% of 100 first attempts (floating point: 19 or 20 is fine).
}

TEST(RetryBudgetTest, RatioBucketIsCapped) {
  FakeClock clock;
  RetryBudget budget({1.0, 0, 5}, &clock);
  for (int i = 0; i < 100; ++i) budget.OnFirstAttempt();
  EXPECT_DOUBLE_EQ(budget.available(), 5);
}

}  // namespace
}  // namespace fgw
