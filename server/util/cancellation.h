// Cancellation: a one-shot signal that a call was abandoned (the gRPC caller cancelled or its
// deadline passed). Layers that start asynchronous work register a callback to abort it.
//
// Thread safety: every method may be called from any thread. Callbacks run on the thread that
// calls Cancel() (or inline in OnCancel() if already cancelled), never under an internal lock.
#ifndef FGW_SERVER_UTIL_CANCELLATION_H_
#define FGW_SERVER_UTIL_CANCELLATION_H_

#include <cstdint>
#include <functional>
#include <map>
#include <memory>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"

namespace fgw {

class Cancellation {
 public:
  using Handle = uint64_t;

  Cancellation() = default;
  Cancellation(const Cancellation&) = delete;
  Cancellation& operator=(const Cancellation&) = delete;

  // Fires every registered callback once. Later calls do nothing.
  void Cancel();
  bool IsCancelled() const;

  // Registers `fn` to run on Cancel(). Runs it inline, and returns 0, if already cancelled.
  Handle OnCancel(std::function<void()> fn);
  // Unregisters; a no-op for 0 or a handle that already fired.
  void Remove(Handle handle);

 private:
  mutable absl::Mutex mu_;
  bool cancelled_ ABSL_GUARDED_BY(mu_) = false;
  Handle next_ ABSL_GUARDED_BY(mu_) = 1;
  std::map<Handle, std::function<void()>> callbacks_ ABSL_GUARDED_BY(mu_);
};

}  // namespace fgw

#endif  // FGW_SERVER_UTIL_CANCELLATION_H_
