// FakeMetrics: a Metrics that counts what it is told, for the tests of the filters and the
// handler (which are given a Metrics and never know prometheus-cpp).
//
// Thread safety: every method may be called from any thread.
#ifndef FGW_TESTS_SUPPORT_FAKE_METRICS_H_
#define FGW_TESTS_SUPPORT_FAKE_METRICS_H_

#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "server/metrics/metrics.h"

namespace fgw {

class FakeMethodMetrics final : public MethodMetrics {
 public:
  struct Attempt {
    int http_status;
    absl::Duration latency;
  };
  void Started() override {
    absl::MutexLock lock(&mu_);
    ++started_;
  }
  void Handled(absl::StatusCode code, absl::Duration latency) override {
    absl::MutexLock lock(&mu_);
    handled_.emplace_back(code, latency);
  }
  void UpstreamAttempt(int http_status, absl::Duration latency) override {
    absl::MutexLock lock(&mu_);
    attempts_.push_back({http_status, latency});
  }
  int started() {
    absl::MutexLock lock(&mu_);
    return started_;
  }
  std::vector<std::pair<absl::StatusCode, absl::Duration>> handled() {
    absl::MutexLock lock(&mu_);
    return handled_;
  }
  std::vector<Attempt> attempts() {
    absl::MutexLock lock(&mu_);
    return attempts_;
  }

 private:
  absl::Mutex mu_;
  int started_ ABSL_GUARDED_BY(mu_) = 0;
  std::vector<std::pair<absl::StatusCode, absl::Duration>> handled_
      ABSL_GUARDED_BY(mu_);
  std::vector<Attempt> attempts_ ABSL_GUARDED_BY(mu_);
};

class FakeMetrics final : public Metrics {
 public:
  MethodMetrics* ForMethod(absl::string_view grpc_method,
                           absl::string_view /*operation_id*/) override {
    return method(std::string(grpc_method));
  }
  FakeMethodMetrics* method(const std::string& grpc_method) {
    absl::MutexLock lock(&mu_);
    auto& m = methods_[grpc_method];
    if (m == nullptr) m = std::make_unique<FakeMethodMetrics>();
    return m.get();
  }
  void Retry(RetryReason reason) override {
    absl::MutexLock lock(&mu_);
    retries_.push_back(reason);
  }
  void RetryBudgetExhausted() override {
    absl::MutexLock lock(&mu_);
    ++budget_exhausted_;
  }
  void Cache(CacheResult result) override {
    absl::MutexLock lock(&mu_);
    cache_.push_back(result);
  }
  std::vector<RetryReason> retries() {
    absl::MutexLock lock(&mu_);
    return retries_;
  }
  int budget_exhausted() {
    absl::MutexLock lock(&mu_);
    return budget_exhausted_;
  }
  std::vector<CacheResult> cache() {
    absl::MutexLock lock(&mu_);
    return cache_;
  }

 private:
  absl::Mutex mu_;
  std::map<std::string, std::unique_ptr<FakeMethodMetrics>> methods_
      ABSL_GUARDED_BY(mu_);
  std::vector<RetryReason> retries_ ABSL_GUARDED_BY(mu_);
  int budget_exhausted_ ABSL_GUARDED_BY(mu_) = 0;
  std::vector<CacheResult> cache_ ABSL_GUARDED_BY(mu_);
};

}  // namespace fgw

#endif  // FGW_TESTS_SUPPORT_FAKE_METRICS_H_
