// Metrics: label names of reasons and results, HTTP status classes, method splitting, and the
// no-op implementation.
#include "server/metrics/metrics.h"

#include "gtest/gtest.h"

namespace fgw {
namespace {

TEST(MetricsTest, StatusClasses) {
  EXPECT_EQ(HttpStatusClass(0), "none");
  EXPECT_EQ(HttpStatusClass(100), "1xx");
  EXPECT_EQ(HttpStatusClass(200), "2xx");
  EXPECT_EQ(HttpStatusClass(204), "2xx");
  EXPECT_EQ(HttpStatusClass(302), "3xx");
  EXPECT_EQ(HttpStatusClass(404), "4xx");
  EXPECT_EQ(HttpStatusClass(599), "5xx");
  EXPECT_EQ(HttpStatusClass(600), "other");
  EXPECT_EQ(HttpStatusClass(99), "other");
  EXPECT_EQ(HttpStatusClass(-1), "other");
  for (int s : {0, 100, 250, 399, 404, 500, 700, -5}) {
    EXPECT_GE(HttpStatusClassIndex(s), 0);
    EXPECT_LT(HttpStatusClassIndex(s), kHttpStatusClassCount);
  }
}

TEST(MetricsTest, ReasonAndResultNames) {
  EXPECT_EQ(RetryReasonName(RetryReason::kHttp429), "http_429");
  EXPECT_EQ(RetryReasonName(RetryReason::kUnavailable), "unavailable");
  EXPECT_EQ(RetryReasonName(RetryReason::kAttemptTimeout), "attempt_timeout");
  EXPECT_EQ(CacheResultName(CacheResult::kHit), "hit");
  EXPECT_EQ(CacheResultName(CacheResult::kMiss), "miss");
  EXPECT_EQ(CacheResultName(CacheResult::kCoalesced), "coalesced");
}

TEST(MetricsTest, SplitGrpcMethod) {
  EXPECT_EQ(SplitGrpcMethod("/formance.ledger.v2.LedgerService/GetAccount"),
            std::make_pair(std::string("formance.ledger.v2.LedgerService"),
                           std::string("GetAccount")));
  EXPECT_EQ(SplitGrpcMethod("pkg.S/M"),
            std::make_pair(std::string("pkg.S"), std::string("M")));
  EXPECT_EQ(SplitGrpcMethod("nomethod"),
            std::make_pair(std::string(""), std::string("nomethod")));
  EXPECT_EQ(SplitGrpcMethod("/pkg.S/"),
            std::make_pair(std::string(""), std::string("pkg.S/")));
}

TEST(MetricsTest, NoMetricsAcceptsEverything) {
  Metrics* m = NoMetrics();
  MethodMetrics* method = m->ForMethod("/a.B/C", "op");
  ASSERT_NE(method, nullptr);
  method->Started();
  method->Handled(absl::StatusCode::kOk, absl::Seconds(1));
  method->UpstreamAttempt(200, absl::Seconds(1));
  m->Retry(RetryReason::kHttp503);
  m->RetryBudgetExhausted();
  m->Cache(CacheResult::kHit);
  EXPECT_EQ(m->ForMethod("/x.Y/Z", ""), NoMethodMetrics());
}

}  // namespace
}  // namespace fgw
