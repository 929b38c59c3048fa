#include "server/chain/upstream_chain.h"

#include "server/chain/retry_filter.h"

#include <limits>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/support/fake_clock.h"
#include "tests/support/fake_transport.h"

namespace fgw {
namespace {

using ::testing::HasSubstr;

// Answers inline with "tok-<n>", n bumped by each Invalidate(); or a scripted error.
class TestTokenSource : public TokenSource {
 public:
  void GetToken(const std::vector<std::string>& scopes, absl::Time,
                Callback done) override {
    absl::StatusOr<std::string> answer;
    {
      absl::MutexLock lock(&mu_);
      ++gets_;
      last_scopes_ = scopes;
      answer =
          error_.ok()
              ? absl::StatusOr<std::string>(absl::StrCat("tok-", generation_))
              : absl::StatusOr<std::string>(error_);
    }
    done(std::move(answer));
  }
  void Invalidate(const std::vector<std::string>&,
                  const std::string& token) override {
    absl::MutexLock lock(&mu_);
    invalidated_.push_back(token);
    ++generation_;
  }
  std::string Identity() override { return "client#1"; }

  void set_error(absl::Status error) {
    absl::MutexLock lock(&mu_);
    error_ = std::move(error);
  }
  int gets() {
    absl::MutexLock lock(&mu_);
    return gets_;
  }
  std::vector<std::string> invalidated() {
    absl::MutexLock lock(&mu_);
    return invalidated_;
  }

 private:
  absl::Mutex mu_;
  int generation_ = 1;
  int gets_ = 0;
  absl::Status error_;
  std::vector<std::string> last_scopes_;
  std::vector<std::string> invalidated_;
};

// Always the top of the jitter range: backoffs are exactly the caps (100 ms, 200 ms, ...).
class MaxRandom : public Random {
 public:
  uint64_t Next64() override { return std::numeric_limits<uint64_t>::max(); }
};

class UpstreamChainTest : public ::testing::Test {
 protected:
  UpstreamChainTest() : transport_(&clock_) { Rebuild(UpstreamChainOptions{}); }

  void Rebuild(UpstreamChainOptions options, bool with_cache = true) {
    caller_.reset();
    cache_ = std::make_unique<ResponseCache>(ResponseCacheOptions{}, &clock_);
    caller_ = std::make_unique<UpstreamChain>(
        options, &transport_, &tokens_, with_cache ? cache_.get() : nullptr,
        /*limit=*/nullptr, &clock_, &random_);
  }

  // Starts a call; the outcome lands in the returned slot.
  std::shared_ptr<std::optional<CallOutcome>> Start(
      const UpstreamCallSpec& spec, HttpRequest request, CallContext ctx = {}) {
    auto slot = std::make_shared<std::optional<CallOutcome>>();
    caller_->Call(spec, std::move(request), ctx,
                  [slot](CallOutcome o) { *slot = std::move(o); });
    return slot;
  }

  // Specs live as long as the calls that use them (the method table's do in the daemon).
  static const UpstreamCallSpec& ReadSpec() {
    static const UpstreamCallSpec* spec = [] {
      auto* spec = new UpstreamCallSpec();
      spec->method = "formance.ledger.v2.LedgerService/GetAccount";
      spec->read_only = true;
      spec->scopes = {"ledger:read"};
      return spec;
    }();
    return *spec;
  }
  static const UpstreamCallSpec& WriteSpec(bool idempotent) {
    static const UpstreamCallSpec* specs[2] = {MakeWriteSpec(false),
                                               MakeWriteSpec(true)};
    return *specs[idempotent ? 1 : 0];
  }
  static const UpstreamCallSpec* MakeWriteSpec(bool idempotent) {
    auto* spec = new UpstreamCallSpec();
    spec->method = "formance.ledger.v2.LedgerService/CreateTransaction";
    spec->accepts_idempotency_key = idempotent;
    spec->scopes = {"ledger:write"};
    return spec;
  }
  static HttpRequest Get(std::string path = "/api/ledger/v2/l1/accounts/a") {
    HttpRequest r;
    r.method = "GET";
    r.path_and_query = std::move(path);
    return r;
  }
  static HttpRequest Post(std::string path = "/api/ledger/v2/l1/transactions") {
    HttpRequest r;
    r.method = "POST";
    r.path_and_query = std::move(path);
    r.headers = {{"Content-Type", "application/json"}};
    r.body = R"({"postings":[]})";
    return r;
  }

  FakeClock clock_;
  FakeTransport transport_;
  TestTokenSource tokens_;
  MaxRandom random_;
  std::unique_ptr<ResponseCache> cache_;
  std::unique_ptr<UpstreamChain> caller_;
};

TEST_F(UpstreamChainTest, SuccessAddsBearerTokenOnTheCopyOnly) {
  transport_.Enqueue(MakeHttpResponse(200, "{}"));
  auto out = Start(ReadSpec(), Get());
  ASSERT_TRUE(out->has_value());
  ASSERT_TRUE((*out)->response.ok());
  EXPECT_EQ((*out)->response->status, 200);
  EXPECT_EQ((*out)->attempts, 1);
  EXPECT_FALSE((*out)->cache_hit);
  EXPECT_TRUE((*out)->idempotency_key.empty());
  EXPECT_EQ(*FindHeader(transport_.request(0).headers, "Authorization"),
            "Bearer tok-1");
}

TEST_F(UpstreamChainTest, NoTokenForOperationsWithoutSecurity) {
  transport_.Enqueue(MakeHttpResponse(200));
  UpstreamCallSpec spec = ReadSpec();
  spec.needs_token = false;
  auto out = Start(spec, Get("/versions"));
  ASSERT_TRUE((*out)->response.ok());
  EXPECT_EQ(FindHeader(transport_.request(0).headers, "Authorization"),
            nullptr);
  EXPECT_EQ(tokens_.gets(), 0);
}

TEST_F(UpstreamChainTest, ReadRetriedWithExactBackoffs) {
  transport_.Enqueue(MakeHttpResponse(503));
  transport_.Enqueue(MakeHttpResponse(502));
  transport_.Enqueue(MakeHttpResponse(200, "ok"));
  auto out = Start(ReadSpec(), Get());
  EXPECT_EQ(transport_.num_calls(), 1);
  clock_.Advance(absl::Milliseconds(99));
  EXPECT_EQ(transport_.num_calls(), 1);
  clock_.Advance(absl::Milliseconds(1));  // 100 ms: first backoff cap.
  EXPECT_EQ(transport_.num_calls(), 2);
  clock_.Advance(absl::Milliseconds(199));
  EXPECT_EQ(transport_.num_calls(), 2);
  clock_.Advance(absl::Milliseconds(1));  // 200 ms: second cap.
  EXPECT_EQ(transport_.num_calls(), 3);
  ASSERT_TRUE(out->has_value());
  EXPECT_EQ((*out)->response->body, "ok");
  EXPECT_EQ((*out)->attempts, 3);
}

TEST_F(UpstreamChainTest, BackoffWithSeededRandomStaysUnderTheCap) {
  SeededRandom seeded(1234);
  UpstreamChain caller(UpstreamChainOptions{}, &transport_, &tokens_, nullptr,
                       /*limit=*/nullptr, &clock_, &seeded);
  transport_.Enqueue(MakeHttpResponse(503));
  transport_.Enqueue(MakeHttpResponse(200));
  std::optional<CallOutcome> out;
  caller.Call(ReadSpec(), Get(), {},
              [&](CallOutcome o) { out = std::move(o); });
  absl::Time due = clock_.next_due();
  ASSERT_NE(due, absl::InfiniteFuture());
  EXPECT_LE(due - clock_.Now(), absl::Milliseconds(100));
  clock_.Advance(absl::Milliseconds(100));
  ASSERT_TRUE(out.has_value());
  EXPECT_EQ(out->attempts, 2);
}

TEST_F(UpstreamChainTest, ReadRetriedOnConnectionErrors) {
  transport_.Enqueue(
      absl::UnavailableError("reset"));  // May have reached the server: a read.
  transport_.Enqueue(MakeHttpResponse(200));
  auto out = Start(ReadSpec(), Get());
  clock_.Advance(absl::Seconds(1));
  ASSERT_TRUE(out->has_value());
  EXPECT_EQ((*out)->response->status, 200);
  EXPECT_EQ((*out)->attempts, 2);
}

TEST_F(UpstreamChainTest, AttemptsAreCappedAndLastResponseReturned) {
  for (int i = 0; i < 10; ++i)
    transport_.Enqueue(MakeHttpResponse(503, absl::StrCat(i)));
  auto out = Start(ReadSpec(), Get());
  clock_.Advance(absl::Seconds(60));
  ASSERT_TRUE(out->has_value());
  EXPECT_EQ((*out)->attempts, 4);
  EXPECT_EQ((*out)->response->status, 503);
  EXPECT_EQ((*out)->response->body, "3");
  EXPECT_EQ(transport_.num_calls(), 4);
}

TEST_F(UpstreamChainTest, PerCallMaxAttemptsOverrideIsCapped) {
  for (int i = 0; i < 20; ++i) transport_.Enqueue(MakeHttpResponse(503));
  CallContext one;
  one.options.max_attempts = 1;
  auto a = Start(ReadSpec(), Get(), one);
  EXPECT_EQ((*a)->attempts, 1);
  CallContext many;
  many.options.max_attempts = 100;
  auto b = Start(ReadSpec(), Get(), many);
  clock_.Advance(absl::Seconds(60));
  EXPECT_EQ((*b)->attempts, 4);
}

TEST_F(UpstreamChainTest, RetryAfterIsRespected) {
  transport_.Enqueue(MakeHttpResponse(429, "", {{"Retry-After", "2"}}));
  transport_.Enqueue(MakeHttpResponse(200));
  auto out = Start(ReadSpec(), Get());
  clock_.Advance(absl::Milliseconds(1999));
  EXPECT_EQ(transport_.num_calls(), 1);
  clock_.Advance(absl::Milliseconds(1));
  EXPECT_EQ(transport_.num_calls(), 2);
  EXPECT_EQ((*out)->response->status, 200);
}

TEST_F(UpstreamChainTest, RetryAfterBeyondTheDeadlineIsNotRetried) {
  transport_.Enqueue(MakeHttpResponse(503, "busy", {{"Retry-After", "30"}}));
  CallContext ctx;
  ctx.deadline = clock_.Now() + absl::Seconds(10);
  auto out = Start(ReadSpec(), Get(), ctx);
  ASSERT_TRUE(out->has_value());  // At once: no point waiting.
  EXPECT_EQ((*out)->response->status, 503);
  EXPECT_EQ((*out)->attempts, 1);
}

TEST_F(UpstreamChainTest, NoAttemptStartsAfterTheDeadline) {
  transport_.Enqueue(MakeHttpResponse(503));
  transport_.Enqueue(MakeHttpResponse(503));
  CallContext ctx;
  ctx.deadline = clock_.Now() +
                 absl::Milliseconds(250);  // Room for the 100 ms backoff only.
  auto out = Start(ReadSpec(), Get(), ctx);
  clock_.Advance(absl::Milliseconds(100));
  ASSERT_TRUE(out->has_value());
  EXPECT_EQ((*out)->attempts, 2);
  EXPECT_EQ((*out)->response->status, 503);
  EXPECT_EQ(clock_.pending_timers(), 0);
}

TEST_F(UpstreamChainTest, BudgetExhaustionStopsRetries) {
  UpstreamChainOptions options;
  options.budget = {0.0, 1,
                    1000};  // One retry per second, nothing from the ratio.
  Rebuild(options);
  for (int i = 0; i < 10; ++i) transport_.Enqueue(MakeHttpResponse(503));
  auto out = Start(ReadSpec(), Get());
  clock_.Advance(absl::Milliseconds(150));
  ASSERT_TRUE(out->has_value());
  EXPECT_EQ((*out)->attempts, 2);  // One retry, then the budget said no.
  EXPECT_EQ((*out)->response->status, 503);
}

TEST_F(UpstreamChainTest, AttemptDeadlineIsMinOfCallDeadlineAndAttemptTimeout) {
  UpstreamChainOptions options;
  options.attempt_timeout = absl::Seconds(2);
  Rebuild(options);
  transport_.Enqueue(MakeHttpResponse(200));
  transport_.Enqueue(MakeHttpResponse(200));
  CallContext ctx;
  ctx.deadline = clock_.Now() + absl::Seconds(10);
  Start(ReadSpec(), Get(), ctx);
  ctx.deadline = clock_.Now() + absl::Seconds(1);
  Start(ReadSpec(), Get(), ctx);
  auto options_seen = transport_.options();
  EXPECT_EQ(options_seen[0].deadline, clock_.Now() + absl::Seconds(2));
  EXPECT_EQ(options_seen[1].deadline, clock_.Now() + absl::Seconds(1));
}

TEST_F(UpstreamChainTest, DeadlineWhileInFlight) {
  transport_.set_hold(true);
  CallContext ctx;
  ctx.deadline = clock_.Now() + absl::Seconds(1);
  auto out = Start(ReadSpec(), Get(), ctx);
  clock_.Advance(absl::Seconds(1));
  ASSERT_TRUE(out->has_value());
  EXPECT_EQ((*out)->response.status().code(),
            absl::StatusCode::kDeadlineExceeded);
  EXPECT_EQ(transport_.num_calls(), 1);
}

TEST_F(UpstreamChainTest, KeyedWriteKeepsTheSameGeneratedKeyAcrossAttempts) {
  transport_.Enqueue(MakeHttpResponse(503));
  transport_.Enqueue(absl::UnavailableError("connection reset"));
  transport_.Enqueue(MakeHttpResponse(201));
  auto out = Start(WriteSpec(/*idempotent=*/true), Post());
  clock_.Advance(absl::Seconds(5));
  ASSERT_TRUE(out->has_value());
  EXPECT_EQ((*out)->response->status, 201);
  EXPECT_EQ((*out)->attempts, 3);
  const std::string key = (*out)->idempotency_key;
  EXPECT_EQ(key.size(), 36u);
  for (const HttpRequest& r : transport_.requests()) {
    ASSERT_NE(FindHeader(r.headers, "Idempotency-Key"), nullptr);
    EXPECT_EQ(*FindHeader(r.headers, "Idempotency-Key"), key);
    EXPECT_EQ(r.body, R"({"postings":[]})");
  }
}

TEST_F(UpstreamChainTest, CallersKeyIsKept) {
  transport_.Enqueue(MakeHttpResponse(503));
  transport_.Enqueue(MakeHttpResponse(201));
  HttpRequest request = Post();
  request.headers.emplace_back("Idempotency-Key", "caller-key-1");
  auto out = Start(WriteSpec(true), request);
  clock_.Advance(absl::Seconds(1));
  EXPECT_EQ((*out)->idempotency_key, "caller-key-1");
  ASSERT_EQ(transport_.num_calls(), 2);
  for (const HttpRequest& r : transport_.requests()) {
    EXPECT_EQ(*FindHeader(r.headers, "Idempotency-Key"), "caller-key-1");
  }
}

TEST_F(UpstreamChainTest, UnkeyedWriteNotRetriedAfter503) {
  transport_.Enqueue(MakeHttpResponse(503));
  transport_.Enqueue(MakeHttpResponse(201));
  auto out = Start(WriteSpec(false), Post());
  clock_.Advance(absl::Seconds(5));
  EXPECT_EQ((*out)->attempts, 1);
  EXPECT_EQ((*out)->response->status, 503);
  EXPECT_EQ(FindHeader(transport_.request(0).headers, "Idempotency-Key"),
            nullptr);
  EXPECT_TRUE((*out)->idempotency_key.empty());
}

TEST_F(UpstreamChainTest, UnkeyedWriteNotRetriedAfterMaybeSentError) {
  transport_.Enqueue(absl::UnavailableError("connection reset by peer"));
  transport_.Enqueue(MakeHttpResponse(201));
  auto out = Start(WriteSpec(false), Post());
  clock_.Advance(absl::Seconds(5));
  EXPECT_EQ((*out)->attempts, 1);
  EXPECT_EQ((*out)->response.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_THAT(std::string((*out)->response.status().message()),
              HasSubstr(kMayHaveBeenAppliedMessage));
  EXPECT_EQ(transport_.num_calls(), 1);
}

TEST_F(UpstreamChainTest, UnkeyedWriteRetriedAfterNotSentError) {
  transport_.Enqueue(MarkNotSent(absl::UnavailableError("connection refused")));
  transport_.Enqueue(MakeHttpResponse(201));
  auto out = Start(WriteSpec(false), Post());
  clock_.Advance(absl::Seconds(1));
  EXPECT_EQ((*out)->attempts, 2);
  EXPECT_EQ((*out)->response->status, 201);
}

TEST_F(UpstreamChainTest, UnkeyedWriteAttemptTimeoutIsFinal) {
  UpstreamChainOptions options;
  options.attempt_timeout = absl::Seconds(1);
  Rebuild(options);
  transport_.set_hold(true);
  auto out = Start(WriteSpec(false), Post());
  clock_.Advance(absl::Seconds(
      1));  // FakeTransport fires DEADLINE_EXCEEDED at the attempt deadline.
  ASSERT_TRUE(out->has_value());
  EXPECT_EQ((*out)->response.status().code(),
            absl::StatusCode::kDeadlineExceeded);
  EXPECT_THAT(std::string((*out)->response.status().message()),
              HasSubstr(kMayHaveBeenAppliedMessage));
  EXPECT_EQ(transport_.num_calls(), 1);
}

TEST_F(UpstreamChainTest, Unauthorized401RefreshesOnceAndReplaysOnce) {
  transport_.Enqueue(MakeHttpResponse(401));
  transport_.Enqueue(MakeHttpResponse(201));
  auto out = Start(WriteSpec(false),
                   Post());  // Even an unkeyed write: a 401 was not applied.
  ASSERT_TRUE(out->has_value());
  EXPECT_EQ((*out)->response->status, 201);
  EXPECT_EQ((*out)->attempts, 2);
  EXPECT_EQ(tokens_.invalidated(), std::vector<std::string>{"tok-1"});
  EXPECT_EQ(*FindHeader(transport_.request(0).headers, "Authorization"),
            "Bearer tok-1");
  EXPECT_EQ(*FindHeader(transport_.request(1).headers, "Authorization"),
            "Bearer tok-2");
}

TEST_F(UpstreamChainTest, Second401IsReturned) {
  transport_.Enqueue(MakeHttpResponse(401));
  transport_.Enqueue(MakeHttpResponse(401));
  transport_.Enqueue(MakeHttpResponse(200));
  auto out = Start(ReadSpec(), Get());
  clock_.Advance(absl::Seconds(5));
  EXPECT_EQ((*out)->response->status, 401);
  EXPECT_EQ((*out)->attempts, 2);
  EXPECT_EQ(tokens_.invalidated().size(), 1u);
}

TEST_F(UpstreamChainTest, TokenErrorEndsTheCall) {
  tokens_.set_error(absl::UnauthenticatedError(
      "token request rejected: HTTP 401 (invalid_client)"));
  auto out = Start(ReadSpec(), Get());
  ASSERT_TRUE(out->has_value());
  EXPECT_EQ((*out)->response.status().code(),
            absl::StatusCode::kUnauthenticated);
  EXPECT_EQ(transport_.num_calls(), 0);
}

TEST_F(UpstreamChainTest, CancellationDuringBackoff) {
  transport_.Enqueue(MakeHttpResponse(503));
  Cancellation cancellation;
  CallContext ctx;
  ctx.cancellation = &cancellation;
  auto out = Start(ReadSpec(), Get(), ctx);
  EXPECT_FALSE(out->has_value());
  cancellation.Cancel();
  ASSERT_TRUE(out->has_value());
  EXPECT_EQ((*out)->response.status().code(), absl::StatusCode::kCancelled);
  clock_.Advance(absl::Seconds(5));
  EXPECT_EQ(transport_.num_calls(), 1);
  EXPECT_EQ(clock_.pending_timers(), 0);
}

TEST_F(UpstreamChainTest, CancellationAbortsInFlightAttempt) {
  transport_.set_hold(true);
  Cancellation cancellation;
  CallContext ctx;
  ctx.cancellation = &cancellation;
  auto out = Start(ReadSpec(), Get(), ctx);
  EXPECT_EQ(transport_.num_pending(), 1);
  cancellation.Cancel();
  ASSERT_TRUE(out->has_value());
  EXPECT_EQ((*out)->response.status().code(), absl::StatusCode::kCancelled);
  EXPECT_EQ(transport_.num_pending(),
            0);  // The transport saw the cancellation too.
}

TEST_F(UpstreamChainTest, AlreadyCancelledNeverCallsUpstream) {
  Cancellation cancellation;
  cancellation.Cancel();
  CallContext ctx;
  ctx.cancellation = &cancellation;
  auto out = Start(ReadSpec(), Get(), ctx);
  EXPECT_EQ((*out)->response.status().code(), absl::StatusCode::kCancelled);
  EXPECT_EQ(transport_.num_calls(), 0);
}

TEST_F(UpstreamChainTest, CacheHitAndExpiry) {
  UpstreamCallSpec spec = ReadSpec();
  spec.cache_ttl = absl::Seconds(5);
  transport_.Enqueue(MakeHttpResponse(200, "v1"));
  transport_.Enqueue(MakeHttpResponse(200, "v2"));
  auto first = Start(spec, Get());
  auto second = Start(spec, Get());
  EXPECT_FALSE((*first)->cache_hit);
  EXPECT_TRUE((*second)->cache_hit);
  EXPECT_EQ((*second)->response->body, "v1");
  EXPECT_EQ((*second)->attempts, 0);
  CallContext bypass;
  bypass.options.bypass_cache = true;
  EXPECT_FALSE((*Start(spec, Get(), bypass))->cache_hit);
  clock_.Advance(absl::Seconds(5));
  transport_.Enqueue(MakeHttpResponse(200, "v3"));
  auto third = Start(spec, Get());
  EXPECT_FALSE((*third)->cache_hit);
  EXPECT_EQ((*third)->response->body, "v3");
}

TEST_F(UpstreamChainTest, IdenticalConcurrentReadsShareOneUpstreamCall) {
  UpstreamCallSpec spec = ReadSpec();
  spec.cache_ttl = absl::Seconds(5);
  transport_.set_hold(true);
  std::vector<std::shared_ptr<std::optional<CallOutcome>>> outs;
  for (int i = 0; i < 100; ++i) outs.push_back(Start(spec, Get()));
  EXPECT_EQ(transport_.num_calls(), 1);
  ASSERT_TRUE(transport_.ReleaseNext(MakeHttpResponse(200, "shared")));
  for (const auto& out : outs) {
    ASSERT_TRUE(out->has_value());
    EXPECT_EQ((*out)->response->body, "shared");
  }
}

TEST_F(UpstreamChainTest, FollowersCarryOnWhenTheLeaderIsCancelled) {
  UpstreamCallSpec spec = ReadSpec();
  spec.cache_ttl = absl::Seconds(5);
  transport_.set_hold(true);
  Cancellation cancellation;
  CallContext leader_ctx;
  leader_ctx.cancellation = &cancellation;
  auto leader = Start(spec, Get(), leader_ctx);
  auto follower = Start(spec, Get());
  cancellation.Cancel();
  EXPECT_EQ((*leader)->response.status().code(), absl::StatusCode::kCancelled);
  EXPECT_FALSE(follower->has_value());
  EXPECT_EQ(transport_.num_calls(), 2);  // The follower went upstream itself.
  ASSERT_TRUE(transport_.ReleaseNext(MakeHttpResponse(200, "own")));
  EXPECT_EQ((*follower)->response->body, "own");
}

TEST_F(UpstreamChainTest, SuccessfulWriteInvalidatesTheCache) {
  UpstreamCallSpec spec = ReadSpec();
  spec.cache_ttl = absl::Minutes(1);
  transport_.Enqueue(MakeHttpResponse(200, "before"));
  Start(spec, Get());
  EXPECT_TRUE((*Start(spec, Get()))->cache_hit);
  transport_.Enqueue(
      MakeHttpResponse(400));  // A failed write invalidates nothing.
  Start(WriteSpec(true), Post());
  EXPECT_TRUE((*Start(spec, Get()))->cache_hit);
  transport_.Enqueue(MakeHttpResponse(201));
  Start(WriteSpec(true), Post());
  transport_.Enqueue(MakeHttpResponse(200, "after"));
  auto out = Start(spec, Get());
  EXPECT_FALSE((*out)->cache_hit);
  EXPECT_EQ((*out)->response->body, "after");
}

}  // namespace
}  // namespace fgw
