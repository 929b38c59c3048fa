// PrometheusMetrics: the text format as a scraper reads it (one sample per line, labels
// parsed), go-grpc-prometheus names and labels, lazily created per-method series, histograms,
// scrape values, and concurrent recording.
#include "server/metrics/prometheus_metrics.h"

#include <map>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_split.h"
#include "gtest/gtest.h"

namespace fgw {
namespace {

// name{k="v",...} -> value, from the text exposition format.
using Samples = std::map<std::string, double>;

Samples Parse(const std::string& text) {
  Samples samples;
  for (absl::string_view line : absl::StrSplit(text, '\n')) {
    if (line.empty() || line[0] == '#') continue;
    const size_t space = line.rfind(' ');
    EXPECT_NE(space, absl::string_view::npos) << line;
    double value = 0;
    EXPECT_TRUE(absl::SimpleAtod(line.substr(space + 1), &value)) << line;
    samples[std::string(line.substr(0, space))] = value;
  }
  return samples;
}

constexpr char kGetAccount[] = "/formance.ledger.v2.LedgerService/GetAccount";
constexpr char kLabels[] =
    "grpc_method=\"GetAccount\",grpc_service=\"formance.ledger.v2."
    "LedgerService\",grpc_type=\"unary\"";

TEST(PrometheusMetricsTest, GrpcServerSeriesAsGoGrpcPrometheusNamesThem) {
  PrometheusMetrics metrics;
  MethodMetrics* m = metrics.ForMethod(kGetAccount, "v2GetAccount");
  EXPECT_EQ(metrics.ForMethod(kGetAccount, "v2GetAccount"), m);
  for (int i = 0; i < 3; ++i) m->Started();
  m->Handled(absl::StatusCode::kOk, absl::Milliseconds(3));
  m->Handled(absl::StatusCode::kOk, absl::Milliseconds(30));
  m->Handled(absl::StatusCode::kNotFound, absl::Seconds(20));
  Samples s = Parse(metrics.Scrape());
  const std::string labels = kLabels;
  EXPECT_EQ(s["grpc_server_started_total{" + labels + "}"], 3);
  EXPECT_EQ(s["grpc_server_handled_total{grpc_code=\"OK\"," + labels + "}"], 2);
  EXPECT_EQ(
      s["grpc_server_handled_total{grpc_code=\"NotFound\"," + labels + "}"], 1);
  EXPECT_EQ(s["grpc_server_handling_seconds_count{" + labels + "}"], 3);
  EXPECT_NEAR(s["grpc_server_handling_seconds_sum{" + labels + "}"], 20.033,
              1e-9);
  EXPECT_EQ(
      s["grpc_server_handling_seconds_bucket{" + labels + ",le=\"0.005\"}"], 1);
  EXPECT_EQ(
      s["grpc_server_handling_seconds_bucket{" + labels + ",le=\"0.05\"}"], 2);
  EXPECT_EQ(s["grpc_server_handling_seconds_bucket{" + labels + ",le=\"10\"}"],
            2);
  EXPECT_EQ(
      s["grpc_server_handling_seconds_bucket{" + labels + ",le=\"+Inf\"}"], 3);
}

TEST(PrometheusMetricsTest, AnIdleMethodHasNoSeries) {
  PrometheusMetrics metrics;
  metrics.ForMethod(kGetAccount, "v2GetAccount");
  EXPECT_EQ(metrics.Scrape().find("GetAccount"), std::string::npos);
}

TEST(PrometheusMetricsTest, UpstreamByOperationAndStatusClass) {
  PrometheusMetrics metrics;
  MethodMetrics* m = metrics.ForMethod(kGetAccount, "v2GetAccount");
  m->UpstreamAttempt(200, absl::Milliseconds(2));
  m->UpstreamAttempt(204, absl::Milliseconds(2));
  m->UpstreamAttempt(503, absl::Milliseconds(2));
  m->UpstreamAttempt(0, absl::Seconds(1));
  Samples s = Parse(metrics.Scrape());
  EXPECT_EQ(s["fgw_upstream_requests_total{operation_id=\"v2GetAccount\","
              "status_class=\"2xx\"}"],
            2);
  EXPECT_EQ(s["fgw_upstream_requests_total{operation_id=\"v2GetAccount\","
              "status_class=\"5xx\"}"],
            1);
  EXPECT_EQ(s["fgw_upstream_requests_total{operation_id=\"v2GetAccount\","
              "status_class=\"none\"}"],
            1);
  EXPECT_EQ(s["fgw_upstream_request_duration_seconds_count{operation_id=\""
              "v2GetAccount\"}"],
            4);
}

TEST(PrometheusMetricsTest, RetriesBudgetAndCacheExistFromTheStart) {
  PrometheusMetrics metrics;
  Samples before = Parse(metrics.Scrape());
  EXPECT_EQ(before.count("fgw_upstream_retries_total{reason=\"http_503\"}"),
            1u);
  EXPECT_EQ(before.count("fgw_upstream_retry_budget_exhausted_total"), 1u);
  EXPECT_EQ(before.count("fgw_cache_lookups_total{result=\"hit\"}"), 1u);
  metrics.Retry(RetryReason::kHttp503);
  metrics.Retry(RetryReason::kHttp503);
  metrics.Retry(RetryReason::kAttemptTimeout);
  metrics.RetryBudgetExhausted();
  metrics.Cache(CacheResult::kHit);
  metrics.Cache(CacheResult::kCoalesced);
  Samples s = Parse(metrics.Scrape());
  EXPECT_EQ(s["fgw_upstream_retries_total{reason=\"http_503\"}"], 2);
  EXPECT_EQ(s["fgw_upstream_retries_total{reason=\"attempt_timeout\"}"], 1);
  EXPECT_EQ(s["fgw_upstream_retry_budget_exhausted_total"], 1);
  EXPECT_EQ(s["fgw_cache_lookups_total{result=\"hit\"}"], 1);
  EXPECT_EQ(s["fgw_cache_lookups_total{result=\"coalesced\"}"], 1);
  EXPECT_EQ(s["fgw_cache_lookups_total{result=\"miss\"}"], 0);
}

TEST(PrometheusMetricsTest, ScrapeValuesAreReadAtEachScrape) {
  PrometheusMetrics metrics;
  int in_flight = 3;
  ASSERT_TRUE(metrics
                  .AddScrapeValue("fgw_calls_in_flight", "help",
                                  PrometheusMetrics::ValueType::kGauge,
                                  [&in_flight] { return in_flight; })
                  .ok());
  EXPECT_EQ(metrics
                .AddScrapeValue("fgw_calls_in_flight", "again",
                                PrometheusMetrics::ValueType::kGauge,
                                [] { return 0; })
                .code(),
            absl::StatusCode::kAlreadyExists);
  EXPECT_EQ(metrics
                .AddScrapeValue("grpc_server_started_total", "taken",
                                PrometheusMetrics::ValueType::kCounter,
                                [] { return 0; })
                .code(),
            absl::StatusCode::kAlreadyExists);
  EXPECT_EQ(
      metrics
          .AddScrapeValue("bad name", "x", PrometheusMetrics::ValueType::kGauge,
                          [] { return 0; })
          .code(),
      absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(Parse(metrics.Scrape())["fgw_calls_in_flight"], 3);
  in_flight = 7;
  const std::string text = metrics.Scrape();
  EXPECT_NE(text.find("# TYPE fgw_calls_in_flight gauge"), std::string::npos);
  EXPECT_EQ(Parse(text)["fgw_calls_in_flight"], 7);
  metrics.RemoveScrapeValues();
  EXPECT_EQ(Parse(metrics.Scrape()).count("fgw_calls_in_flight"), 0u);
}

TEST(PrometheusMetricsTest, ConcurrentRecordingLosesNothing) {
  PrometheusMetrics metrics;
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&metrics] {
      for (int i = 0; i < 2000; ++i) {
        MethodMetrics* m = metrics.ForMethod(kGetAccount, "v2GetAccount");
        m->Started();
        m->Handled(static_cast<absl::StatusCode>(i % 3), absl::Milliseconds(1));
        m->UpstreamAttempt(200 + (i % 2) * 300, absl::Milliseconds(1));
      }
    });
  }
  for (auto& t : threads) t.join();
  Samples s = Parse(metrics.Scrape());
  const std::string labels = kLabels;
  EXPECT_EQ(s["grpc_server_started_total{" + labels + "}"], 8000);
  EXPECT_EQ(s["grpc_server_handling_seconds_count{" + labels + "}"], 8000);
  double handled = 0;
  for (const char* code : {"OK", "Canceled", "Unknown"}) {
    handled += s["grpc_server_handled_total{grpc_code=\"" + std::string(code) +
                 "\"," + labels + "}"];
  }
  EXPECT_EQ(handled, 8000);
}

}  // namespace
}  // namespace fgw
