// AdmissionFilter: calls in flight, in isolation (above a ScriptedFilter) and as the first
// filter of a FilterChain.
#include "server/chain/admission_filter.h"

#include <memory>
#include <utility>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "server/chain/filter_chain.h"
#include "tests/support/fake_clock.h"
#include "tests/unit/chain/scripted_filter.h"

namespace fgw {
namespace {

using ::fgw::testing_chain::FilterStack;
using ::fgw::testing_chain::Get;
using ::fgw::testing_chain::ReplySlot;
using ::fgw::testing_chain::Response;
using ::fgw::testing_chain::ScriptedFilter;
using ::testing::HasSubstr;

class AdmissionFilterTest : public ::testing::Test {
 protected:
  AdmissionFilterTest()
      : limit_(2), stack_(std::make_unique<AdmissionFilter>(&limit_)) {
    spec_.method = "formance.ledger.v2.LedgerService/GetAccount";
    spec_.read_only = true;
  }

  std::shared_ptr<Exchange> NewExchange() {
    return std::make_shared<Exchange>(&spec_, absl::InfiniteFuture(),
                                      CallOptions{}, &clock_);
  }

  FakeClock clock_;
  UpstreamCallSpec spec_;
  CallsInFlight limit_;
  FilterStack stack_;
};

TEST_F(AdmissionFilterTest, UnderTheLimitPassesThroughAndHoldsAPlace) {
  stack_.scripted().set_hold(true);
  auto x = NewExchange();
  ReplySlot slot;
  HttpRequest request = Get("/api/ledger/v2/l1/accounts/a?x=1");
  request.headers = {{"Accept", "application/json"}};
  stack_.Send(x, request, &slot);
  EXPECT_EQ(limit_.current(), 1);
  ASSERT_EQ(stack_.scripted().num_calls(), 1);
  EXPECT_EQ(stack_.scripted().exchange(0), x);
  EXPECT_EQ(stack_.scripted().request(0).path_and_query,
            request.path_and_query);
  EXPECT_EQ(stack_.scripted().request(0).headers, request.headers);
  EXPECT_FALSE(slot.answered());

  ASSERT_TRUE(stack_.scripted().ReleaseNext(Response(200, "body")));
  ASSERT_EQ(slot.calls(), 1);
  ASSERT_TRUE(slot.reply().ok());
  EXPECT_EQ(slot.reply()->body, "body");
  EXPECT_EQ(limit_.current(), 0);
}

TEST_F(AdmissionFilterTest, PlaceIsFreeBeforeTheCallerIsAnswered) {
  int current_in_done = -1;
  std::vector<std::unique_ptr<Filter>> filters;
  filters.push_back(std::make_unique<AdmissionFilter>(&limit_));
  auto scripted = std::make_unique<ScriptedFilter>();
  ScriptedFilter* below = scripted.get();
  below->set_hold(true);
  filters.push_back(std::move(scripted));
  Next(&filters, 0)(NewExchange(), Get(),
                    [&](Reply) { current_in_done = limit_.current(); });
  EXPECT_EQ(limit_.current(), 1);
  below->ReleaseNext(Response(200));
  EXPECT_EQ(current_in_done, 0);
}

TEST_F(AdmissionFilterTest, InlineReplyFreesThePlace) {
  stack_.scripted().Enqueue(Response(204));
  ReplySlot slot;
  stack_.Send(NewExchange(), Get(), &slot);
  ASSERT_EQ(slot.calls(), 1);
  EXPECT_EQ(slot.reply()->status, 204);
  EXPECT_EQ(limit_.current(), 0);
}

TEST_F(AdmissionFilterTest, OverTheLimitIsResourceExhaustedAndGoesNoFurther) {
  stack_.scripted().set_hold(true);
  ReplySlot first;
  ReplySlot second;
  ReplySlot third;
  stack_.Send(NewExchange(), Get(), &first);
  stack_.Send(NewExchange(), Get(), &second);
  EXPECT_EQ(limit_.current(), 2);
  stack_.Send(NewExchange(), Get(), &third);
  ASSERT_EQ(third.calls(), 1);  // At once.
  EXPECT_EQ(third.reply().status().code(),
            absl::StatusCode::kResourceExhausted);
  EXPECT_THAT(third.reply().status().message(),
              HasSubstr("limits.max_calls_in_flight"));
  EXPECT_EQ(stack_.scripted().num_calls(), 2);  // Nothing reached the next one.
  EXPECT_EQ(limit_.current(), 2);  // The refused call took no place.
  EXPECT_FALSE(first.answered());
  EXPECT_FALSE(second.answered());
}

TEST_F(AdmissionFilterTest, AReplyMakesRoomForTheNextCall) {
  stack_.scripted().set_hold(true);
  ReplySlot a, b, refused, admitted;
  stack_.Send(NewExchange(), Get(), &a);
  stack_.Send(NewExchange(), Get(), &b);
  stack_.Send(NewExchange(), Get(), &refused);
  EXPECT_EQ(refused.reply().status().code(),
            absl::StatusCode::kResourceExhausted);
  stack_.scripted().ReleaseNext(Response(200));
  EXPECT_EQ(limit_.current(), 1);
  stack_.Send(NewExchange(), Get(), &admitted);
  EXPECT_FALSE(admitted.answered());
  EXPECT_EQ(stack_.scripted().num_calls(), 3);
  EXPECT_EQ(limit_.current(), 2);
}

TEST_F(AdmissionFilterTest, ErrorRepliesFreeThePlaceToo) {
  stack_.scripted().set_hold(true);
  ReplySlot slot;
  stack_.Send(NewExchange(), Get(), &slot);
  stack_.scripted().ReleaseNext(absl::UnavailableError("down"));
  EXPECT_EQ(slot.reply().status().code(), absl::StatusCode::kUnavailable);
  EXPECT_EQ(limit_.current(), 0);
}

// As the first filter of a chain: a deadline answers the caller, the filters below answer
// CANCELLED when the Exchange is cancelled, and the place is freed then.
TEST_F(AdmissionFilterTest, InAChainThePlaceFreesWhenTheCallIsOver) {
  CallsInFlight limit(1);
  std::vector<std::unique_ptr<Filter>> filters;
  filters.push_back(std::make_unique<AdmissionFilter>(&limit));
  auto scripted = std::make_unique<ScriptedFilter>();
  ScriptedFilter* below = scripted.get();
  below->set_hold(true);
  below->set_answer_on_cancel(true);
  filters.push_back(std::move(scripted));
  FilterChain chain(std::move(filters), &clock_);

  CallContext ctx;
  ctx.deadline = clock_.Now() + absl::Seconds(1);
  int answers = 0;
  absl::StatusCode code = absl::StatusCode::kOk;
  chain.Call(spec_, Get(), ctx, [&](CallOutcome outcome) {
    ++answers;
    code = outcome.response.status().code();
  });
  EXPECT_EQ(limit.current(), 1);

  int refused = 0;
  chain.Call(spec_, Get(), {}, [&](CallOutcome outcome) {
    if (outcome.response.status().code() ==
        absl::StatusCode::kResourceExhausted) {
      ++refused;
    }
  });
  EXPECT_EQ(refused, 1);
  EXPECT_EQ(below->num_calls(), 1);

  clock_.Advance(absl::Seconds(1));
  EXPECT_EQ(answers, 1);
  EXPECT_EQ(code, absl::StatusCode::kDeadlineExceeded);
  EXPECT_EQ(limit.current(), 0);
}

}  // namespace
}  // namespace fgw

namespace fgw {
namespace {

using ::fgw::testing_chain::FilterStack;
using ::fgw::testing_chain::Get;
using ::fgw::testing_chain::ReplySlot;
using ::fgw::testing_chain::Response;

// The caller policy comes first: a refused call costs no place and reaches nothing below.
class AdmissionFilterPolicyTest : public ::testing::Test {
 protected:
  AdmissionFilterPolicyTest() : limit_(10) {
    spec_.method = "/formance.ledger.v2.LedgerService/CreateTransaction";
    PolicyStoreOptions options;
    options.methods = {
        {"formance.ledger.v2.LedgerService/CreateTransaction", false, false}};
    options.inline_yaml =
        "callers:\n"
        "  writer:\n    api_keys_sha256: [" +
        Sha256Hex("wk") +
        "]\n    roles: [all]\n    max_in_flight: 1\n"
        "  reader:\n    api_keys_sha256: [" +
        Sha256Hex("rk") + "]\n    roles: [read-only]\n";
    auto store = PolicyStore::Create(std::move(options), &clock_);
    EXPECT_TRUE(store.ok()) << store.status();
    policy_ = *std::move(store);
    stack_ = std::make_unique<FilterStack>(
        std::make_unique<AdmissionFilter>(&limit_, policy_.get()));
  }

  std::shared_ptr<Exchange> WithKey(const std::string& key) {
    CallerCredential c;
    c.api_key = key;
    return std::make_shared<Exchange>(&spec_, absl::InfiniteFuture(),
                                      CallOptions{}, &clock_, c);
  }

  FakeClock clock_;
  UpstreamCallSpec spec_;
  CallsInFlight limit_;
  std::unique_ptr<PolicyStore> policy_;
  std::unique_ptr<FilterStack> stack_;
};

TEST_F(AdmissionFilterPolicyTest, RefusalsReachNothingBelow) {
  for (auto [key, code] :
       {std::pair{"", absl::StatusCode::kUnauthenticated},
        std::pair{"wrong", absl::StatusCode::kUnauthenticated},
        std::pair{"rk", absl::StatusCode::kPermissionDenied}}) {
    ReplySlot slot;
    stack_->Send(WithKey(key), Get(), &slot);
    ASSERT_EQ(slot.calls(), 1) << key;
    EXPECT_EQ(slot.reply().status().code(), code) << key;
  }
  EXPECT_EQ(stack_->scripted().num_calls(), 0);
  EXPECT_EQ(limit_.current(), 0);
}

TEST_F(AdmissionFilterPolicyTest, TheCallersIdentityIsRecordedForTheLogLine) {
  stack_->scripted().Enqueue(Response(200));
  ReplySlot slot;
  auto x = WithKey("wk");
  stack_->Send(x, Get(), &slot);
  ASSERT_EQ(slot.calls(), 1);
  EXPECT_EQ(x->caller_identity(), "writer");
  auto refused = WithKey("wrong");
  ReplySlot no;
  stack_->Send(refused, Get(), &no);
  EXPECT_EQ(refused->caller_identity(), "");
}

TEST_F(AdmissionFilterPolicyTest, TheCallersPlaceIsHeldUntilTheReply) {
  stack_->scripted().set_hold(true);
  ReplySlot first;
  stack_->Send(WithKey("wk"), Get(), &first);
  EXPECT_EQ(stack_->scripted().num_calls(), 1);
  EXPECT_EQ(limit_.current(), 1);
  ReplySlot second;
  stack_->Send(WithKey("wk"), Get(), &second);
  ASSERT_EQ(second.calls(), 1);
  EXPECT_EQ(second.reply().status().code(),
            absl::StatusCode::kResourceExhausted);
  EXPECT_EQ(limit_.current(), 1);  // The refused call took no gateway place.
  ASSERT_TRUE(stack_->scripted().ReleaseNext(Response(200)));
  ASSERT_EQ(first.calls(), 1);
  EXPECT_TRUE(first.reply().ok());
  ReplySlot third;
  stack_->Send(WithKey("wk"), Get(), &third);
  EXPECT_EQ(stack_->scripted().num_calls(), 2);
  ASSERT_TRUE(stack_->scripted().ReleaseNext(Response(200)));
  EXPECT_TRUE(third.reply().ok());
}

}  // namespace
}  // namespace fgw
