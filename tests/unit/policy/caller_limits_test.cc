#include "server/policy/caller_limits.h"

#include <memory>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/support/fake_clock.h"

namespace fgw {
namespace {

using ::testing::HasSubstr;

CallerLimitsSpec Rate(double per_second, int burst) {
  CallerLimitsSpec s;
  s.rate_per_second = per_second;
  s.burst = burst;
  return s;
}

TEST(CallerLimiterTest, BurstThenRefusedThenRefilledByTime) {
  FakeClock clock;
  auto limiter = std::make_shared<CallerLimiter>("billing", Rate(2, 3), &clock);
  for (int i = 0; i < 3; ++i) EXPECT_TRUE(limiter->Admit().ok()) << i;
  auto refused = limiter->Admit();
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.status().code(), absl::StatusCode::kResourceExhausted);
  EXPECT_THAT(refused.status().message(), HasSubstr("caller billing"));
  EXPECT_THAT(refused.status().message(),
              HasSubstr("policy.callers.billing.rate"));
  EXPECT_THAT(refused.status().message(), HasSubstr("retry in 500 ms"));
  clock.Advance(absl::Milliseconds(499));
  EXPECT_FALSE(limiter->Admit().ok());
  clock.Advance(absl::Milliseconds(1));
  EXPECT_TRUE(limiter->Admit().ok());
  EXPECT_FALSE(limiter->Admit().ok());
  clock.Advance(absl::Hours(1));  // Refills to the burst, not beyond.
  for (int i = 0; i < 3; ++i) EXPECT_TRUE(limiter->Admit().ok()) << i;
  EXPECT_FALSE(limiter->Admit().ok());
}

TEST(CallerLimiterTest, DefaultBurstIsTheRateRoundedUp) {
  FakeClock clock;
  auto limiter = std::make_shared<CallerLimiter>("c", Rate(2.5, 0), &clock);
  for (int i = 0; i < 3; ++i) EXPECT_TRUE(limiter->Admit().ok()) << i;
  EXPECT_FALSE(limiter->Admit().ok());
  auto slow = std::make_shared<CallerLimiter>("s", Rate(0.1, 0), &clock);
  EXPECT_TRUE(slow->Admit().ok());
  EXPECT_FALSE(slow->Admit().ok());
}

TEST(CallerLimiterTest, InFlightCapHoldsUntilTicketsGo) {
  FakeClock clock;
  CallerLimitsSpec spec;
  spec.max_in_flight = 2;
  auto limiter = std::make_shared<CallerLimiter>("c", spec, &clock);
  std::vector<CallerLimiter::Ticket> held;
  for (int i = 0; i < 2; ++i) {
    auto t = limiter->Admit();
    ASSERT_TRUE(t.ok());
    held.push_back(*std::move(t));
  }
  EXPECT_EQ(limiter->in_flight(), 2);
  auto refused = limiter->Admit();
  ASSERT_FALSE(refused.ok());
  EXPECT_THAT(refused.status().message(), HasSubstr("max_in_flight"));
  held.pop_back();
  EXPECT_EQ(limiter->in_flight(), 1);
  EXPECT_TRUE(limiter->Admit().ok());  // Its ticket is dropped at once.
  EXPECT_EQ(limiter->in_flight(), 1);
}

TEST(CallerLimiterTest, ARefusalByTheCapTakesNoToken) {
  FakeClock clock;
  CallerLimitsSpec spec = Rate(1, 1);
  spec.max_in_flight = 1;
  auto limiter = std::make_shared<CallerLimiter>("c", spec, &clock);
  auto first = limiter->Admit();
  ASSERT_TRUE(first.ok());
  clock.Advance(absl::Seconds(1));
  EXPECT_FALSE(limiter->Admit().ok());  // Cap; the refilled token stays.
  { CallerLimiter::Ticket done = *std::move(first); }
  EXPECT_TRUE(limiter->Admit().ok());
}

TEST(CallerLimiterTest, UpdateKeepsCallsInFlightAndCapsTokens) {
  FakeClock clock;
  CallerLimitsSpec spec = Rate(1, 10);
  spec.max_in_flight = 5;
  auto limiter = std::make_shared<CallerLimiter>("c", spec, &clock);
  auto t = limiter->Admit();
  ASSERT_TRUE(t.ok());
  CallerLimitsSpec tighter = Rate(1, 2);
  tighter.max_in_flight = 1;
  limiter->Update(tighter);
  EXPECT_EQ(limiter->in_flight(), 1);
  EXPECT_FALSE(limiter->Admit().ok());  // The cap of 1 is taken.
  { CallerLimiter::Ticket done = *std::move(t); }
  EXPECT_TRUE(limiter->Admit().ok());
  EXPECT_TRUE(limiter->Admit().ok());
  EXPECT_FALSE(limiter->Admit().ok());  // Burst now 2 (9 tokens were left).
}

TEST(CallerLimiterTest, TicketKeepsItsLimiterAlive) {
  FakeClock clock;
  CallerLimitsSpec spec;
  spec.max_in_flight = 1;
  auto limiter = std::make_shared<CallerLimiter>("c", spec, &clock);
  auto t = limiter->Admit();
  ASSERT_TRUE(t.ok());
  std::weak_ptr<CallerLimiter> weak = limiter;
  limiter.reset();
  EXPECT_FALSE(weak.expired());
  { CallerLimiter::Ticket done = *std::move(t); }
  EXPECT_TRUE(weak.expired());
}

}  // namespace
}  // namespace fgw
