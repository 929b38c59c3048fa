#include "server/policy/caller_limits.h"

#include <algorithm>
#include <cmath>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"

namespace fgw {
namespace {

double EffectiveBurst(const CallerLimitsSpec& limits) {
  if (limits.burst > 0) return limits.burst;
  return std::max(1.0, std::ceil(limits.rate_per_second));
}

}  // namespace

CallerLimiter::Ticket::~Ticket() {
  if (owner_ != nullptr) owner_->Release();
}

CallerLimiter::CallerLimiter(std::string caller, const CallerLimitsSpec& limits,
                             Clock* clock)
    : caller_(std::move(caller)), clock_(clock) {
  absl::MutexLock lock(&mu_);
  limits_ = limits;
  burst_ = EffectiveBurst(limits);
  tokens_ = burst_;
  refilled_ = clock_->Now();
}

void CallerLimiter::RefillLocked(absl::Time now) {
  if (now > refilled_) {
    tokens_ =
        std::min(burst_, tokens_ + limits_.rate_per_second *
                                       absl::ToDoubleSeconds(now - refilled_));
    refilled_ = now;
  }
}

absl::StatusOr<CallerLimiter::Ticket> CallerLimiter::Admit() {
  const absl::Time now = clock_->Now();
  {
    absl::MutexLock lock(&mu_);
    if (limits_.max_in_flight > 0 && in_flight_ >= limits_.max_in_flight) {
      return absl::ResourceExhaustedError(absl::StrCat(
          "caller ", caller_, " has its limit of ", limits_.max_in_flight,
          " calls in flight (policy.callers.", caller_,
          ".max_in_flight); retry later"));
    }
    if (limits_.rate_per_second > 0) {
      RefillLocked(now);
      if (tokens_ < 1) {
        const double wait_s = (1 - tokens_) / limits_.rate_per_second;
        return absl::ResourceExhaustedError(absl::StrFormat(
            "caller %s is over its rate of %g calls/s (policy.callers.%s."
            "rate); retry in %.0f ms",
            caller_, limits_.rate_per_second, caller_,
            std::ceil(wait_s * 1000)));
      }
      tokens_ -= 1;
    }
    ++in_flight_;
  }
  return Ticket(shared_from_this());
}

void CallerLimiter::Update(const CallerLimitsSpec& limits) {
  const absl::Time now = clock_->Now();
  absl::MutexLock lock(&mu_);
  RefillLocked(now);
  limits_ = limits;
  burst_ = EffectiveBurst(limits);
  tokens_ = std::min(tokens_, burst_);
}

int CallerLimiter::in_flight() {
  absl::MutexLock lock(&mu_);
  return in_flight_;
}

void CallerLimiter::Release() {
  absl::MutexLock lock(&mu_);
  --in_flight_;
}

}  // namespace fgw
