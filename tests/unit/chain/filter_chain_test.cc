// FilterChain: the call scope (answer once, deadline, caller cancellation, the Exchange's
// cancellation, the outcome record) and Next, tested with scripted filters only.
#include "server/chain/filter_chain.h"

#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/synchronization/mutex.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/support/fake_clock.h"
#include "tests/unit/chain/scripted_filter.h"

namespace fgw {
namespace {

using ::fgw::testing_chain::Get;
using ::fgw::testing_chain::Response;
using ::fgw::testing_chain::ScriptedFilter;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

class OutcomeSlot {
 public:
  std::function<void(CallOutcome)> Callback() {
    return [this](CallOutcome outcome) {
      absl::MutexLock lock(&mu_);
      ++calls_;
      outcome_ = std::move(outcome);
    };
  }
  int calls() {
    absl::MutexLock lock(&mu_);
    return calls_;
  }
  CallOutcome outcome() {
    absl::MutexLock lock(&mu_);
    if (outcome_.has_value()) return *outcome_;
    CallOutcome none;
    none.response = absl::UnknownError("not answered");
    return none;
  }

 private:
  absl::Mutex mu_;
  int calls_ ABSL_GUARDED_BY(mu_) = 0;
  std::optional<CallOutcome> outcome_ ABSL_GUARDED_BY(mu_);
};

// Passes the request on with a header naming itself; records the Exchange it saw.
class TaggingFilter : public Filter {
 public:
  explicit TaggingFilter(std::string name) : name_(std::move(name)) {}
  void Send(const std::shared_ptr<Exchange>& x, HttpRequest request,
            const Next& next, ReplyCallback done) override {
    seen_.push_back(x);
    request.headers.emplace_back("X-Via", name_);
    next(x, std::move(request), std::move(done));
  }
  std::vector<std::shared_ptr<Exchange>> seen_;

 private:
  const std::string name_;
};

// Writes the outcome record, then passes the request on.
class RecordingFilter : public Filter {
 public:
  void Send(const std::shared_ptr<Exchange>& x, HttpRequest request,
            const Next& next, ReplyCallback done) override {
    x->CountAttempt();
    x->CountAttempt();
    x->MarkCacheHit();
    x->set_idempotency_key("key-1");
    next(x, std::move(request), std::move(done));
  }
};

// Registers on the Exchange's cancellation and records when it fires.
class WatchingFilter : public Filter {
 public:
  void Send(const std::shared_ptr<Exchange>& x, HttpRequest request,
            const Next& next, ReplyCallback done) override {
    x->cancellation().OnCancel([this] { ++fired_; });
    next(x, std::move(request), std::move(done));
  }
  int fired_ = 0;
};

class FilterChainTest : public ::testing::Test {
 protected:
  FilterChainTest() {
    spec_.method = "formance.ledger.v2.LedgerService/GetAccount";
    spec_.read_only = true;
  }

  // A chain of `filters` followed by a ScriptedFilter (scripted_).
  void Build(std::vector<std::unique_ptr<Filter>> filters = {}) {
    auto scripted = std::make_unique<ScriptedFilter>();
    scripted_ = scripted.get();
    filters.push_back(std::move(scripted));
    chain_ = std::make_unique<FilterChain>(std::move(filters), &clock_);
  }

  void Start(CallContext ctx = {}, HttpRequest request = Get()) {
    chain_->Call(spec_, std::move(request), ctx, slot_.Callback());
  }

  CallContext WithDeadline(absl::Duration d, Cancellation* c = nullptr) {
    CallContext ctx;
    ctx.deadline = clock_.Now() + d;
    ctx.cancellation = c;
    return ctx;
  }

  FakeClock clock_;
  UpstreamCallSpec spec_;
  std::unique_ptr<FilterChain> chain_;
  ScriptedFilter* scripted_ = nullptr;
  OutcomeSlot slot_;
};

TEST_F(FilterChainTest, TheFilterReplyIsTheAnswer) {
  Build();
  scripted_->Enqueue(Response(200, "ok"));
  Start(WithDeadline(absl::Seconds(5)));
  ASSERT_EQ(slot_.calls(), 1);
  ASSERT_TRUE(slot_.outcome().response.ok());
  EXPECT_EQ(slot_.outcome().response->status, 200);
  EXPECT_EQ(slot_.outcome().response->body, "ok");
  EXPECT_EQ(scripted_->num_calls(), 1);
  // The deadline timer went with the answer.
  EXPECT_EQ(clock_.pending_timers(), 0);
  clock_.Advance(absl::Seconds(10));
  EXPECT_EQ(slot_.calls(), 1);
}

TEST_F(FilterChainTest, AnyHttpStatusIsAnOkAnswer) {
  Build();
  scripted_->Enqueue(Response(503));
  Start();
  ASSERT_TRUE(slot_.outcome().response.ok());
  EXPECT_EQ(slot_.outcome().response->status, 503);
}

TEST_F(FilterChainTest, ErrorsFromTheFiltersAreTheAnswer) {
  Build();
  scripted_->Enqueue(absl::UnavailableError("connection refused"));
  Start();
  EXPECT_EQ(slot_.outcome().response.status().code(),
            absl::StatusCode::kUnavailable);
  EXPECT_EQ(slot_.outcome().response.status().message(), "connection refused");
}

TEST_F(FilterChainTest, DeadlineAlreadyPassedAnswersBeforeAnyFilterRuns) {
  auto watching = std::make_unique<WatchingFilter>();
  auto tagging = std::make_unique<TaggingFilter>("a");
  TaggingFilter* tag = tagging.get();
  std::vector<std::unique_ptr<Filter>> filters;
  filters.push_back(std::move(tagging));
  filters.push_back(std::move(watching));
  Build(std::move(filters));
  scripted_->Enqueue(Response(200));
  Start(WithDeadline(absl::ZeroDuration()));
  ASSERT_EQ(slot_.calls(), 1);
  EXPECT_EQ(slot_.outcome().response.status().code(),
            absl::StatusCode::kDeadlineExceeded);
  EXPECT_THAT(slot_.outcome().response.status().message(),
              HasSubstr("before the upstream call"));
  EXPECT_TRUE(tag->seen_.empty());
  EXPECT_EQ(scripted_->num_calls(), 0);
  EXPECT_EQ(slot_.outcome().attempts, 0);
  EXPECT_EQ(clock_.pending_timers(), 0);
}

TEST_F(FilterChainTest, DeadlineInThePastAlsoAnswersBefore) {
  Build();
  CallContext ctx;
  ctx.deadline = clock_.Now() - absl::Seconds(1);
  Start(ctx);
  EXPECT_EQ(slot_.outcome().response.status().code(),
            absl::StatusCode::kDeadlineExceeded);
  EXPECT_EQ(scripted_->num_calls(), 0);
}

TEST_F(FilterChainTest, DeadlineWhileWaitingAnswersOnceAndLateReplyIsIgnored) {
  Build();
  scripted_->set_hold(true);
  Start(WithDeadline(absl::Seconds(2)));
  EXPECT_EQ(scripted_->num_calls(), 1);
  clock_.Advance(absl::Milliseconds(1999));
  EXPECT_EQ(slot_.calls(), 0);
  clock_.Advance(absl::Milliseconds(1));
  ASSERT_EQ(slot_.calls(), 1);
  EXPECT_EQ(slot_.outcome().response.status().code(),
            absl::StatusCode::kDeadlineExceeded);
  EXPECT_THAT(slot_.outcome().response.status().message(),
              HasSubstr("waiting for the upstream"));
  // The filters were told: the Exchange is over.
  EXPECT_TRUE(scripted_->exchange(0)->over());
  // A reply after the deadline changes nothing.
  EXPECT_TRUE(scripted_->ReleaseNext(Response(200)));
  EXPECT_EQ(slot_.calls(), 1);
  EXPECT_EQ(slot_.outcome().response.status().code(),
            absl::StatusCode::kDeadlineExceeded);
}

TEST_F(FilterChainTest, CallerCancellationAnswersCancelledAndStopsTheTimer) {
  Build();
  scripted_->set_hold(true);
  Cancellation caller;
  Start(WithDeadline(absl::Seconds(2), &caller));
  EXPECT_EQ(clock_.pending_timers(), 1);
  caller.Cancel();
  ASSERT_EQ(slot_.calls(), 1);
  EXPECT_EQ(slot_.outcome().response.status().code(),
            absl::StatusCode::kCancelled);
  EXPECT_EQ(slot_.outcome().response.status().message(), "call cancelled");
  EXPECT_TRUE(scripted_->exchange(0)->over());
  EXPECT_EQ(clock_.pending_timers(), 0);
  clock_.Advance(absl::Seconds(5));
  scripted_->ReleaseNext(Response(200));
  EXPECT_EQ(slot_.calls(), 1);
  EXPECT_EQ(slot_.outcome().response.status().code(),
            absl::StatusCode::kCancelled);
}

TEST_F(FilterChainTest, AlreadyCancelledCallerRunsNoFilter) {
  Build();
  scripted_->Enqueue(Response(200));
  Cancellation caller;
  caller.Cancel();
  Start(WithDeadline(absl::Seconds(2), &caller));
  ASSERT_EQ(slot_.calls(), 1);
  EXPECT_EQ(slot_.outcome().response.status().code(),
            absl::StatusCode::kCancelled);
  EXPECT_EQ(scripted_->num_calls(), 0);
  EXPECT_EQ(clock_.pending_timers(), 0);
}

TEST_F(FilterChainTest, ReplyFirstThenCancelAndDeadlineChangeNothing) {
  Build();
  scripted_->set_hold(true);
  Cancellation caller;
  Start(WithDeadline(absl::Seconds(2), &caller));
  scripted_->ReleaseNext(Response(201));
  ASSERT_EQ(slot_.calls(), 1);
  caller.Cancel();
  clock_.Advance(absl::Seconds(5));
  EXPECT_EQ(slot_.calls(), 1);
  ASSERT_TRUE(slot_.outcome().response.ok());
  EXPECT_EQ(slot_.outcome().response->status, 201);
}

TEST_F(FilterChainTest, DeadlineFirstThenCancelChangesNothing) {
  Build();
  scripted_->set_hold(true);
  Cancellation caller;
  Start(WithDeadline(absl::Seconds(1), &caller));
  clock_.Advance(absl::Seconds(1));
  caller.Cancel();
  EXPECT_EQ(slot_.calls(), 1);
  EXPECT_EQ(slot_.outcome().response.status().code(),
            absl::StatusCode::kDeadlineExceeded);
}

TEST_F(FilterChainTest, TheExchangesCancellationFiresWhenAnswered) {
  auto watching = std::make_unique<WatchingFilter>();
  WatchingFilter* watch = watching.get();
  std::vector<std::unique_ptr<Filter>> filters;
  filters.push_back(std::move(watching));
  Build(std::move(filters));
  scripted_->set_hold(true);
  Start();
  EXPECT_EQ(watch->fired_, 0);
  EXPECT_FALSE(scripted_->exchange(0)->over());
  scripted_->ReleaseNext(Response(200));
  EXPECT_EQ(slot_.calls(), 1);
  EXPECT_EQ(watch->fired_, 1);
  EXPECT_TRUE(scripted_->exchange(0)->over());
}

TEST_F(FilterChainTest, ExchangeCancelledWhenAnsweredInline) {
  Build();
  scripted_->Enqueue(Response(200));
  Start();
  EXPECT_TRUE(scripted_->exchange(0)->over());
}

TEST_F(FilterChainTest, FiltersWatchTheExchangeNotTheCallersCancellation) {
  Build();
  scripted_->set_hold(true);
  Cancellation caller;
  Start(WithDeadline(absl::Seconds(1), &caller));
  std::shared_ptr<Exchange> x = scripted_->exchange(0);
  EXPECT_NE(&x->cancellation(), &caller);
  caller.Cancel();
  EXPECT_TRUE(x->over());
}

TEST_F(FilterChainTest, CallersCancellationMayBeDestroyedInsideDone) {
  Build();
  scripted_->set_hold(true);
  auto caller = std::make_unique<Cancellation>();
  CallContext ctx = WithDeadline(absl::Seconds(1), caller.get());
  int calls = 0;
  chain_->Call(spec_, Get(), ctx, [&](CallOutcome) {
    ++calls;
    caller.reset();  // Nothing may touch it any more.
  });
  scripted_->ReleaseNext(Response(200));
  EXPECT_EQ(calls, 1);
  EXPECT_EQ(caller, nullptr);
  clock_.Advance(absl::Seconds(2));
  EXPECT_EQ(calls, 1);
}

TEST_F(FilterChainTest, CallersCancellationMayBeDestroyedAfterADeadline) {
  Build();
  scripted_->set_hold(true);
  auto caller = std::make_unique<Cancellation>();
  Start(WithDeadline(absl::Seconds(1), caller.get()));
  clock_.Advance(absl::Seconds(1));
  ASSERT_EQ(slot_.calls(), 1);
  caller.reset();
  // The late reply and the Exchange's cancellation never reach the caller's Cancellation.
  scripted_->ReleaseNext(Response(200));
  scripted_->exchange(0)->cancellation().Cancel();
  EXPECT_EQ(slot_.calls(), 1);
}

TEST_F(FilterChainTest, OutcomeCarriesTheExchangesRecord) {
  std::vector<std::unique_ptr<Filter>> filters;
  filters.push_back(std::make_unique<RecordingFilter>());
  Build(std::move(filters));
  scripted_->Enqueue(Response(200));
  Start();
  CallOutcome outcome = slot_.outcome();
  EXPECT_EQ(outcome.attempts, 2);
  EXPECT_TRUE(outcome.cache_hit);
  EXPECT_EQ(outcome.idempotency_key, "key-1");
}

TEST_F(FilterChainTest, OutcomeRecordAlsoOnADeadline) {
  std::vector<std::unique_ptr<Filter>> filters;
  filters.push_back(std::make_unique<RecordingFilter>());
  Build(std::move(filters));
  scripted_->set_hold(true);
  Start(WithDeadline(absl::Seconds(1)));
  clock_.Advance(absl::Seconds(1));
  CallOutcome outcome = slot_.outcome();
  EXPECT_EQ(outcome.response.status().code(),
            absl::StatusCode::kDeadlineExceeded);
  EXPECT_EQ(outcome.attempts, 2);
  EXPECT_EQ(outcome.idempotency_key, "key-1");
}

TEST_F(FilterChainTest, DefaultOutcomeRecordIsEmpty) {
  Build();
  scripted_->Enqueue(Response(200));
  Start();
  EXPECT_EQ(slot_.outcome().attempts, 0);
  EXPECT_FALSE(slot_.outcome().cache_hit);
  EXPECT_TRUE(slot_.outcome().idempotency_key.empty());
}

TEST_F(FilterChainTest, EmptyChainAnswersInternal) {
  FilterChain chain({}, &clock_);
  EXPECT_EQ(chain.size(), 0u);
  chain.Call(spec_, Get(), {}, slot_.Callback());
  ASSERT_EQ(slot_.calls(), 1);
  EXPECT_EQ(slot_.outcome().response.status().code(),
            absl::StatusCode::kInternal);
}

TEST_F(FilterChainTest, ChainWhoseLastFilterPassesOnAnswersInternal) {
  std::vector<std::unique_ptr<Filter>> filters;
  filters.push_back(std::make_unique<TaggingFilter>("only"));
  FilterChain chain(std::move(filters), &clock_);
  chain.Call(spec_, Get(), {}, slot_.Callback());
  ASSERT_EQ(slot_.calls(), 1);
  EXPECT_EQ(slot_.outcome().response.status().code(),
            absl::StatusCode::kInternal);
  EXPECT_THAT(slot_.outcome().response.status().message(),
              HasSubstr("without an answer"));
}

TEST_F(FilterChainTest, FiltersRunInOrderOnOneExchange) {
  auto a = std::make_unique<TaggingFilter>("a");
  auto b = std::make_unique<TaggingFilter>("b");
  TaggingFilter* pa = a.get();
  TaggingFilter* pb = b.get();
  std::vector<std::unique_ptr<Filter>> filters;
  filters.push_back(std::move(a));
  filters.push_back(std::move(b));
  Build(std::move(filters));
  EXPECT_EQ(chain_->size(), 3u);
  scripted_->Enqueue(Response(200));
  CallContext ctx = WithDeadline(absl::Seconds(3));
  ctx.options.bypass_cache = true;
  ctx.options.max_attempts = 2;
  Start(ctx);
  std::vector<std::string> via;
  const HttpRequest sent = scripted_->request(0);
  for (const auto& [name, value] : sent.headers) {
    if (name == "X-Via") via.push_back(value);
  }
  EXPECT_THAT(via, ElementsAre("a", "b"));
  std::shared_ptr<Exchange> x = scripted_->exchange(0);
  ASSERT_EQ(pa->seen_.size(), 1u);
  ASSERT_EQ(pb->seen_.size(), 1u);
  EXPECT_EQ(pa->seen_[0], x);
  EXPECT_EQ(pb->seen_[0], x);
  // The Exchange's facts are the call's.
  EXPECT_EQ(&x->spec(), &spec_);
  EXPECT_EQ(x->deadline(), ctx.deadline);
  EXPECT_TRUE(x->options().bypass_cache);
  EXPECT_EQ(x->options().max_attempts, 2);
  EXPECT_EQ(x->clock(), &clock_);
}

TEST_F(FilterChainTest, NoDeadlineSchedulesNoTimer) {
  Build();
  scripted_->set_hold(true);
  Start();
  EXPECT_EQ(clock_.pending_timers(), 0);
  EXPECT_EQ(slot_.calls(), 0);
  scripted_->ReleaseNext(Response(200));
  EXPECT_EQ(slot_.calls(), 1);
}

TEST_F(FilterChainTest, ConcurrentCallsAreIndependent) {
  Build();
  scripted_->set_hold(true);
  OutcomeSlot first;
  OutcomeSlot second;
  chain_->Call(spec_, Get("/a"), WithDeadline(absl::Seconds(1)),
               first.Callback());
  chain_->Call(spec_, Get("/b"), WithDeadline(absl::Seconds(2)),
               second.Callback());
  EXPECT_NE(scripted_->exchange(0), scripted_->exchange(1));
  clock_.Advance(absl::Seconds(1));
  EXPECT_EQ(first.calls(), 1);
  EXPECT_EQ(second.calls(), 0);
  EXPECT_FALSE(scripted_->exchange(1)->over());
  scripted_->ReleaseNext(Response(200));  // The first's: ignored.
  scripted_->ReleaseNext(Response(204));
  ASSERT_EQ(second.calls(), 1);
  EXPECT_EQ(second.outcome().response->status, 204);
}

// Reply, caller cancellation and deadline race from three threads: one answer every time.
TEST_F(FilterChainTest, AnswersExactlyOnceWhenEverythingRaces) {
  for (int i = 0; i < 200; ++i) {
    FakeClock clock;
    auto scripted_owned = std::make_unique<ScriptedFilter>();
    ScriptedFilter* scripted = scripted_owned.get();
    scripted->set_hold(true);
    std::vector<std::unique_ptr<Filter>> filters;
    filters.push_back(std::move(scripted_owned));
    FilterChain chain(std::move(filters), &clock);
    Cancellation caller;
    CallContext ctx;
    ctx.deadline = clock.Now() + absl::Milliseconds(1);
    ctx.cancellation = &caller;
    OutcomeSlot slot;
    chain.Call(spec_, Get(), ctx, slot.Callback());
    std::thread reply([&] { scripted->ReleaseNext(Response(200)); });
    std::thread cancel([&] { caller.Cancel(); });
    std::thread deadline([&] { clock.Advance(absl::Milliseconds(1)); });
    reply.join();
    cancel.join();
    deadline.join();
    ASSERT_EQ(slot.calls(), 1) << "iteration " << i;
    EXPECT_TRUE(scripted->exchange(0)->over());
    EXPECT_EQ(clock.pending_timers(), 0);
  }
}

}  // namespace
}  // namespace fgw
