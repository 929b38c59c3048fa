#include "server/metrics/prometheus_metrics.h"

#include <atomic>
#include <utility>

#include "absl/strings/str_cat.h"
#include "prometheus/check_names.h"
#include "prometheus/metric_family.h"
#include "prometheus/text_serializer.h"

namespace fgw {
namespace {

constexpr int kStatusCodeCount = 17;  // OK .. UNAUTHENTICATED.

// grpc-go's codes.Code.String(), which go-grpc-prometheus puts in grpc_code.
constexpr absl::string_view kGoCodeNames[kStatusCodeCount] = {
    "OK",
    "Canceled",
    "Unknown",
    "InvalidArgument",
    "DeadlineExceeded",
    "NotFound",
    "AlreadyExists",
    "PermissionDenied",
    "ResourceExhausted",
    "FailedPrecondition",
    "Aborted",
    "OutOfRange",
    "Unimplemented",
    "Internal",
    "Unavailable",
    "DataLoss",
    "Unauthenticated"};

int CodeIndex(absl::StatusCode code) {
  const int i = static_cast<int>(code);
  return (i >= 0 && i < kStatusCodeCount) ? i : 2;  // Unknown.
}

double Seconds(absl::Duration d) {
  const double s = absl::ToDoubleSeconds(d);
  return s > 0 ? s : 0;
}

// The series behind `slot`, created in `family` on first use. Family::Add returns the existing
// series for labels it already has, so two threads racing here get the same pointer.
template <typename T, typename... Args>
T* Resolve(std::atomic<T*>& slot, prometheus::Family<T>& family,
           const prometheus::Labels& labels, Args&&... args) {
  T* series = slot.load(std::memory_order_acquire);
  if (series != nullptr) return series;
  series = &family.Add(labels, std::forward<Args>(args)...);
  slot.store(series, std::memory_order_release);
  return series;
}

}  // namespace

const std::vector<double>& DefaultLatencyBuckets() {
  static const std::vector<double>* const buckets = new std::vector<double>{
      0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10};
  return *buckets;
}

class PrometheusMetrics::Method final : public MethodMetrics {
 public:
  Method(PrometheusMetrics* owner, absl::string_view grpc_method,
         absl::string_view operation_id)
      : owner_(owner) {
    auto [service, method] = SplitGrpcMethod(grpc_method);
    grpc_labels_ = {{"grpc_type", "unary"},
                    {"grpc_service", std::move(service)},
                    {"grpc_method", std::move(method)}};
    operation_id_ = std::string(operation_id);
  }

  void Started() override {
    Resolve(started_, owner_->started_, grpc_labels_)->Increment();
  }

  void Handled(absl::StatusCode code, absl::Duration latency) override {
    const int i = CodeIndex(code);
    prometheus::Counter* handled = handled_[i].load(std::memory_order_acquire);
    if (handled == nullptr) {
      prometheus::Labels labels = grpc_labels_;
      labels["grpc_code"] = std::string(kGoCodeNames[i]);
      handled = Resolve(handled_[i], owner_->handled_, labels);
    }
    handled->Increment();
    Resolve(handling_, owner_->handling_, grpc_labels_, DefaultLatencyBuckets())
        ->Observe(Seconds(latency));
  }

  void UpstreamAttempt(int http_status, absl::Duration latency) override {
    const int i = HttpStatusClassIndex(http_status);
    prometheus::Counter* requests =
        upstream_[i].load(std::memory_order_acquire);
    if (requests == nullptr) {
      requests = Resolve(
          upstream_[i], owner_->upstream_requests_,
          {{"operation_id", operation_id_},
           {"status_class", std::string(HttpStatusClass(http_status))}});
    }
    requests->Increment();
    prometheus::Histogram* duration =
        upstream_duration_.load(std::memory_order_acquire);
    if (duration == nullptr) {
      duration =
          Resolve(upstream_duration_, owner_->upstream_duration_,
                  {{"operation_id", operation_id_}}, DefaultLatencyBuckets());
    }
    duration->Observe(Seconds(latency));
  }

 private:
  PrometheusMetrics* const owner_;
  prometheus::Labels grpc_labels_;
  std::string operation_id_;
  std::atomic<prometheus::Counter*> started_{nullptr};
  std::atomic<prometheus::Counter*> handled_[kStatusCodeCount] = {};
  std::atomic<prometheus::Histogram*> handling_{nullptr};
  std::atomic<prometheus::Counter*> upstream_[kHttpStatusClassCount] = {};
  std::atomic<prometheus::Histogram*> upstream_duration_{nullptr};
};

PrometheusMetrics::PrometheusMetrics()
    : registry_(std::make_shared<prometheus::Registry>()),
      started_(prometheus::BuildCounter()
                   .Name("grpc_server_started_total")
                   .Help("Total number of RPCs started on the server.")
                   .Register(*registry_)),
      handled_(prometheus::BuildCounter()
                   .Name("grpc_server_handled_total")
                   .Help("Total number of RPCs completed on the server, "
                         "regardless of success or failure.")
                   .Register(*registry_)),
      handling_(prometheus::BuildHistogram()
                    .Name("grpc_server_handling_seconds")
                    .Help("Histogram of response latency (seconds) of gRPC "
                          "that had been application-level handled by the "
                          "server.")
                    .Register(*registry_)),
      upstream_requests_(
          prometheus::BuildCounter()
              .Name("fgw_upstream_requests_total")
              .Help("HTTP requests sent to Formance (every attempt), by "
                    "operation id and HTTP status class (none: no answer).")
              .Register(*registry_)),
      upstream_duration_(
          prometheus::BuildHistogram()
              .Name("fgw_upstream_request_duration_seconds")
              .Help("Latency of one HTTP request to Formance, by operation id.")
              .Register(*registry_)) {
  auto& retries = prometheus::BuildCounter()
                      .Name("fgw_upstream_retries_total")
                      .Help(
                          "Retries of upstream requests, by the reason of "
                          "the attempt that failed.")
                      .Register(*registry_);
  for (int i = 0; i < kRetryReasonCount; ++i) {
    retries_[i] = &retries.Add({{"reason", std::string(RetryReasonName(
                                               static_cast<RetryReason>(i)))}});
  }
  budget_exhausted_ =
      &prometheus::BuildCounter()
           .Name("fgw_upstream_retry_budget_exhausted_total")
           .Help("Retries not made because the retry budget was spent.")
           .Register(*registry_)
           .Add({});
  auto& cache = prometheus::BuildCounter()
                    .Name("fgw_cache_lookups_total")
                    .Help(
                        "Response cache lookups of cached methods, by "
                        "result (hit, miss, coalesced with a call in "
                        "flight).")
                    .Register(*registry_);
  for (int i = 0; i < kCacheResultCount; ++i) {
    cache_[i] = &cache.Add({{"result", std::string(CacheResultName(
                                           static_cast<CacheResult>(i)))}});
  }
}

PrometheusMetrics::~PrometheusMetrics() = default;

MethodMetrics* PrometheusMetrics::ForMethod(absl::string_view grpc_method,
                                            absl::string_view operation_id) {
  absl::MutexLock lock(&mu_);
  auto [it, inserted] = methods_.try_emplace(grpc_method);
  if (inserted) {
    it->second = std::make_unique<Method>(this, grpc_method, operation_id);
  }
  return it->second.get();
}

void PrometheusMetrics::Retry(RetryReason reason) {
  const int i = static_cast<int>(reason);
  if (i >= 0 && i < kRetryReasonCount) retries_[i]->Increment();
}

void PrometheusMetrics::RetryBudgetExhausted() {
  budget_exhausted_->Increment();
}

void PrometheusMetrics::Cache(CacheResult result) {
  const int i = static_cast<int>(result);
  if (i >= 0 && i < kCacheResultCount) cache_[i]->Increment();
}

absl::Status PrometheusMetrics::AddScrapeValue(std::string name,
                                               std::string help, ValueType type,
                                               std::function<double()> read) {
  if (!prometheus::CheckMetricName(name)) {
    return absl::InvalidArgumentError(
        absl::StrCat("not a metric name: \"", name, "\""));
  }
  // The registry's families (Collect() leaves out those without a series yet).
  static constexpr absl::string_view kOwn[] = {
      "grpc_server_started_total",
      "grpc_server_handled_total",
      "grpc_server_handling_seconds",
      "fgw_upstream_requests_total",
      "fgw_upstream_request_duration_seconds",
      "fgw_upstream_retries_total",
      "fgw_upstream_retry_budget_exhausted_total",
      "fgw_cache_lookups_total"};
  for (absl::string_view own : kOwn) {
    if (name == own) {
      return absl::AlreadyExistsError(absl::StrCat("metric ", name));
    }
  }
  absl::MutexLock lock(&mu_);
  for (const auto& value : scrape_values_) {
    if (value->name == name) {
      return absl::AlreadyExistsError(absl::StrCat("metric ", name));
    }
  }
  scrape_values_.push_back(std::make_shared<const ScrapeValue>(
      ScrapeValue{std::move(name), std::move(help), type, std::move(read)}));
  return absl::OkStatus();
}

void PrometheusMetrics::RemoveScrapeValues() {
  absl::MutexLock lock(&mu_);
  scrape_values_.clear();
}

std::string PrometheusMetrics::Scrape() {
  std::vector<prometheus::MetricFamily> families = registry_->Collect();
  std::vector<std::shared_ptr<const ScrapeValue>> values;
  {
    absl::MutexLock lock(&mu_);
    values = scrape_values_;
  }
  for (const auto& value : values) {  // No lock held: `read` is the owner's.
    prometheus::MetricFamily family;
    family.name = value->name;
    family.help = value->help;
    prometheus::ClientMetric metric;
    if (value->type == ValueType::kCounter) {
      family.type = prometheus::MetricType::Counter;
      metric.counter.value = value->read();
    } else {
      family.type = prometheus::MetricType::Gauge;
      metric.gauge.value = value->read();
    }
    family.metric.push_back(std::move(metric));
    families.push_back(std::move(family));
  }
  return prometheus::TextSerializer().Serialize(families);
}

}  // namespace fgw
