#include "server/util/clock.h"

#include <algorithm>
#include <utility>

#include "absl/time/clock.h"

namespace fgw {

ThreadedClock::ThreadedClock() : thread_([this] { Loop(); }) {}

ThreadedClock::~ThreadedClock() {
  {
    absl::MutexLock lock(&mu_);
    stop_ = true;
    wake_.Signal();
  }
  thread_.join();
}

absl::Time ThreadedClock::Now() { return absl::Now(); }

Clock::TimerId ThreadedClock::RunAfter(absl::Duration delay,
                                       absl::AnyInvocable<void()> fn) {
  const absl::Time due = absl::Now() + std::max(delay, absl::ZeroDuration());
  absl::MutexLock lock(&mu_);
  const TimerId id = next_id_++;
  timers_.emplace(std::make_pair(due, id), std::move(fn));
  due_.emplace(id, due);
  // The thread re-reads the earliest timer whenever it wakes: wake it only if it would
  // otherwise sleep past this one (no wake-up per call for the usual far-away deadlines).
  if (due < sleeping_until_) wake_.Signal();
  return id;
}

bool ThreadedClock::Cancel(TimerId id) {
  absl::AnyInvocable<void()>
      cancelled;  // Destroyed after the lock is released.
  absl::MutexLock lock(&mu_);
  auto it = due_.find(id);
  if (it == due_.end()) return false;
  auto timer = timers_.find(std::make_pair(it->second, id));
  cancelled = std::move(timer->second);
  timers_.erase(timer);
  due_.erase(it);
  return true;
}

size_t ThreadedClock::pending_timers() {
  absl::MutexLock lock(&mu_);
  return timers_.size();
}

void ThreadedClock::Loop() {
  for (;;) {
    absl::AnyInvocable<void()> fn;
    {
      absl::MutexLock lock(&mu_);
      for (;;) {
        if (stop_) return;
        if (timers_.empty()) {
          sleeping_until_ = absl::InfiniteFuture();
          wake_.Wait(&mu_);
          continue;
        }
        const absl::Time due = timers_.begin()->first.first;
        if (due <= absl::Now()) break;
        sleeping_until_ = due;
        wake_.WaitWithDeadline(&mu_, due);
      }
      sleeping_until_ =
          absl::InfinitePast();  // Running: RunAfter need not wake us.
      auto first = timers_.begin();
      fn = std::move(first->second);
      due_.erase(first->first.second);
      timers_.erase(first);
    }
    fn();  // Outside the lock: fn may schedule or cancel timers.
  }
}

Clock* RealClock() {
  static Clock* const clock =
      new ThreadedClock();  // Never destroyed: its thread runs forever.
  return clock;
}

}  // namespace fgw
