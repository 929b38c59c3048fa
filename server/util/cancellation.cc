#include "server/util/cancellation.h"

#include <utility>
#include <vector>

namespace fgw {

void Cancellation::Cancel() {
  std::map<Handle, std::function<void()>> to_run;
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

Cancellation::Handle Cancellation::OnCancel(std::function<void()> fn) {
  {
    absl::MutexLock lock(&mu_);
    if (!cancelled_) {
      Handle h = next_++;
      callbacks_.emplace(h, std::move(fn));
      return h;
    }
  }
  fn();
  return 0;
}

void Cancellation::Remove(Handle handle) {
  absl::MutexLock lock(&mu_);
  callbacks_.erase(handle);
}

}  // namespace fgw
