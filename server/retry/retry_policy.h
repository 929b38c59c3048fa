// RetryPolicy: when to retry an upstream attempt and how long to wait first.
//
// - Backoff: full jitter. After the n-th attempt failed (n >= 1) the wait is
//   uniform(0, min(max_backoff, initial_backoff * multiplier^(n-1))) from the injected Random.
// - Retry-After (delta-seconds or an HTTP date) is honoured: the wait is max(jitter, retry_after).
//   A Retry-After above max_retry_after is not waited for: the response is returned instead.
// - Deadline: a retry is scheduled only when it can start before the deadline
//   (now + wait < deadline); otherwise the last result stands.
// - IsRetryableStatus: 429, 502, 503, 504 (the statuses that say "not processed, try later").
//   500 is not retried: for a write it may have been applied.
//
// Thread safety: const methods are thread-safe; Random must be thread-safe (it is).
#ifndef FGW_SERVER_RETRY_RETRY_POLICY_H_
#define FGW_SERVER_RETRY_RETRY_POLICY_H_

#include <optional>

#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "server/util/random.h"

namespace fgw {

struct RetryOptions {
  int max_attempts =
      4;  // Including the first; 1 disables retries. RetryConfig::max_attempts.
  absl::Duration initial_backoff = absl::Milliseconds(100);
  absl::Duration max_backoff = absl::Seconds(5);
  double multiplier = 2.0;
  absl::Duration max_retry_after = absl::Seconds(60);
};

bool IsRetryableStatus(int http_status);

// Parses a Retry-After value: delta-seconds ("120") or an IMF-fixdate
// ("Wed, 21 Oct 2015 07:28:00 GMT"), relative to `now` (never negative). nullopt if invalid.
std::optional<absl::Duration> ParseRetryAfter(absl::string_view value,
                                              absl::Time now);

class RetryPolicy {
 public:
  RetryPolicy(RetryOptions options, Random* random);

  // The jittered backoff after attempt `attempt` (1-based) failed.
  absl::Duration Backoff(int attempt) const;
  // The exponential cap the jitter is drawn under: min(max_backoff, initial * mult^(attempt-1)).
  absl::Duration BackoffCap(int attempt) const;

  // How long to wait before the next attempt, or nullopt when no retry may happen:
  // attempts exhausted (`attempts_done` >= `max_attempts`), Retry-After too long, or the next
  // attempt would not start before `deadline`.
  std::optional<absl::Duration> NextDelay(
      int attempts_done, int max_attempts, absl::Time now, absl::Time deadline,
      std::optional<absl::Duration> retry_after) const;

  const RetryOptions& options() const { return options_; }

 private:
  const RetryOptions options_;
  Random* const random_;
};

}  // namespace fgw

#endif  // FGW_SERVER_RETRY_RETRY_POLICY_H_
