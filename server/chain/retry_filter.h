// RetryFilter: attempts, backoff, retry budget and the idempotency key.
//
// - Idempotency-Key: a key already in the request (the caller's) is kept; else, when
//   spec.accepts_idempotency_key, one is generated (UUIDv4 from the injected Random). The same
//   key goes on every attempt and is recorded in the Exchange.
// - Which replies are retried (Classify, an explicit RetryDecision): a read, or a write carrying
//   an Idempotency-Key ("retry safe"), is retried on HTTP 429, 502, 503, 504 (honouring
//   Retry-After), on UNAVAILABLE from below and on an attempt timeout. Any other write is retried
//   only when the transport proves the request never reached the server
//   (!RequestMayHaveReachedServer); when it may have, the answer is kMayHaveApplied: UNAVAILABLE
//   (or DEADLINE_EXCEEDED for an attempt timeout) "upstream failed after the request was sent
//   (...); the request may have been applied; check before retrying". HTTP responses (503
//   included) are never retried for such writes. CANCELLED, the call's own deadline, a
//   FinalError from below (a token that could not be had) and every other error are answers.
// - Backoff is RetryPolicy's (full jitter, Retry-After, never past the deadline), waited on a
//   Clock timer (no thread blocks). Each retry takes a RetryBudget token. Attempts are capped by
//   options.max_attempts and lowered per call by CallOptions::max_attempts.
// - Metrics: each retry made is counted with the reason of the attempt that failed
//   (RetryReasonOf); a retry the budget refused is counted as such.
//
// Thread safety: as Filter. `clock`, `random` and `metrics` (null: NoMetrics()) are not owned
// and must outlive every call.
#ifndef FGW_SERVER_CHAIN_RETRY_FILTER_H_
#define FGW_SERVER_CHAIN_RETRY_FILTER_H_

#include <optional>

#include "absl/time/time.h"
#include "server/chain/filter.h"
#include "server/metrics/metrics.h"
#include "server/retry/retry_budget.h"
#include "server/retry/retry_policy.h"
#include "server/util/clock.h"
#include "server/util/random.h"

namespace fgw {

inline constexpr char kMayHaveBeenAppliedMessage[] =
    "the request may have been applied; check before retrying";

enum class RetryDecision {
  kAnswer,          // The reply stands.
  kRetry,           // Transient and safe to repeat: back off and try again.
  kMayHaveApplied,  // An undeduplicable write failed after its bytes may have left.
};

struct RetryVerdict {
  RetryDecision decision = RetryDecision::kAnswer;
  std::optional<absl::Duration> retry_after;  // kRetry after an HTTP reply.
};

// The decision for one attempt's `reply`, as described above. `deadline` is the call's.
RetryVerdict Classify(const Reply& reply, bool retry_safe, absl::Time now,
                      absl::Time deadline);

// The metrics reason of a reply Classify() decided to retry.
RetryReason RetryReasonOf(const Reply& reply);

class RetryFilter : public Filter {
 public:
  RetryFilter(RetryOptions options, RetryBudgetOptions budget, Clock* clock,
              Random* random, Metrics* metrics = nullptr);
  void Send(const std::shared_ptr<Exchange>& x, HttpRequest request,
            const Next& next, ReplyCallback done) override;

  RetryBudget& budget() { return budget_; }
  const RetryPolicy& policy() const { return policy_; }
  Clock* clock() const { return clock_; }
  Metrics* metrics() const { return metrics_; }

 private:
  Clock* const clock_;
  Random* const random_;
  Metrics* const metrics_;
  const RetryPolicy policy_;
  RetryBudget budget_;
};

}  // namespace fgw

#endif  // FGW_SERVER_CHAIN_RETRY_FILTER_H_
