// ObserveFilter: the caller's valid trace is kept (with its tracestate), an absent or invalid
// one becomes a new trace from the injected Random; the request passes on unchanged.
#include "server/chain/observe_filter.h"

#include <memory>
#include <string>

#include "gtest/gtest.h"
#include "server/util/random.h"
#include "tests/support/fake_clock.h"
#include "tests/unit/chain/scripted_filter.h"

namespace fgw {
namespace {

using ::fgw::testing_chain::FilterStack;
using ::fgw::testing_chain::Get;
using ::fgw::testing_chain::ReplySlot;
using ::fgw::testing_chain::Response;

constexpr char kParent[] =
    "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";

class ObserveFilterTest : public ::testing::Test {
 protected:
  ObserveFilterTest()
      : random_(7), stack_(std::make_unique<ObserveFilter>(&random_)) {
    spec_.method = "formance.ledger.v2.LedgerService/GetAccount";
    spec_.read_only = true;
  }

  std::shared_ptr<Exchange> Send(std::string traceparent,
                                 std::string tracestate) {
    auto x = std::make_shared<Exchange>(&spec_, absl::InfiniteFuture(),
                                        CallOptions{}, &clock_);
    x->set_incoming_trace(std::move(traceparent), std::move(tracestate));
    stack_.scripted().Enqueue(Response(200));
    ReplySlot slot;
    stack_.Send(x, Get(), &slot);
    EXPECT_EQ(slot.calls(), 1);
    return x;
  }

  FakeClock clock_;
  SeededRandom random_;
  UpstreamCallSpec spec_;
  FilterStack stack_;
};

TEST_F(ObserveFilterTest, KeepsAValidCallerTraceAndItsTracestate) {
  auto x = Send(kParent, "congo=t61rcWkgMzE,rojo=00f067aa0ba902b7");
  ASSERT_NE(x->trace(), nullptr);
  EXPECT_EQ(x->trace()->trace_id, "4bf92f3577b34da6a3ce929d0e0e4736");
  EXPECT_EQ(x->trace()->parent_id, "00f067aa0ba902b7");
  EXPECT_EQ(x->trace()->flags, 1);
  EXPECT_EQ(x->trace()->tracestate, "congo=t61rcWkgMzE,rojo=00f067aa0ba902b7");
  EXPECT_TRUE(x->trace()->from_caller);
  // The request below is the one given: the trace goes on in the attempt filter.
  EXPECT_EQ(stack_.scripted().request(0).headers.size(), 0u);
}

TEST_F(ObserveFilterTest, NoTraceparentStartsANewSampledTrace) {
  auto x = Send("", "");
  ASSERT_NE(x->trace(), nullptr);
  EXPECT_EQ(x->trace()->trace_id.size(), 32u);
  EXPECT_NE(x->trace()->trace_id, std::string(32, '0'));
  EXPECT_TRUE(x->trace()->parent_id.empty());
  EXPECT_EQ(x->trace()->flags, 1);
  EXPECT_FALSE(x->trace()->from_caller);
}

TEST_F(ObserveFilterTest,
       AnInvalidTraceparentStartsANewTraceAndDropsTracestate) {
  auto x = Send("00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01",
                "congo=t61rcWkgMzE");
  ASSERT_NE(x->trace(), nullptr);
  EXPECT_NE(x->trace()->trace_id, "4bf92f3577b34da6a3ce929d0e0e4736");
  EXPECT_TRUE(x->trace()->tracestate.empty());
  EXPECT_FALSE(x->trace()->from_caller);
}

TEST_F(ObserveFilterTest, TwoCallsWithoutTraceGetDifferentTraces) {
  auto a = Send("", "");
  auto b = Send("", "");
  EXPECT_NE(a->trace()->trace_id, b->trace()->trace_id);
}

}  // namespace
}  // namespace fgw
