// RetryBudget: caps retries so that an upstream outage does not multiply the load (like gRPC
// retry throttling and Envoy retry budgets). Two token buckets:
// - a ratio bucket: every first attempt adds `ratio` tokens (capped at `max_ratio_tokens`);
// - a rate bucket: refilled at `min_per_second` tokens per second on the injected clock (capped
//   at `min_per_second`), so a quiet gateway can still retry.
// A retry takes one token, from the rate bucket first, else from the ratio bucket; with neither,
// the retry is refused and the caller returns its last result. So retries are at most
// ratio * first attempts + min_per_second * seconds (plus the buckets' initial fill).
//
// Thread safety: all methods may be called concurrently.
#ifndef FGW_SERVER_RETRY_RETRY_BUDGET_H_
#define FGW_SERVER_RETRY_RETRY_BUDGET_H_

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "server/util/clock.h"

namespace fgw {

struct RetryBudgetOptions {
  double ratio = 0.2;          // RetryConfig::budget_ratio.
  double min_per_second = 10;  // RetryConfig::budget_min_per_second.
  double max_ratio_tokens =
      1000;  // Bucket size: how many retries a burst may bank.
};

class RetryBudget {
 public:
  RetryBudget(RetryBudgetOptions options, Clock* clock);

  // Records a first attempt (adds `ratio`).
  void OnFirstAttempt();
  // Takes one retry token; false when the budget is exhausted.
  bool TryAcquireRetry();

  // Tokens available now (for tests and metrics).
  double available();

 private:
  void RefillLocked(absl::Time now) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  const RetryBudgetOptions options_;
  Clock* const clock_;
  absl::Mutex mu_;
  double ratio_tokens_ ABSL_GUARDED_BY(mu_) = 0;
  double rate_tokens_ ABSL_GUARDED_BY(mu_);
  absl::Time last_refill_ ABSL_GUARDED_BY(mu_);
};

}  // namespace fgw

#endif  // FGW_SERVER_RETRY_RETRY_BUDGET_H_
