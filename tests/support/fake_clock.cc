#include "tests/support/fake_clock.h"

namespace fgw {

FakeClock::FakeClock(absl::Time start) : now_(start) {}

absl::Time FakeClock::Now() {
  absl::MutexLock lock(&mu_);
  return now_;
}

Clock::TimerId FakeClock::RunAfter(absl::Duration delay,
                                   absl::AnyInvocable<void()> fn) {
  absl::MutexLock lock(&mu_);
  TimerId id = next_id_++;
  absl::Time due = now_ + std::max(delay, absl::ZeroDuration());
  timers_.emplace(std::make_pair(due, id), std::move(fn));
  due_by_id_.emplace(id, due);
  return id;
}

bool FakeClock::Cancel(TimerId id) {
  absl::MutexLock lock(&mu_);
  auto it = due_by_id_.find(id);
  if (it == due_by_id_.end()) return false;
  timers_.erase(std::make_pair(it->second, id));
  due_by_id_.erase(it);
  return true;
}

void FakeClock::Advance(absl::Duration d) {
  absl::MutexLock advance_lock(&advance_mu_);
  absl::Time target;
  {
    absl::MutexLock lock(&mu_);
    target = now_ + std::max(d, absl::ZeroDuration());
  }
  for (;;) {
    absl::AnyInvocable<void()> fn;
    {
      absl::MutexLock lock(&mu_);
      auto it = timers_.begin();
      if (it == timers_.end() || it->first.first > target) {
        now_ = target;
        return;
      }
      if (it->first.first > now_) now_ = it->first.first;
      fn = std::move(it->second);
      due_by_id_.erase(it->first.second);
      timers_.erase(it);
    }
    fn();
  }
}

int FakeClock::pending_timers() {
  absl::MutexLock lock(&mu_);
  return static_cast<int>(timers_.size());
}

absl::Time FakeClock::next_due() {
  absl::MutexLock lock(&mu_);
  return timers_.empty() ? absl::InfiniteFuture()
                         : timers_.begin()->first.first;
}

}  // namespace fgw
