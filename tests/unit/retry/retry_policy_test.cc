#include "server/retry/retry_policy.h"

#include "gtest/gtest.h"
#include "tests/unit/retry/scripted_random.h"

namespace fgw {
namespace {

const absl::Time kNow = absl::FromUnixSeconds(1700000000);

TEST(RetryPolicyTest, RetryableStatuses) {
  for (int s : {429, 502, 503, 504}) EXPECT_TRUE(IsRetryableStatus(s)) << s;
  for (int s : {200, 400, 401, 404, 409, 500, 501})
    EXPECT_FALSE(IsRetryableStatus(s)) << s;
}

TEST(RetryPolicyTest, BackoffCapGrowsAndIsBounded) {
  SeededRandom random(1);
  RetryOptions options;  // 100 ms, x2, max 5 s.
  RetryPolicy policy(options, &random);
  EXPECT_EQ(policy.BackoffCap(1), absl::Milliseconds(100));
  EXPECT_EQ(policy.BackoffCap(2), absl::Milliseconds(200));
  EXPECT_EQ(policy.BackoffCap(3), absl::Milliseconds(400));
  EXPECT_EQ(policy.BackoffCap(7), absl::Seconds(5));
  EXPECT_EQ(policy.BackoffCap(1000), absl::Seconds(5));
}

TEST(RetryPolicyTest, FullJitterStaysWithinBoundsAndSpreads) {
  SeededRandom random(42);
  RetryPolicy policy(RetryOptions{}, &random);
  for (int attempt = 1; attempt <= 8; ++attempt) {
    absl::Duration lo = absl::InfiniteDuration(), hi = absl::ZeroDuration();
    for (int i = 0; i < 500; ++i) {
      absl::Duration d = policy.Backoff(attempt);
      ASSERT_GE(d, absl::ZeroDuration());
      ASSERT_LE(d, policy.BackoffCap(attempt));
      lo = std::min(lo, d);
      hi = std::max(hi, d);
    }
    EXPECT_LT(lo, policy.BackoffCap(attempt) * 0.1)
        << attempt;  // Full jitter reaches near 0...
    EXPECT_GT(hi, policy.BackoffCap(attempt) * 0.9)
        << attempt;  // ...and near the cap.
  }
}

TEST(RetryPolicyTest, SeededRandomIsDeterministic) {
  SeededRandom a(7), b(7);
  RetryPolicy pa(RetryOptions{}, &a), pb(RetryOptions{}, &b);
  for (int i = 1; i < 10; ++i) EXPECT_EQ(pa.Backoff(i), pb.Backoff(i));
}

TEST(RetryPolicyTest, NextDelayRespectsAttemptsAndDeadline) {
  FixedRandom max = FixedRandom::Max();
  RetryPolicy policy(RetryOptions{}, &max);
  EXPECT_EQ(policy.NextDelay(1, 4, kNow, absl::InfiniteFuture(), std::nullopt),
            absl::Milliseconds(100));
  EXPECT_EQ(policy.NextDelay(3, 4, kNow, absl::InfiniteFuture(), std::nullopt),
            absl::Milliseconds(400));
  EXPECT_EQ(policy.NextDelay(4, 4, kNow, absl::InfiniteFuture(), std::nullopt),
            std::nullopt);
  // The wait would end at or past the deadline: no retry.
  EXPECT_EQ(policy.NextDelay(1, 4, kNow, kNow + absl::Milliseconds(100),
                             std::nullopt),
            std::nullopt);
  EXPECT_EQ(policy.NextDelay(1, 4, kNow, kNow + absl::Milliseconds(101),
                             std::nullopt),
            absl::Milliseconds(100));
}

TEST(RetryPolicyTest, RetryAfterIsHonouredButNeverPastTheDeadline) {
  FixedRandom zero = FixedRandom::Zero();
  RetryPolicy policy(RetryOptions{}, &zero);
  EXPECT_EQ(
      policy.NextDelay(1, 4, kNow, absl::InfiniteFuture(), absl::Seconds(3)),
      absl::Seconds(3));
  EXPECT_EQ(
      policy.NextDelay(1, 4, kNow, kNow + absl::Seconds(10), absl::Seconds(3)),
      absl::Seconds(3));
  EXPECT_EQ(
      policy.NextDelay(1, 4, kNow, kNow + absl::Seconds(2), absl::Seconds(3)),
      std::nullopt);
  EXPECT_EQ(
      policy.NextDelay(1, 4, kNow, absl::InfiniteFuture(), absl::Minutes(5)),
      std::nullopt);
  FixedRandom max = FixedRandom::Max();
  RetryPolicy jittery(RetryOptions{}, &max);
  // max(jitter, retry_after): jitter 100 ms beats a Retry-After of 0.
  EXPECT_EQ(jittery.NextDelay(1, 4, kNow, absl::InfiniteFuture(),
                              absl::ZeroDuration()),
            absl::Milliseconds(100));
}

TEST(RetryPolicyTest, ParsesRetryAfter) {
  EXPECT_EQ(ParseRetryAfter("120", kNow), absl::Seconds(120));
  EXPECT_EQ(ParseRetryAfter(" 0 ", kNow), absl::ZeroDuration());
  absl::Time when = kNow + absl::Seconds(30);
  std::string date =
      absl::FormatTime("%a, %d %b %Y %H:%M:%S GMT", when, absl::UTCTimeZone());
  EXPECT_EQ(ParseRetryAfter(date, kNow), absl::Seconds(30));
  EXPECT_EQ(ParseRetryAfter("Wed, 21 Oct 2015 07:28:00 GMT", kNow),
            absl::ZeroDuration());
  EXPECT_EQ(ParseRetryAfter("soon", kNow), std::nullopt);
  EXPECT_EQ(ParseRetryAfter("-1", kNow), std::nullopt);
  EXPECT_EQ(ParseRetryAfter("", kNow), std::nullopt);
}

}  // namespace
}  // namespace fgw
