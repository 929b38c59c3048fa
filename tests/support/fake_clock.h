// FakeClock: a Clock whose time moves only when a test calls Advance(). Timers fire inside
// Advance(), in due-time order (ties in scheduling order), inline on the calling thread and
// outside the clock's lock, so a timer callback may schedule or cancel timers; a timer scheduled
// by a callback fires within the same Advance() when it is due by the target time.
//
// Thread safety: every method may be called from any thread; concurrent Advance() calls are
// serialized.
#ifndef FGW_TESTS_SUPPORT_FAKE_CLOCK_H_
#define FGW_TESTS_SUPPORT_FAKE_CLOCK_H_

#include <functional>
#include <map>
#include <utility>

#include "absl/base/thread_annotations.h"
#include "absl/functional/any_invocable.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "server/util/clock.h"

namespace fgw {

class FakeClock : public Clock {
 public:
  // Starts at an arbitrary fixed instant (2024-01-01T00:00:00Z) unless told otherwise.
  explicit FakeClock(absl::Time start = absl::FromUnixSeconds(1704067200));

  absl::Time Now() override;
  TimerId RunAfter(absl::Duration delay,
                   absl::AnyInvocable<void()> fn) override;
  bool Cancel(TimerId id) override;

  // Moves time forward by `d` (>= 0), firing every timer due on the way.
  void Advance(absl::Duration d);
  // Fires timers already due (delay <= 0) without moving time.
  void RunDue() { Advance(absl::ZeroDuration()); }

  // Timers scheduled and not yet fired or cancelled.
  int pending_timers();
  // Due time of the earliest pending timer, or InfiniteFuture().
  absl::Time next_due();

 private:
  absl::Mutex advance_mu_;  // Serializes Advance().
  absl::Mutex mu_;
  absl::Time now_ ABSL_GUARDED_BY(mu_);
  TimerId next_id_ ABSL_GUARDED_BY(mu_) = 1;
  // (due, id) -> callback: iteration order is firing order.
  std::map<std::pair<absl::Time, TimerId>, absl::AnyInvocable<void()>> timers_
      ABSL_GUARDED_BY(mu_);
  std::map<TimerId, absl::Time> due_by_id_ ABSL_GUARDED_BY(mu_);
};

}  // namespace fgw

#endif  // FGW_TESTS_SUPPORT_FAKE_CLOCK_H_
