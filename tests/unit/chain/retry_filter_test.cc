// RetryFilter: the Classify table (every RetryDecision), and the filter above a ScriptedFilter:
// idempotency keys, backoff on the FakeClock, attempt caps, budget, deadline, cancellation.
#include "server/chain/retry_filter.h"

#include <limits>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "server/upstream/transport.h"
#include "tests/support/fake_clock.h"
#include "tests/support/fake_metrics.h"
#include "tests/unit/chain/scripted_filter.h"

namespace fgw {
namespace {

using ::fgw::testing_chain::FilterStack;
using ::fgw::testing_chain::Get;
using ::fgw::testing_chain::Post;
using ::fgw::testing_chain::ReplySlot;
using ::fgw::testing_chain::Response;
using ::testing::HasSubstr;
using ::testing::MatchesRegex;

// Always the top of the jitter range: backoffs are exactly the caps (100 ms, 200 ms, ...).
class MaxRandom : public Random {
 public:
  uint64_t Next64() override { return std::numeric_limits<uint64_t>::max(); }
};

const char* DecisionName(RetryDecision d) {
  switch (d) {
    case RetryDecision::kAnswer:
      return "kAnswer";
    case RetryDecision::kRetry:
      return "kRetry";
    case RetryDecision::kMayHaveApplied:
      return "kMayHaveApplied";
  }
  return "?";
}

// ---- Classify -------------------------------------------------------------------------------

struct ClassifyCase {
  std::string name;
  Reply reply;
  bool past_deadline;  // now >= the call's deadline.
  RetryDecision if_safe;
  RetryDecision if_unsafe;
};

TEST(ClassifyTest, EveryDecision) {
  using D = RetryDecision;
  const std::vector<ClassifyCase> cases = {
      {"HTTP 200", Response(200), false, D::kAnswer, D::kAnswer},
      {"HTTP 201", Response(201), false, D::kAnswer, D::kAnswer},
      {"HTTP 400", Response(400), false, D::kAnswer, D::kAnswer},
      {"HTTP 401", Response(401), false, D::kAnswer, D::kAnswer},
      {"HTTP 404", Response(404), false, D::kAnswer, D::kAnswer},
      {"HTTP 429", Response(429), false, D::kRetry, D::kAnswer},
      {"HTTP 500", Response(500), false, D::kAnswer, D::kAnswer},
      {"HTTP 501", Response(501), false, D::kAnswer, D::kAnswer},
      {"HTTP 502", Response(502), false, D::kRetry, D::kAnswer},
      {"HTTP 503", Response(503), false, D::kRetry, D::kAnswer},
      {"HTTP 504", Response(504), false, D::kRetry, D::kAnswer},
      {"HTTP 503 past the deadline", Response(503), true, D::kRetry,
       D::kAnswer},
      {"UNAVAILABLE, may have been sent", absl::UnavailableError("reset"),
       false, D::kRetry, D::kMayHaveApplied},
      {"UNAVAILABLE, not sent", MarkNotSent(absl::UnavailableError("refused")),
       false, D::kRetry, D::kRetry},
      {"DEADLINE_EXCEEDED before the call deadline (attempt timeout)",
       absl::DeadlineExceededError("attempt timeout"), false, D::kRetry,
       D::kMayHaveApplied},
      {"DEADLINE_EXCEEDED before the call deadline, not sent",
       MarkNotSent(absl::DeadlineExceededError("connect timeout")), false,
       D::kRetry, D::kRetry},
      {"DEADLINE_EXCEEDED at the call deadline",
       absl::DeadlineExceededError("deadline"), true, D::kAnswer, D::kAnswer},
      {"CANCELLED", absl::CancelledError("cancelled"), false, D::kAnswer,
       D::kAnswer},
      {"FinalError(UNAVAILABLE)",
       FinalError(absl::UnavailableError("token endpoint down")), false,
       D::kAnswer, D::kAnswer},
      {"FinalError(DEADLINE_EXCEEDED)",
       FinalError(absl::DeadlineExceededError("no token in time")), false,
       D::kAnswer, D::kAnswer},
      {"FinalError(UNAUTHENTICATED)",
       FinalError(absl::UnauthenticatedError("bad client")), false, D::kAnswer,
       D::kAnswer},
      {"INTERNAL", absl::InternalError("bug"), false, D::kAnswer, D::kAnswer},
      {"RESOURCE_EXHAUSTED", absl::ResourceExhaustedError("full"), false,
       D::kAnswer, D::kAnswer},
      {"UNAUTHENTICATED", absl::UnauthenticatedError("no"), false, D::kAnswer,
       D::kAnswer},
  };
  const absl::Time now = absl::FromUnixSeconds(1000);
  for (const ClassifyCase& c : cases) {
    const absl::Time deadline = c.past_deadline ? now : now + absl::Seconds(10);
    for (bool safe : {true, false}) {
      RetryVerdict v = Classify(c.reply, safe, now, deadline);
      RetryDecision want = safe ? c.if_safe : c.if_unsafe;
      EXPECT_EQ(v.decision, want)
          << c.name << (safe ? " (retry safe)" : " (not retry safe)")
          << ": got " << DecisionName(v.decision) << ", want "
          << DecisionName(want);
      EXPECT_FALSE(v.retry_after.has_value()) << c.name;
    }
  }
}

TEST(ClassifyTest, DeadlineExceededAfterTheCallDeadlineIsTheAnswer) {
  const absl::Time now = absl::FromUnixSeconds(1000);
  Reply reply = absl::DeadlineExceededError("late");
  EXPECT_EQ(Classify(reply, true, now, now - absl::Seconds(1)).decision,
            RetryDecision::kAnswer);
  EXPECT_EQ(Classify(reply, false, now, now - absl::Seconds(1)).decision,
            RetryDecision::kAnswer);
  EXPECT_EQ(Classify(reply, true, now, now + absl::Nanoseconds(1)).decision,
            RetryDecision::kRetry);
}

TEST(ClassifyTest, RetryAfterIsReadFromRetriedReplies) {
  const absl::Time now = absl::FromUnixSeconds(1000);
  RetryVerdict v = Classify(Response(503, "", {{"retry-after", "7"}}), true,
                            now, absl::InfiniteFuture());
  EXPECT_EQ(v.decision, RetryDecision::kRetry);
  ASSERT_TRUE(v.retry_after.has_value());
  EXPECT_EQ(*v.retry_after, absl::Seconds(7));

  // An HTTP date, relative to now.
  const absl::Time later = now + absl::Seconds(30);
  std::string date =
      absl::FormatTime("%a, %d %b %Y %H:%M:%S GMT", later, absl::UTCTimeZone());
  v = Classify(Response(429, "", {{"Retry-After", date}}), true, now,
               absl::InfiniteFuture());
  ASSERT_TRUE(v.retry_after.has_value());
  EXPECT_EQ(*v.retry_after, absl::Seconds(30));

  // Not retried: Retry-After is not read.
  v = Classify(Response(503, "", {{"Retry-After", "7"}}), false, now,
               absl::InfiniteFuture());
  EXPECT_EQ(v.decision, RetryDecision::kAnswer);
  EXPECT_FALSE(v.retry_after.has_value());

  // Garbage: retried without one.
  v = Classify(Response(503, "", {{"Retry-After", "soon"}}), true, now,
               absl::InfiniteFuture());
  EXPECT_EQ(v.decision, RetryDecision::kRetry);
  EXPECT_FALSE(v.retry_after.has_value());
}

// ---- The filter -----------------------------------------------------------------------------

class RetryFilterTest : public ::testing::Test {
 protected:
  RetryFilterTest() {
    read_.method = "formance.ledger.v2.LedgerService/GetAccount";
    read_.read_only = true;
    keyed_write_.method = "formance.ledger.v2.LedgerService/CreateTransaction";
    keyed_write_.accepts_idempotency_key = true;
    plain_write_.method = "formance.payments.v1.PaymentsService/CreatePayment";
    Build(RetryOptions{}, RetryBudgetOptions{});
  }

  void Build(RetryOptions options, RetryBudgetOptions budget) {
    auto retry = std::make_unique<RetryFilter>(options, budget, &clock_,
                                               &random_, &metrics_);
    retry_ = retry.get();
    stack_ = std::make_unique<FilterStack>(std::move(retry));
  }

  std::shared_ptr<Exchange> NewExchange(
      const UpstreamCallSpec& spec,
      absl::Time deadline = absl::InfiniteFuture(), CallOptions options = {}) {
    return std::make_shared<Exchange>(&spec, deadline, options, &clock_);
  }

  std::shared_ptr<Exchange> Send(const UpstreamCallSpec& spec,
                                 HttpRequest request, ReplySlot* slot,
                                 absl::Time deadline = absl::InfiniteFuture(),
                                 CallOptions options = {}) {
    auto x = NewExchange(spec, deadline, options);
    stack_->Send(x, std::move(request), slot);
    return x;
  }

  int calls() { return stack_->scripted().num_calls(); }
  // The Idempotency-Key of the i-th request below, or "<none>".
  std::string KeyOf(int i) {
    HttpRequest request = stack_->scripted().request(i);
    const std::string* key = FindHeader(request.headers, kIdempotencyKeyHeader);
    return key != nullptr ? *key : "<none>";
  }
  void Enqueue(Reply reply) { stack_->scripted().Enqueue(std::move(reply)); }

  FakeClock clock_;
  MaxRandom random_;
  FakeMetrics metrics_;
  UpstreamCallSpec read_;
  UpstreamCallSpec keyed_write_;
  UpstreamCallSpec plain_write_;
  RetryFilter* retry_ = nullptr;
  std::unique_ptr<FilterStack> stack_;
};

TEST_F(RetryFilterTest, SuccessIsOneAttempt) {
  Enqueue(Response(200, "ok"));
  ReplySlot slot;
  auto x = Send(read_, Get(), &slot);
  ASSERT_EQ(slot.calls(), 1);
  EXPECT_EQ(slot.reply()->body, "ok");
  EXPECT_EQ(x->attempts(), 1);
  EXPECT_EQ(calls(), 1);
  EXPECT_EQ(clock_.pending_timers(), 0);
}

TEST_F(RetryFilterTest, BackoffWaitsOnTheClock) {
  Enqueue(Response(503));
  Enqueue(Response(502));
  Enqueue(Response(200, "third"));
  ReplySlot slot;
  auto x = Send(read_, Get(), &slot);
  EXPECT_EQ(calls(), 1);
  EXPECT_EQ(clock_.pending_timers(), 1);
  EXPECT_EQ(clock_.next_due() - clock_.Now(), absl::Milliseconds(100));
  clock_.Advance(absl::Milliseconds(99));
  EXPECT_EQ(calls(), 1);
  clock_.Advance(absl::Milliseconds(1));
  EXPECT_EQ(calls(), 2);
  EXPECT_EQ(clock_.next_due() - clock_.Now(), absl::Milliseconds(200));
  clock_.Advance(absl::Milliseconds(199));
  EXPECT_EQ(calls(), 2);
  EXPECT_FALSE(slot.answered());
  clock_.Advance(absl::Milliseconds(1));
  EXPECT_EQ(calls(), 3);
  ASSERT_EQ(slot.calls(), 1);
  EXPECT_EQ(slot.reply()->body, "third");
  EXPECT_EQ(x->attempts(), 3);
  EXPECT_EQ(clock_.pending_timers(), 0);
}

TEST_F(RetryFilterTest, EveryAttemptSendsTheSameRequest) {
  Enqueue(absl::UnavailableError("reset"));
  Enqueue(Response(200));
  ReplySlot slot;
  HttpRequest request = Get("/api/ledger/v2/l1/accounts?pageSize=2");
  request.headers = {{"Accept", "application/json"}};
  Send(read_, request, &slot);
  clock_.Advance(absl::Milliseconds(100));
  ASSERT_EQ(calls(), 2);
  for (int i = 0; i < 2; ++i) {
    EXPECT_EQ(stack_->scripted().request(i).path_and_query,
              request.path_and_query);
    EXPECT_EQ(stack_->scripted().request(i).headers, request.headers);
  }
  EXPECT_EQ(slot.reply()->status, 200);
}

TEST_F(RetryFilterTest, RetryAfterIsWaited) {
  Enqueue(Response(429, "", {{"Retry-After", "2"}}));
  Enqueue(Response(200));
  ReplySlot slot;
  Send(read_, Get(), &slot);
  clock_.Advance(absl::Milliseconds(1999));
  EXPECT_EQ(calls(), 1);
  clock_.Advance(absl::Milliseconds(1));
  EXPECT_EQ(calls(), 2);
  EXPECT_EQ(slot.reply()->status, 200);
}

TEST_F(RetryFilterTest, RetryAfterBeyondTheMaximumIsTheAnswer) {
  Enqueue(Response(503, "busy", {{"Retry-After", "61"}}));
  ReplySlot slot;
  Send(read_, Get(), &slot);
  ASSERT_EQ(slot.calls(), 1);
  EXPECT_EQ(slot.reply()->status, 503);
  EXPECT_EQ(clock_.pending_timers(), 0);
}

TEST_F(RetryFilterTest, AttemptsAreCappedAndTheLastReplyStands) {
  for (int i = 0; i < 10; ++i) Enqueue(Response(503, absl::StrCat("n", i)));
  ReplySlot slot;
  auto x = Send(read_, Get(), &slot);
  clock_.Advance(absl::Seconds(10));
  EXPECT_EQ(calls(), 4);  // RetryOptions::max_attempts.
  ASSERT_EQ(slot.calls(), 1);
  EXPECT_EQ(slot.reply()->body, "n3");
  EXPECT_EQ(x->attempts(), 4);
}

TEST_F(RetryFilterTest, PerCallMaxAttemptsLowersTheCapButNeverRaisesIt) {
  for (int i = 0; i < 20; ++i) Enqueue(Response(503));
  CallOptions two;
  two.max_attempts = 2;
  ReplySlot a;
  Send(read_, Get(), &a, absl::InfiniteFuture(), two);
  clock_.Advance(absl::Seconds(10));
  EXPECT_EQ(calls(), 2);
  EXPECT_EQ(a.calls(), 1);

  CallOptions many;
  many.max_attempts = 10;
  ReplySlot b;
  Send(read_, Get(), &b, absl::InfiniteFuture(), many);
  clock_.Advance(absl::Seconds(10));
  EXPECT_EQ(calls(), 2 + 4);

  CallOptions zero;
  zero.max_attempts = 0;  // At least one attempt.
  ReplySlot c;
  Send(read_, Get(), &c, absl::InfiniteFuture(), zero);
  clock_.Advance(absl::Seconds(10));
  EXPECT_EQ(calls(), 2 + 4 + 1);
  EXPECT_EQ(c.calls(), 1);
}

TEST_F(RetryFilterTest, MaxAttemptsOneDisablesRetries) {
  RetryOptions options;
  options.max_attempts = 1;
  Build(options, RetryBudgetOptions{});
  Enqueue(Response(503));
  ReplySlot slot;
  Send(read_, Get(), &slot);
  EXPECT_EQ(slot.reply()->status, 503);
  EXPECT_EQ(calls(), 1);
  EXPECT_EQ(clock_.pending_timers(), 0);
}

TEST_F(RetryFilterTest, GeneratedKeyIsTheSameOnEveryAttemptAndRecorded) {
  Enqueue(Response(503));
  Enqueue(absl::UnavailableError("reset"));
  Enqueue(Response(201));
  ReplySlot slot;
  auto x = Send(keyed_write_, Post(), &slot);
  clock_.Advance(absl::Seconds(1));
  ASSERT_EQ(calls(), 3);
  ASSERT_EQ(slot.reply()->status, 201);
  const std::string key = KeyOf(0);
  EXPECT_THAT(key, MatchesRegex("[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-"
                                "[89ab][0-9a-f]{3}-[0-9a-f]{12}"));
  EXPECT_EQ(KeyOf(1), key);
  EXPECT_EQ(KeyOf(2), key);
  EXPECT_EQ(x->idempotency_key(), key);
  EXPECT_EQ(x->attempts(), 3);
}

TEST_F(RetryFilterTest, CallersKeyIsKeptAsIs) {
  Enqueue(Response(503));
  Enqueue(Response(201));
  HttpRequest request = Post();
  request.headers.emplace_back("idempotency-key", "callers-key");
  ReplySlot slot;
  auto x = Send(keyed_write_, request, &slot);
  clock_.Advance(absl::Seconds(1));
  ASSERT_EQ(calls(), 2);
  for (int i = 0; i < 2; ++i) {
    int n = 0;
    const HttpRequest sent = stack_->scripted().request(i);
    for (const auto& [name, value] : sent.headers) {
      if (absl::EqualsIgnoreCase(name, kIdempotencyKeyHeader)) {
        ++n;
        EXPECT_EQ(value, "callers-key");
      }
    }
    EXPECT_EQ(n, 1);
  }
  EXPECT_EQ(x->idempotency_key(), "callers-key");
}

TEST_F(RetryFilterTest, NoKeyForWritesThatDoNotAcceptOne) {
  Enqueue(Response(503));
  ReplySlot slot;
  auto x = Send(plain_write_, Post("/api/payments/payments"), &slot);
  EXPECT_EQ(KeyOf(0), "<none>");
  EXPECT_TRUE(x->idempotency_key().empty());
  // And its 503 is the answer: no retry for a write that cannot be deduplicated.
  ASSERT_EQ(slot.calls(), 1);
  EXPECT_EQ(slot.reply()->status, 503);
  EXPECT_EQ(calls(), 1);
  EXPECT_EQ(clock_.pending_timers(), 0);
}

TEST_F(RetryFilterTest, NoKeyForReads) {
  Enqueue(Response(200));
  ReplySlot slot;
  auto x = Send(read_, Get(), &slot);
  EXPECT_EQ(KeyOf(0), "<none>");
  EXPECT_TRUE(x->idempotency_key().empty());
}

TEST_F(RetryFilterTest, UnkeyedWriteMaybeSentIsMayHaveApplied) {
  Enqueue(absl::UnavailableError("connection reset by peer"));
  ReplySlot slot;
  Send(plain_write_, Post("/api/payments/payments"), &slot);
  ASSERT_EQ(slot.calls(), 1);
  const absl::Status& status = slot.reply().status();
  EXPECT_EQ(status.code(), absl::StatusCode::kUnavailable);
  EXPECT_THAT(status.message(),
              HasSubstr("upstream failed after the request was sent "
                        "(connection reset by peer)"));
  EXPECT_THAT(status.message(), HasSubstr(kMayHaveBeenAppliedMessage));
  EXPECT_EQ(calls(), 1);
}

TEST_F(RetryFilterTest, UnkeyedWriteAttemptTimeoutIsMayHaveApplied) {
  Enqueue(absl::DeadlineExceededError("attempt timed out"));
  ReplySlot slot;
  Send(plain_write_, Post("/api/payments/payments"), &slot,
       clock_.Now() + absl::Seconds(60));
  const absl::Status& status = slot.reply().status();
  EXPECT_EQ(status.code(), absl::StatusCode::kDeadlineExceeded);
  EXPECT_THAT(status.message(), HasSubstr(kMayHaveBeenAppliedMessage));
  EXPECT_EQ(calls(), 1);
}

TEST_F(RetryFilterTest, UnkeyedWriteNotSentIsRetried) {
  Enqueue(MarkNotSent(absl::UnavailableError("connection refused")));
  Enqueue(Response(201));
  ReplySlot slot;
  auto x = Send(plain_write_, Post("/api/payments/payments"), &slot);
  clock_.Advance(absl::Milliseconds(100));
  EXPECT_EQ(calls(), 2);
  EXPECT_EQ(slot.reply()->status, 201);
  EXPECT_EQ(x->attempts(), 2);
}

TEST_F(RetryFilterTest, KeyedWriteIsRetriedAfterAMaybeSentError) {
  Enqueue(absl::UnavailableError("reset"));
  Enqueue(Response(201));
  ReplySlot slot;
  Send(keyed_write_, Post(), &slot);
  clock_.Advance(absl::Milliseconds(100));
  EXPECT_EQ(calls(), 2);
  EXPECT_EQ(slot.reply()->status, 201);
}

TEST_F(RetryFilterTest, NonTransientErrorsAreTheAnswer) {
  Enqueue(absl::InternalError("bad response"));
  Enqueue(FinalError(absl::UnauthenticatedError("no token")));
  Enqueue(absl::CancelledError("gone"));
  ReplySlot internal;
  ReplySlot final_error;
  ReplySlot cancelled;
  Send(read_, Get(), &internal);
  Send(read_, Get(), &final_error);
  Send(read_, Get(), &cancelled);
  EXPECT_EQ(internal.reply().status().code(), absl::StatusCode::kInternal);
  EXPECT_EQ(final_error.reply().status().code(),
            absl::StatusCode::kUnauthenticated);
  EXPECT_TRUE(IsFinalError(final_error.reply().status()));
  EXPECT_EQ(cancelled.reply().status().code(), absl::StatusCode::kCancelled);
  EXPECT_EQ(calls(), 3);
  EXPECT_EQ(clock_.pending_timers(), 0);
}

TEST_F(RetryFilterTest, DeadlineExceededAtTheCallDeadlineIsTheAnswer) {
  stack_->scripted().set_hold(true);
  ReplySlot slot;
  Send(plain_write_, Post("/api/payments/payments"), &slot,
       clock_.Now() + absl::Seconds(1));
  clock_.Advance(absl::Seconds(1));
  stack_->scripted().ReleaseNext(absl::DeadlineExceededError("deadline"));
  ASSERT_EQ(slot.calls(), 1);
  EXPECT_EQ(slot.reply().status().code(), absl::StatusCode::kDeadlineExceeded);
  EXPECT_EQ(slot.reply().status().message(), "deadline");
  EXPECT_EQ(calls(), 1);
}

TEST_F(RetryFilterTest, NoRetryThatCannotStartBeforeTheDeadline) {
  Enqueue(Response(503, "first"));
  Enqueue(Response(503, "second"));
  Enqueue(Response(200));
  ReplySlot slot;
  auto x = Send(read_, Get(), &slot, clock_.Now() + absl::Milliseconds(250));
  clock_.Advance(absl::Milliseconds(100));  // Second attempt; next wait 200 ms.
  ASSERT_EQ(calls(), 2);
  ASSERT_EQ(slot.calls(), 1);  // 100 + 200 >= 250: no third attempt.
  EXPECT_EQ(slot.reply()->body, "second");
  EXPECT_EQ(x->attempts(), 2);
  EXPECT_EQ(clock_.pending_timers(), 0);
}

TEST_F(RetryFilterTest, DeadlineAlreadyPassedSendsNothing) {
  Enqueue(Response(200));
  ReplySlot slot;
  auto x = Send(read_, Get(), &slot, clock_.Now());
  ASSERT_EQ(slot.calls(), 1);
  EXPECT_EQ(slot.reply().status().code(), absl::StatusCode::kDeadlineExceeded);
  EXPECT_THAT(slot.reply().status().message(),
              HasSubstr("before the next attempt"));
  EXPECT_EQ(calls(), 0);
  EXPECT_EQ(x->attempts(), 0);
}

TEST_F(RetryFilterTest, BudgetExhaustionStopsRetries) {
  RetryBudgetOptions budget;
  budget.ratio = 0;
  budget.min_per_second = 1;  // One retry in the bucket, refilled at 1/s.
  Build(RetryOptions{}, budget);
  for (int i = 0; i < 10; ++i) Enqueue(Response(503, absl::StrCat("n", i)));
  ReplySlot slot;
  auto x = Send(read_, Get(), &slot);
  clock_.Advance(absl::Milliseconds(100));  // The one retry.
  ASSERT_EQ(calls(), 2);
  ASSERT_EQ(slot.calls(), 1);  // 0.1 token after 100 ms: refused.
  EXPECT_EQ(slot.reply()->body, "n1");
  EXPECT_EQ(x->attempts(), 2);
  EXPECT_EQ(clock_.pending_timers(), 0);
  EXPECT_LT(retry_->budget().available(), 1);
}

TEST_F(RetryFilterTest, MetricsCountEachRetryByReasonAndBudgetRefusals) {
  RetryBudgetOptions budget;
  budget.ratio = 0;
  budget.min_per_second = 2;  // Two retries in the bucket.
  Build(RetryOptions{}, budget);
  Enqueue(Response(429));
  Enqueue(absl::UnavailableError("reset"));
  Enqueue(Response(503));
  ReplySlot slot;
  Send(read_, Get(), &slot);
  clock_.Advance(absl::Milliseconds(100));
  clock_.Advance(absl::Milliseconds(200));
  ASSERT_EQ(slot.calls(), 1);
  EXPECT_EQ(slot.reply()->status, 503);
  EXPECT_EQ(metrics_.retries(),
            (std::vector<RetryReason>{RetryReason::kHttp429,
                                      RetryReason::kUnavailable}));
  EXPECT_EQ(metrics_.budget_exhausted(), 1);  // The third retry was refused.
}

TEST(RetryReasonOfTest, MapsRepliesToReasons) {
  EXPECT_EQ(RetryReasonOf(Response(429)), RetryReason::kHttp429);
  EXPECT_EQ(RetryReasonOf(Response(502)), RetryReason::kHttp502);
  EXPECT_EQ(RetryReasonOf(Response(503)), RetryReason::kHttp503);
  EXPECT_EQ(RetryReasonOf(Response(504)), RetryReason::kHttp504);
  EXPECT_EQ(RetryReasonOf(Response(500)), RetryReason::kOtherStatus);
  EXPECT_EQ(RetryReasonOf(absl::UnavailableError("x")),
            RetryReason::kUnavailable);
  EXPECT_EQ(RetryReasonOf(absl::DeadlineExceededError("x")),
            RetryReason::kAttemptTimeout);
}

TEST_F(RetryFilterTest, EmptyBudgetMeansNoRetryAtAll) {
  RetryBudgetOptions budget;
  budget.ratio = 0;
  budget.min_per_second = 0;
  Build(RetryOptions{}, budget);
  Enqueue(Response(503));
  ReplySlot slot;
  Send(read_, Get(), &slot);
  EXPECT_EQ(slot.reply()->status, 503);
  EXPECT_EQ(calls(), 1);
}

TEST_F(RetryFilterTest, FirstAttemptsFillTheRatioBucket) {
  RetryBudgetOptions budget;
  budget.ratio = 0.5;
  budget.min_per_second = 0;
  Build(RetryOptions{}, budget);
  Enqueue(Response(200));
  Enqueue(Response(200));
  ReplySlot a;
  ReplySlot b;
  Send(read_, Get(), &a);
  Send(read_, Get(), &b);
  EXPECT_DOUBLE_EQ(retry_->budget().available(), 1.0);
  Enqueue(Response(503));  // Third first attempt: 1.5 tokens, one retry.
  Enqueue(Response(200, "retried"));
  ReplySlot c;
  Send(read_, Get(), &c);
  clock_.Advance(absl::Milliseconds(100));
  EXPECT_EQ(c.reply()->body, "retried");
  EXPECT_DOUBLE_EQ(retry_->budget().available(), 0.5);
}

TEST_F(RetryFilterTest, CancellationDuringBackoffAnswersAndCancelsTheTimer) {
  Enqueue(Response(503));
  Enqueue(Response(200));
  ReplySlot slot;
  auto x = Send(read_, Get(), &slot);
  ASSERT_EQ(clock_.pending_timers(), 1);
  EXPECT_FALSE(slot.answered());
  x->cancellation().Cancel();
  ASSERT_EQ(slot.calls(), 1);
  EXPECT_EQ(slot.reply().status().code(), absl::StatusCode::kCancelled);
  EXPECT_EQ(clock_.pending_timers(), 0);
  clock_.Advance(absl::Seconds(10));
  EXPECT_EQ(calls(), 1);
  EXPECT_EQ(slot.calls(), 1);
}

TEST_F(RetryFilterTest, CancellationDuringAnAttemptAnswersAtOnce) {
  stack_->scripted().set_hold(true);
  ReplySlot slot;
  auto x = Send(read_, Get(), &slot);
  x->cancellation().Cancel();
  ASSERT_EQ(slot.calls(), 1);
  EXPECT_EQ(slot.reply().status().code(), absl::StatusCode::kCancelled);
  // The attempt's late reply starts nothing.
  stack_->scripted().ReleaseNext(Response(503));
  EXPECT_EQ(clock_.pending_timers(), 0);
  clock_.Advance(absl::Seconds(10));
  EXPECT_EQ(calls(), 1);
  EXPECT_EQ(slot.calls(), 1);
}

TEST_F(RetryFilterTest, ExchangeAlreadyOverSendsNothing) {
  Enqueue(Response(200));
  auto x = NewExchange(read_);
  x->cancellation().Cancel();
  ReplySlot slot;
  stack_->Send(x, Get(), &slot);
  ASSERT_EQ(slot.calls(), 1);
  EXPECT_EQ(slot.reply().status().code(), absl::StatusCode::kCancelled);
  EXPECT_EQ(calls(), 0);
}

TEST_F(RetryFilterTest, AnsweredCallLeavesNothingOnTheCancellation) {
  Enqueue(Response(200));
  ReplySlot slot;
  auto x = Send(read_, Get(), &slot);
  ASSERT_EQ(slot.calls(), 1);
  x->cancellation().Cancel();  // After the answer: no second one.
  EXPECT_EQ(slot.calls(), 1);
  EXPECT_TRUE(slot.reply().ok());
}

}  // namespace
}  // namespace fgw
