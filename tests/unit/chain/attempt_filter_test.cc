// AttemptFilter: each request below gets the call's traceparent with a new span id (and the
// tracestate), replacing any header of the same name; each attempt is recorded in the method's
// metrics with its HTTP status (0 without one) and latency on the FakeClock.
#include "server/chain/attempt_filter.h"

#include <memory>
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "server/util/random.h"
#include "server/util/trace_context.h"
#include "tests/support/fake_clock.h"
#include "tests/support/fake_metrics.h"
#include "tests/unit/chain/scripted_filter.h"

namespace fgw {
namespace {

using ::fgw::testing_chain::FilterStack;
using ::fgw::testing_chain::Get;
using ::fgw::testing_chain::ReplySlot;
using ::fgw::testing_chain::Response;

class AttemptFilterTest : public ::testing::Test {
 protected:
  AttemptFilterTest()
      : random_(11),
        stack_(std::make_unique<AttemptFilter>(&random_, &clock_)) {
    spec_.method = "formance.ledger.v2.LedgerService/GetAccount";
    spec_.read_only = true;
    spec_.metrics = metrics_.method(spec_.method);
    x_ = std::make_shared<Exchange>(&spec_, absl::InfiniteFuture(),
                                    CallOptions{}, &clock_);
  }

  std::string Header(int i, const char* name) {
    HttpRequest request = stack_.scripted().request(i);
    const std::string* v = FindHeader(request.headers, name);
    return v != nullptr ? *v : "<none>";
  }

  FakeClock clock_;
  SeededRandom random_;
  FakeMetrics metrics_;
  UpstreamCallSpec spec_;
  std::shared_ptr<Exchange> x_;
  FilterStack stack_;
};

TEST_F(AttemptFilterTest, EachAttemptGetsTheTraceWithANewSpanId) {
  TraceContext trace;
  trace.trace_id = "4bf92f3577b34da6a3ce929d0e0e4736";
  trace.parent_id = "00f067aa0ba902b7";
  trace.flags = 1;
  trace.tracestate = "congo=t61rcWkgMzE";
  x_->set_trace(trace);
  stack_.scripted().Enqueue(Response(503));
  stack_.scripted().Enqueue(Response(200));
  HttpRequest request = Get();
  request.headers.emplace_back("TraceParent", "00-forged-by-someone");
  ReplySlot first, second;
  stack_.Send(x_, request, &first);
  stack_.Send(x_, request, &second);
  ASSERT_EQ(stack_.scripted().num_calls(), 2);
  std::vector<std::string> spans;
  for (int i = 0; i < 2; ++i) {
    std::optional<TraceContext> sent =
        ParseTraceParent(Header(i, "traceparent"));
    ASSERT_TRUE(sent.has_value()) << Header(i, "traceparent");
    EXPECT_EQ(sent->trace_id, trace.trace_id);
    EXPECT_NE(sent->parent_id, trace.parent_id);  // The attempt's own span.
    EXPECT_EQ(sent->flags, 1);
    EXPECT_EQ(Header(i, "tracestate"), "congo=t61rcWkgMzE");
    spans.push_back(sent->parent_id);
    int traceparents = 0;
    for (const auto& [k, v] : stack_.scripted().request(i).headers) {
      if (k == "traceparent" || k == "TraceParent") ++traceparents;
    }
    EXPECT_EQ(traceparents, 1);  // The forged one is replaced.
  }
  EXPECT_NE(spans[0], spans[1]);
}

TEST_F(AttemptFilterTest, NoTraceNoHeaders) {
  stack_.scripted().Enqueue(Response(200));
  ReplySlot slot;
  stack_.Send(x_, Get(), &slot);
  EXPECT_EQ(Header(0, "traceparent"), "<none>");
  EXPECT_EQ(Header(0, "tracestate"), "<none>");
}

TEST_F(AttemptFilterTest, RecordsEachAttemptsStatusAndLatency) {
  stack_.scripted().set_hold(true);
  ReplySlot ok, failed;
  stack_.Send(x_, Get(), &ok);
  clock_.Advance(absl::Milliseconds(30));
  ASSERT_TRUE(stack_.scripted().ReleaseNext(Response(404)));
  stack_.Send(x_, Get(), &failed);
  clock_.Advance(absl::Milliseconds(5));
  ASSERT_TRUE(stack_.scripted().ReleaseNext(absl::UnavailableError("reset")));
  std::vector<FakeMethodMetrics::Attempt> attempts =
      metrics_.method(spec_.method)->attempts();
  ASSERT_EQ(attempts.size(), 2u);
  EXPECT_EQ(attempts[0].http_status, 404);
  EXPECT_EQ(attempts[0].latency, absl::Milliseconds(30));
  EXPECT_EQ(attempts[1].http_status, 0);
  EXPECT_EQ(attempts[1].latency, absl::Milliseconds(5));
  EXPECT_EQ(ok.reply()->status, 404);
  EXPECT_EQ(failed.reply().status().code(), absl::StatusCode::kUnavailable);
}

}  // namespace
}  // namespace fgw
