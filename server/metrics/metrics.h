// Metrics: what the gateway records about its calls, behind a small interface so the filters
// and the handler are given one (production: PrometheusMetrics, prometheus_metrics.h; tests: a
// fake, or NoMetrics()) and never know the library.
//
// What is recorded, and by whom:
//   MethodMetrics::Started / Handled   the gRPC side of a Formance call (TranscodingHandler):
//                                      grpc_server_started_total, grpc_server_handled_total,
//                                      grpc_server_handling_seconds.
//   MethodMetrics::UpstreamAttempt     one HTTP request to Formance (AttemptFilter, below the
//                                      retry filter: every attempt, 401 replays included).
//   Metrics::Retry / RetryBudgetExhausted   the retry filter's decisions.
//   Metrics::Cache                     the cache filter's lookups.
// Gauges and counters that components already keep (calls in flight, upstream connections,
// token requests) are read at scrape time by the implementation, not pushed per call.
//
// Label values are never taken from a request: a method's labels come from the compiled method
// table (ForMethod is called once per method at start), reasons and results are enums, HTTP
// statuses are reduced to their class. So a caller cannot grow the number of series.
//
// Thread safety: every method of every implementation may be called concurrently from any
// thread, and must not block (a few atomic operations, at most an uncontended lock).
// ForMethod's result is owned by the Metrics and lives as long as it.
#ifndef FGW_SERVER_METRICS_METRICS_H_
#define FGW_SERVER_METRICS_METRICS_H_

#include <string>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"

namespace fgw {

// Why a retry was made (label `reason` of fgw_upstream_retries_total).
enum class RetryReason {
  kHttp429,
  kHttp502,
  kHttp503,
  kHttp504,
  kOtherStatus,  // Another retryable HTTP status (none today; kept for safety).
  kUnavailable,  // Connection refused, reset, DNS, TLS: UNAVAILABLE from below.
  kAttemptTimeout,  // The attempt's own timeout (not the call's deadline).
};
inline constexpr int kRetryReasonCount = 7;
absl::string_view RetryReasonName(
    RetryReason reason);  // "http_429", "unavailable", ...

// A cache filter lookup (label `result` of fgw_cache_lookups_total).
enum class CacheResult { kHit, kMiss, kCoalesced };
inline constexpr int kCacheResultCount = 3;
absl::string_view CacheResultName(
    CacheResult result);  // "hit", "miss", "coalesced".

// "1xx".."5xx" for an HTTP status, "none" for 0 (no HTTP answer: connection error, timeout,
// cancelled), "other" outside 100-599.
absl::string_view HttpStatusClass(int http_status);
// Index of HttpStatusClass(status) in {1xx, 2xx, 3xx, 4xx, 5xx, none, other}.
int HttpStatusClassIndex(int http_status);
inline constexpr int kHttpStatusClassCount = 7;

// The series of one gRPC method, resolved once.
class MethodMetrics {
 public:
  virtual ~MethodMetrics() = default;
  virtual void Started() = 0;
  virtual void Handled(absl::StatusCode code, absl::Duration latency) = 0;
  // `http_status` 0: the attempt ended without an HTTP answer.
  virtual void UpstreamAttempt(int http_status, absl::Duration latency) = 0;
};

class Metrics {
 public:
  virtual ~Metrics() = default;
  // `grpc_method` "/pkg.Service/Method"; `operation_id` the spec's ("v2GetAccount"). Never
  // null; the same pointer for the same method.
  virtual MethodMetrics* ForMethod(absl::string_view grpc_method,
                                   absl::string_view operation_id) = 0;
  virtual void Retry(RetryReason reason) = 0;
  virtual void RetryBudgetExhausted() = 0;
  virtual void Cache(CacheResult result) = 0;
};

// Records nothing. Process-wide, never destroyed.
Metrics* NoMetrics();
MethodMetrics* NoMethodMetrics();

// Splits "/pkg.Service/Method" into ("pkg.Service", "Method"); ("", whole) when malformed.
std::pair<std::string, std::string> SplitGrpcMethod(
    absl::string_view grpc_method);

}  // namespace fgw

#endif  // FGW_SERVER_METRICS_METRICS_H_
