#include "server/retry/retry_policy.h"

#include <algorithm>
#include <cmath>
#include <string>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"

namespace fgw {

bool IsRetryableStatus(int http_status) {
  return http_status == 429 || http_status == 502 || http_status == 503 ||
         http_status == 504;
}

std::optional<absl::Duration> ParseRetryAfter(absl::string_view value,
                                              absl::Time now) {
  value = absl::StripAsciiWhitespace(value);
  if (value.empty()) return std::nullopt;
  int64_t seconds;
  if (absl::ascii_isdigit(value[0])) {
    if (!absl::SimpleAtoi(value, &seconds) || seconds < 0) return std::nullopt;
    return absl::Seconds(seconds);
  }
  absl::Time when;
  std::string error;
  if (!absl::ParseTime("%a, %d %b %Y %H:%M:%S GMT", std::string(value), &when,
                       &error)) {
    return std::nullopt;
  }
  return std::max(absl::ZeroDuration(), when - now);
}

RetryPolicy::RetryPolicy(RetryOptions options, Random* random)
    : options_(options), random_(random) {}

absl::Duration RetryPolicy::BackoffCap(int attempt) const {
  double factor = std::pow(options_.multiplier, std::max(0, attempt - 1));
  double cap_s = absl::ToDoubleSeconds(options_.initial_backoff) * factor;
  double max_s = absl::ToDoubleSeconds(options_.max_backoff);
  if (!std::isfinite(cap_s) || cap_s > max_s) cap_s = max_s;
  return absl::Seconds(std::max(0.0, cap_s));
}

absl::Duration RetryPolicy::Backoff(int attempt) const {
  return random_->UniformDuration(BackoffCap(attempt));
}

std::optional<absl::Duration> RetryPolicy::NextDelay(
    int attempts_done, int max_attempts, absl::Time now, absl::Time deadline,
    std::optional<absl::Duration> retry_after) const {
  if (attempts_done >= max_attempts) return std::nullopt;
  if (retry_after.has_value() && *retry_after > options_.max_retry_after)
    return std::nullopt;
  absl::Duration wait = Backoff(attempts_done);
  if (retry_after.has_value()) wait = std::max(wait, *retry_after);
  if (now + wait >= deadline) return std::nullopt;
  return wait;
}

}  // namespace fgw
