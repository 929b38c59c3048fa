#include "server/retry/retry_budget.h"

#include <algorithm>
#include <cmath>

namespace fgw {

RetryBudget::RetryBudget(RetryBudgetOptions options, Clock* clock)
    : options_(options),
      clock_(clock),
      rate_tokens_(options.min_per_second),
      last_refill_(clock->Now()) {}

void RetryBudget::RefillLocked(absl::Time now) {
  if (now > last_refill_) {
    rate_tokens_ =
        std::min(options_.min_per_second,
                 rate_tokens_ + options_.min_per_second *
                                    absl::ToDoubleSeconds(now - last_refill_));
    last_refill_ = now;
  }
}

void RetryBudget::OnFirstAttempt() {
  absl::MutexLock lock(&mu_);
  // Rounded to 1e-9 so that 5 x 0.2 is exactly one token (no 0.99999... from float sums).
  ratio_tokens_ =
      std::min(options_.max_ratio_tokens,
               std::round((ratio_tokens_ + options_.ratio) * 1e9) / 1e9);
}

bool RetryBudget::TryAcquireRetry() {
  const absl::Time now = clock_->Now();
  absl::MutexLock lock(&mu_);
  RefillLocked(now);
  if (rate_tokens_ >= 1) {
    rate_tokens_ -= 1;
    return true;
  }
  if (ratio_tokens_ >= 1) {
    ratio_tokens_ -= 1;
    return true;
  }
  return false;
}

double RetryBudget::available() {
  const absl::Time now = clock_->Now();
  absl::MutexLock lock(&mu_);
  RefillLocked(now);
  return rate_tokens_ + ratio_tokens_;
}

}  // namespace fgw
