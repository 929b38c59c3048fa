// Clock: the source of time and of timers for everything that waits (token expiry, backoff,
// Retry-After, cache TTLs). Production code uses RealClock; tests use FakeClock and move time
// by hand, so no test sleeps to wait for a timer.
//
// Thread safety: all methods of every implementation may be called from any thread.
#ifndef FGW_SERVER_UTIL_CLOCK_H_
#define FGW_SERVER_UTIL_CLOCK_H_

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <thread>
#include <utility>

#include "absl/base/thread_annotations.h"
#include "absl/container/btree_map.h"
#include "absl/container/flat_hash_map.h"
#include "absl/functional/any_invocable.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"

namespace fgw {

class Clock {
 public:
  using TimerId = uint64_t;
  virtual ~Clock() = default;

  virtual absl::Time Now() = 0;

  // Runs `fn` once, on a clock-owned thread (RealClock) or inside Advance() (FakeClock), no
  // earlier than `delay` from now. Returns an id for Cancel(). `fn` must not block.
  virtual TimerId RunAfter(absl::Duration delay,
                           absl::AnyInvocable<void()> fn) = 0;

  // Cancels a timer that has not fired yet. Returns true if it was cancelled (fn will never
  // run), false if it already ran, is running, or is unknown.
  virtual bool Cancel(TimerId id) = 0;
};

// A Clock on absl::Now() whose timers run on one thread of its own, in (due, id) order.
// Cancel() erases the timer at once, so memory and the work of the timer thread are bounded by
// the timers pending, not by the timers ever scheduled (every upstream request schedules and
// cancels one). Scheduling wakes the timer thread only when the new timer is due before the
// time it sleeps until. RealClock() is the process-wide instance; tests may make their own.
class ThreadedClock : public Clock {
 public:
  ThreadedClock();
  // Stops and joins the timer thread; timers still pending never run. Must not be called from
  // a timer callback.
  ~ThreadedClock() override;
  ThreadedClock(const ThreadedClock&) = delete;
  ThreadedClock& operator=(const ThreadedClock&) = delete;

  absl::Time Now() override;
  TimerId RunAfter(absl::Duration delay,
                   absl::AnyInvocable<void()> fn) override;
  bool Cancel(TimerId id) override;

  // Timers scheduled and neither run nor cancelled.
  size_t pending_timers();

 private:
  void Loop();

  absl::Mutex mu_;
  absl::CondVar wake_;
  bool stop_ ABSL_GUARDED_BY(mu_) = false;
  // The deadline the timer thread waits for; InfiniteFuture when it waits for work.
  absl::Time sleeping_until_ ABSL_GUARDED_BY(mu_) = absl::InfinitePast();
  TimerId next_id_ ABSL_GUARDED_BY(mu_) = 1;
  absl::btree_map<std::pair<absl::Time, TimerId>, absl::AnyInvocable<void()>>
      timers_ ABSL_GUARDED_BY(mu_);
  absl::flat_hash_map<TimerId, absl::Time> due_ ABSL_GUARDED_BY(mu_);
  std::thread thread_;  // Last: started once everything above is constructed.
};

// The process-wide real clock (a ThreadedClock). Never destroyed.
Clock* RealClock();

}  // namespace fgw

#endif  // FGW_SERVER_UTIL_CLOCK_H_
