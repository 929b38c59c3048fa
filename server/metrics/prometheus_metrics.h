// PrometheusMetrics: the Metrics of the daemon, on prometheus-cpp (Debian prometheus-cpp-dev),
// named as go-grpc-prometheus names the gRPC server's series so existing dashboards work:
//
//   grpc_server_started_total{grpc_type,grpc_service,grpc_method}              counter
//   grpc_server_handled_total{grpc_type,grpc_service,grpc_method,grpc_code}    counter
//   grpc_server_handling_seconds{grpc_type,grpc_service,grpc_method}           histogram
//   fgw_upstream_requests_total{operation_id,status_class}                     counter
//   fgw_upstream_request_duration_seconds{operation_id}                        histogram
//   fgw_upstream_retries_total{reason}                                         counter
//   fgw_upstream_retry_budget_exhausted_total                                  counter
//   fgw_cache_lookups_total{result}                                            counter
// plus the values read at scrape time that the engine registers (AddScrapeValue): calls in
// flight, upstream connections open, token requests and failures.
//
// grpc_type is "unary" (the only kind the Formance methods have); grpc_code is the code's
// upper-case name ("OK", "NOT_FOUND"). Histogram buckets are go-grpc-prometheus' defaults
// (5 ms .. 10 s). A method's series are created on its first call, so an idle gateway exposes
// no per-method series; the retry, cache and budget series exist (at 0) from the start.
//
// Cost per Formance call (GetAccount, one attempt): two counter increments and two histogram
// observations (each an uncontended mutex in prometheus-cpp) plus atomic loads; measured in
// README "Operating it" (instructions per call, before and after).
//
// Thread safety: every method may be called concurrently. Scrape() calls the scrape-value
// functions without holding any lock of this class.
#ifndef FGW_SERVER_METRICS_PROMETHEUS_METRICS_H_
#define FGW_SERVER_METRICS_PROMETHEUS_METRICS_H_

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/synchronization/mutex.h"
#include "prometheus/counter.h"
#include "prometheus/family.h"
#include "prometheus/histogram.h"
#include "prometheus/registry.h"
#include "server/metrics/metrics.h"

namespace fgw {

class PrometheusMetrics final : public Metrics {
 public:
  enum class ValueType { kCounter, kGauge };

  PrometheusMetrics();
  ~PrometheusMetrics() override;
  PrometheusMetrics(const PrometheusMetrics&) = delete;
  PrometheusMetrics& operator=(const PrometheusMetrics&) = delete;

  MethodMetrics* ForMethod(absl::string_view grpc_method,
                           absl::string_view operation_id) override;
  void Retry(RetryReason reason) override;
  void RetryBudgetExhausted() override;
  void Cache(CacheResult result) override;

  // A series without labels whose value `read` gives at each scrape. `name` must be a valid
  // metric name not used by another series (INVALID_ARGUMENT / ALREADY_EXISTS otherwise).
  // `read` must be thread-safe, must not block, and must stay callable as long as this object
  // (or until the next scrape after RemoveScrapeValues()).
  absl::Status AddScrapeValue(std::string name, std::string help,
                              ValueType type, std::function<double()> read);
  // Drops every scrape value (the engine does, before the components they read go away).
  void RemoveScrapeValues();

  // Every series in the Prometheus text exposition format (version 0.0.4).
  std::string Scrape();

  static constexpr char kContentType[] = "text/plain; version=0.0.4";

 private:
  class Method;
  struct ScrapeValue {
    std::string name;
    std::string help;
    ValueType type;
    std::function<double()> read;
  };

  std::shared_ptr<prometheus::Registry> registry_;
  prometheus::Family<prometheus::Counter>& started_;
  prometheus::Family<prometheus::Counter>& handled_;
  prometheus::Family<prometheus::Histogram>& handling_;
  prometheus::Family<prometheus::Counter>& upstream_requests_;
  prometheus::Family<prometheus::Histogram>& upstream_duration_;
  prometheus::Counter* retries_[kRetryReasonCount];
  prometheus::Counter* budget_exhausted_;
  prometheus::Counter* cache_[kCacheResultCount];

  absl::Mutex mu_;
  absl::flat_hash_map<std::string, std::unique_ptr<Method>> methods_
      ABSL_GUARDED_BY(mu_);
  std::vector<std::shared_ptr<const ScrapeValue>> scrape_values_
      ABSL_GUARDED_BY(mu_);
};

// go-grpc-prometheus' default histogram buckets, in seconds.
const std::vector<double>& DefaultLatencyBuckets();

}  // namespace fgw

#endif  // FGW_SERVER_METRICS_PROMETHEUS_METRICS_H_
