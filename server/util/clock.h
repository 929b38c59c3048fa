// Clock: the source of time and of timers for everything that waits (token expiry, backoff,
// Retry-After, cache TTLs). Production code uses RealClock; tests use FakeClock and move time
// by hand, so no test sleeps to wait for a timer.
//
// Thread safety: all methods of every implementation may be called from any thread.
#ifndef FGW_SERVER_UTIL_CLOCK_H_
#define FGW_SERVER_UTIL_CLOCK_H_

#include <cstdint>
#include <functional>
#include <memory>

#include "absl/time/time.h"

namespace fgw {

class Clock {
 public:
  using TimerId = uint64_t;
  virtual ~Clock() = default;

  virtual absl::Time Now() = 0;

  // Runs `fn` once, on a clock-owned thread (RealClock) or inside Advance() (FakeClock), no
  // earlier than `delay` from now. Returns an id for Cancel(). `fn` must not block.
  virtual TimerId RunAfter(absl::Duration delay, std::function<void()> fn) = 0;

  // Cancels a timer that has not fired yet. Returns true if it was cancelled (fn will never
  // run), false if it already ran, is running, or is unknown.
  virtual bool Cancel(TimerId id) = 0;
};

// The process-wide real clock (absl::Now() and one timer thread). Never destroyed.
Clock* RealClock();

}  // namespace fgw

#endif  // FGW_SERVER_UTIL_CLOCK_H_
