// CallerLimiter: one caller's limits (policy.callers.<name>.rate and .max_in_flight): a token
// bucket of `burst` calls refilled at `rate_per_second` on the injected clock, and a cap on
// the caller's calls in flight. A call over either is RESOURCE_EXHAUSTED at once, before the
// cache, the token source or the upstream, so one noisy caller cannot spend the shared
// gateway's capacity or the organisation's Formance rate limits.
//
// Admit() returns a Ticket (move-only) holding one in-flight place until it is destroyed; a
// refused call takes no token and no place. Update() changes the limits in place (a policy
// reload): tokens already in the bucket are kept (capped at the new burst), calls in flight too.
//
// Thread safety: every method may be called concurrently; a Ticket may be destroyed on any
// thread and keeps its limiter alive (shared ownership).
#ifndef FGW_SERVER_POLICY_CALLER_LIMITS_H_
#define FGW_SERVER_POLICY_CALLER_LIMITS_H_

#include <memory>
#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "server/policy/policy_document.h"
#include "server/util/clock.h"

namespace fgw {

class CallerLimiter : public std::enable_shared_from_this<CallerLimiter> {
 public:
  class Ticket {
   public:
    Ticket() = default;  // Holds nothing.
    Ticket(Ticket&&) = default;
    Ticket& operator=(Ticket&&) = default;
    ~Ticket();

   private:
    friend class CallerLimiter;
    explicit Ticket(std::shared_ptr<CallerLimiter> owner)
        : owner_(std::move(owner)) {}
    std::shared_ptr<CallerLimiter> owner_;
  };

  // `caller` names the caller in messages. Use std::make_shared.
  CallerLimiter(std::string caller, const CallerLimitsSpec& limits,
                Clock* clock);

  // A ticket, or RESOURCE_EXHAUSTED naming the caller and the limit.
  absl::StatusOr<Ticket> Admit() ABSL_LOCKS_EXCLUDED(mu_);
  void Update(const CallerLimitsSpec& limits) ABSL_LOCKS_EXCLUDED(mu_);

  int in_flight() ABSL_LOCKS_EXCLUDED(mu_);

 private:
  void Release() ABSL_LOCKS_EXCLUDED(mu_);
  void RefillLocked(absl::Time now) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  const std::string caller_;
  Clock* const clock_;
  absl::Mutex mu_;
  CallerLimitsSpec limits_ ABSL_GUARDED_BY(mu_);
  double burst_ ABSL_GUARDED_BY(mu_) = 0;   // Effective bucket size.
  double tokens_ ABSL_GUARDED_BY(mu_) = 0;  // Starts full.
  absl::Time refilled_ ABSL_GUARDED_BY(mu_);
  int in_flight_ ABSL_GUARDED_BY(mu_) = 0;
};

}  // namespace fgw

#endif  // FGW_SERVER_POLICY_CALLER_LIMITS_H_
