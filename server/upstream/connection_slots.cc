#include "server/upstream/connection_slots.h"

#include <algorithm>
#include <utility>

#include "absl/strings/str_cat.h"

namespace fgw {

ConnectionSlots::ConnectionSlots(int max, Clock* clock)
    : max_(std::max(1, max)), clock_(clock) {}

void ConnectionSlots::Acquire(absl::Time deadline, Cancellation* cancellation,
                              Granted granted) {
  auto waiter = std::make_shared<Waiter>();
  bool now_free = false;
  bool expired = false;
  {
    absl::MutexLock lock(&mu_);
    if (in_use_ < max_ && waiters_.empty()) {
      ++in_use_;
      now_free = true;
    } else if (deadline <= clock_->Now()) {
      expired = true;
    } else {
      waiter->granted = std::move(granted);
      waiter->cancellation = cancellation;
      waiter->queued = true;
      waiters_.push_back(waiter);
    }
  }
  if (now_free) {
    granted(absl::OkStatus());
    return;
  }
  if (expired) {
    granted(absl::DeadlineExceededError(absl::StrCat(
        "deadline passed waiting for one of limits.max_upstream_connections (",
        max_, ") upstream connections")));
    return;
  }
  // Registered after queueing: either may fire at once, or after a Release() took the waiter
  // (then GiveUp finds nothing to do).
  std::weak_ptr<Waiter> weak = waiter;
  Clock::TimerId timer = 0;
  if (deadline != absl::InfiniteFuture()) {
    timer = clock_->RunAfter(deadline - clock_->Now(), [this, weak] {
      if (std::shared_ptr<Waiter> w = weak.lock()) {
        GiveUp(w, absl::DeadlineExceededError(
                      absl::StrCat("deadline passed waiting for one of "
                                   "limits.max_upstream_connections (",
                                   max_, ") upstream connections")));
      }
    });
  }
  Cancellation::Handle handle = 0;
  if (cancellation != nullptr) {
    handle = cancellation->OnCancel([this, weak] {
      if (std::shared_ptr<Waiter> w = weak.lock()) {
        GiveUp(w, absl::CancelledError(
                      "cancelled while waiting for an upstream connection"));
      }
    });
  }
  bool still_queued;
  {
    absl::MutexLock lock(&mu_);
    waiter->timer = timer;
    waiter->cancel_handle = handle;
    still_queued = waiter->queued;
  }
  if (!still_queued) {
    // Granted or given up meanwhile, before the handles were recorded: drop them here.
    if (timer != 0) clock_->Cancel(timer);
    if (cancellation != nullptr && handle != 0) cancellation->Remove(handle);
  }
}

void ConnectionSlots::Release() {
  std::shared_ptr<Waiter> next;
  Granted granted;
  Clock::TimerId timer = 0;
  Cancellation::Handle handle = 0;
  {
    absl::MutexLock lock(&mu_);
    if (waiters_.empty()) {
      --in_use_;
      return;
    }
    next = std::move(waiters_.front());
    waiters_.pop_front();
    next->queued = false;
    granted = std::move(next->granted);
    timer = next->timer;
    handle = next->cancel_handle;
  }
  // The slot passes to `next`: in_use_ is unchanged.
  if (timer != 0) clock_->Cancel(timer);
  if (next->cancellation != nullptr && handle != 0) {
    next->cancellation->Remove(handle);
  }
  granted(absl::OkStatus());
}

void ConnectionSlots::GiveUp(const std::shared_ptr<Waiter>& waiter,
                             absl::Status why) {
  Granted granted;
  Clock::TimerId timer = 0;
  Cancellation::Handle handle = 0;
  {
    absl::MutexLock lock(&mu_);
    if (!waiter->queued) return;
    waiter->queued = false;
    waiters_.remove(waiter);
    granted = std::move(waiter->granted);
    timer = waiter->timer;
    handle = waiter->cancel_handle;
  }
  if (timer != 0) clock_->Cancel(timer);
  if (waiter->cancellation != nullptr && handle != 0) {
    waiter->cancellation->Remove(handle);
  }
  granted(std::move(why));
}

int ConnectionSlots::in_use() {
  absl::MutexLock lock(&mu_);
  return in_use_;
}

int ConnectionSlots::waiting() {
  absl::MutexLock lock(&mu_);
  return static_cast<int>(waiters_.size());
}

}  // namespace fgw
