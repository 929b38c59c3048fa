// TransportFilter: the deadline and cancellation it hands the Transport, and the transport's
// result as its answer (FakeTransport records the SendOptions).
#include "server/chain/transport_filter.h"

#include <memory>
#include <utility>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/support/fake_clock.h"
#include "tests/support/fake_transport.h"
#include "tests/unit/chain/scripted_filter.h"

namespace fgw {
namespace {

using ::fgw::testing_chain::Get;
using ::fgw::testing_chain::Post;
using ::fgw::testing_chain::ReplySlot;
using ::fgw::testing_chain::ScriptedFilter;

constexpr absl::Duration kAttemptTimeout = absl::Seconds(5);

class TransportFilterTest : public ::testing::Test {
 protected:
  TransportFilterTest() : transport_(&clock_) {
    spec_.method = "formance.ledger.v2.LedgerService/GetAccount";
    spec_.read_only = true;
    Build(kAttemptTimeout);
  }

  // The transport filter, then a ScriptedFilter it must never call.
  void Build(absl::Duration attempt_timeout) {
    filters_.clear();
    filters_.push_back(
        std::make_unique<TransportFilter>(&transport_, attempt_timeout));
    auto after = std::make_unique<ScriptedFilter>();
    after_ = after.get();
    filters_.push_back(std::move(after));
  }

  std::shared_ptr<Exchange> Send(HttpRequest request, ReplySlot* slot,
                                 absl::Time deadline = absl::InfiniteFuture()) {
    auto x =
        std::make_shared<Exchange>(&spec_, deadline, CallOptions{}, &clock_);
    Next(&filters_, 0)(x, std::move(request), slot->Callback());
    return x;
  }

  SendOptions options(int i) { return transport_.options().at(i); }

  FakeClock clock_;
  FakeTransport transport_;
  UpstreamCallSpec spec_;
  std::vector<std::unique_ptr<Filter>> filters_;
  ScriptedFilter* after_ = nullptr;
};

TEST_F(TransportFilterTest, AttemptTimeoutWhenTheCallDeadlineIsLater) {
  transport_.Enqueue(MakeHttpResponse(200));
  ReplySlot slot;
  const absl::Time start = clock_.Now();
  Send(Get(), &slot, start + absl::Seconds(30));
  ASSERT_EQ(transport_.num_calls(), 1);
  EXPECT_EQ(options(0).deadline, start + kAttemptTimeout);
}

TEST_F(TransportFilterTest, CallDeadlineWhenItIsEarlier) {
  transport_.Enqueue(MakeHttpResponse(200));
  ReplySlot slot;
  const absl::Time deadline = clock_.Now() + absl::Seconds(2);
  Send(Get(), &slot, deadline);
  EXPECT_EQ(options(0).deadline, deadline);
}

TEST_F(TransportFilterTest, AttemptTimeoutWithoutACallDeadline) {
  transport_.Enqueue(MakeHttpResponse(200));
  ReplySlot slot;
  Send(Get(), &slot);
  EXPECT_EQ(options(0).deadline, clock_.Now() + kAttemptTimeout);
}

TEST_F(TransportFilterTest, NoDeadlineAtAllWhenBothAreInfinite) {
  Build(absl::InfiniteDuration());
  transport_.Enqueue(MakeHttpResponse(200));
  ReplySlot slot;
  Send(Get(), &slot);
  EXPECT_EQ(options(0).deadline, absl::InfiniteFuture());
}

TEST_F(TransportFilterTest, AttemptTimeoutCountsFromEachSend) {
  transport_.Enqueue(MakeHttpResponse(503));
  transport_.Enqueue(MakeHttpResponse(200));
  const absl::Time deadline = clock_.Now() + absl::Seconds(7);
  ReplySlot first;
  ReplySlot second;
  auto x = std::make_shared<Exchange>(&spec_, deadline, CallOptions{}, &clock_);
  Next(&filters_, 0)(x, Get(), first.Callback());
  clock_.Advance(absl::Seconds(1));
  Next(&filters_, 0)(x, Get(), second.Callback());
  EXPECT_EQ(options(0).deadline, deadline - absl::Seconds(2));
  EXPECT_EQ(options(1).deadline, deadline - absl::Seconds(1));
  clock_.Advance(absl::Seconds(1));
  Next(&filters_, 0)(x, Get(), second.Callback());
  EXPECT_EQ(options(2).deadline, deadline);  // min(7 s, 2 s + 5 s).
}

TEST_F(TransportFilterTest, TheCancellationPassedIsTheExchanges) {
  transport_.Enqueue(MakeHttpResponse(200));
  ReplySlot slot;
  auto x = Send(Get(), &slot);
  EXPECT_EQ(options(0).cancellation, &x->cancellation());
}

TEST_F(TransportFilterTest, RequestGoesOutUnchangedAndNextIsNeverCalled) {
  transport_.Enqueue(MakeHttpResponse(201, "created"));
  HttpRequest request = Post();
  request.headers.emplace_back("Idempotency-Key", "k");
  ReplySlot slot;
  Send(request, &slot);
  ASSERT_EQ(transport_.num_calls(), 1);
  HttpRequest sent = transport_.request(0);
  EXPECT_EQ(sent.method, request.method);
  EXPECT_EQ(sent.path_and_query, request.path_and_query);
  EXPECT_EQ(sent.headers, request.headers);
  EXPECT_EQ(sent.body, request.body);
  EXPECT_EQ(after_->num_calls(), 0);
  ASSERT_EQ(slot.calls(), 1);
  EXPECT_EQ(slot.reply()->status, 201);
  EXPECT_EQ(slot.reply()->body, "created");
}

TEST_F(TransportFilterTest, TransportErrorsAreTheAnswerWithTheirPayload) {
  transport_.Enqueue(MarkNotSent(absl::UnavailableError("connection refused")));
  ReplySlot slot;
  Send(Get(), &slot);
  ASSERT_EQ(slot.calls(), 1);
  EXPECT_EQ(slot.reply().status().code(), absl::StatusCode::kUnavailable);
  EXPECT_FALSE(RequestMayHaveReachedServer(slot.reply().status()));
}

TEST_F(TransportFilterTest, CancellingTheExchangeStopsTheRequest) {
  transport_.set_hold(true);
  ReplySlot slot;
  auto x = Send(Get(), &slot);
  EXPECT_EQ(transport_.num_pending(), 1);
  x->cancellation().Cancel();
  ASSERT_EQ(slot.calls(), 1);
  EXPECT_EQ(slot.reply().status().code(), absl::StatusCode::kCancelled);
  EXPECT_EQ(transport_.num_pending(), 0);
}

TEST_F(TransportFilterTest, TheAttemptTimesOutOnTheClock) {
  transport_.set_hold(true);
  ReplySlot slot;
  Send(Get(), &slot, clock_.Now() + absl::Seconds(60));
  clock_.Advance(kAttemptTimeout - absl::Milliseconds(1));
  EXPECT_FALSE(slot.answered());
  clock_.Advance(absl::Milliseconds(1));
  ASSERT_EQ(slot.calls(), 1);
  EXPECT_EQ(slot.reply().status().code(), absl::StatusCode::kDeadlineExceeded);
}

TEST_F(TransportFilterTest, TheExchangeLivesWhileTheRequestIsOnTheWire) {
  transport_.set_hold(true);
  ReplySlot slot;
  std::weak_ptr<Exchange> weak;
  {
    auto x = Send(Get(), &slot);
    weak = x;
  }
  // The transport watches &x->cancellation(): the Exchange must still be there.
  EXPECT_FALSE(weak.expired());
  ASSERT_TRUE(transport_.ReleaseNext(MakeHttpResponse(200)));
  EXPECT_EQ(slot.calls(), 1);
  EXPECT_TRUE(weak.expired());
}

}  // namespace
}  // namespace fgw
