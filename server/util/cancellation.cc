#include "server/util/cancellation.h"

#include <utility>
#include <vector>

namespace fgw {

void Cancellation::Cancel() {
  Callbacks to_run;
  {
    absl::MutexLock lock(&mu_);
    if (cancelled_) return;
    cancelled_ = true;
    to_run.swap(callbacks_);
  }
  for (auto& [handle, fn] : to_run) fn();
}

bool Cancellation::IsCancelled() const {
  absl::MutexLock lock(&mu_);
  return cancelled_;
}

Cancellation::Handle Cancellation::OnCancel(absl::AnyInvocable<void()> fn) {
  {
    absl::MutexLock lock(&mu_);
    if (!cancelled_) {
      Handle h = next_++;
      callbacks_.emplace_back(h, std::move(fn));
      return h;
    }
  }
  fn();
  return 0;
}

void Cancellation::Remove(Handle handle) {
  if (handle == 0) return;
  absl::AnyInvocable<void()> removed;  // Destroyed after the lock is released.
  absl::MutexLock lock(&mu_);
  for (auto it = callbacks_.begin(); it != callbacks_.end(); ++it) {
    if (it->first == handle) {
      removed = std::move(it->second);
      callbacks_.erase(it);
      return;
    }
  }
}

}  // namespace fgw
