#include "server/metrics/metrics.h"

#include <utility>

namespace fgw {
namespace {

class NoMethodMetricsImpl final : public MethodMetrics {
 public:
  void Started() override {}
  void Handled(absl::StatusCode, absl::Duration) override {}
  void UpstreamAttempt(int, absl::Duration) override {}
};

class NoMetricsImpl final : public Metrics {
 public:
  MethodMetrics* ForMethod(absl::string_view, absl::string_view) override {
    return NoMethodMetrics();
  }
  void Retry(RetryReason) override {}
  void RetryBudgetExhausted() override {}
  void Cache(CacheResult) override {}
};

}  // namespace

absl::string_view RetryReasonName(RetryReason reason) {
  switch (reason) {
    case RetryReason::kHttp429:
      return "http_429";
    case RetryReason::kHttp502:
      return "http_502";
    case RetryReason::kHttp503:
      return "http_503";
    case RetryReason::kHttp504:
      return "http_504";
    case RetryReason::kOtherStatus:
      return "http_other";
    case RetryReason::kUnavailable:
      return "unavailable";
    case RetryReason::kAttemptTimeout:
      return "attempt_timeout";
  }
  return "unknown";
}

absl::string_view CacheResultName(CacheResult result) {
  switch (result) {
    case CacheResult::kHit:
      return "hit";
    case CacheResult::kMiss:
      return "miss";
    case CacheResult::kCoalesced:
      return "coalesced";
  }
  return "unknown";
}

int HttpStatusClassIndex(int http_status) {
  if (http_status == 0) return 5;
  if (http_status < 100 || http_status > 599) return 6;
  return http_status / 100 - 1;
}

absl::string_view HttpStatusClass(int http_status) {
  static constexpr absl::string_view kNames[kHttpStatusClassCount] = {
      "1xx", "2xx", "3xx", "4xx", "5xx", "none", "other"};
  return kNames[HttpStatusClassIndex(http_status)];
}

Metrics* NoMetrics() {
  static NoMetricsImpl* const metrics = new NoMetricsImpl();
  return metrics;
}

MethodMetrics* NoMethodMetrics() {
  static NoMethodMetricsImpl* const metrics = new NoMethodMetricsImpl();
  return metrics;
}

std::pair<std::string, std::string> SplitGrpcMethod(
    absl::string_view grpc_method) {
  if (!grpc_method.empty() && grpc_method.front() == '/') {
    grpc_method.remove_prefix(1);
  }
  const size_t slash = grpc_method.rfind('/');
  if (slash == absl::string_view::npos || slash == 0 ||
      slash + 1 == grpc_method.size()) {
    return {"", std::string(grpc_method)};
  }
  return {std::string(grpc_method.substr(0, slash)),
          std::string(grpc_method.substr(slash + 1))};
}

}  // namespace fgw
