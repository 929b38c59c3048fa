// Cancellation: a one-shot signal that a call was abandoned (the gRPC caller cancelled or its
// deadline passed). Layers that start asynchronous work register a callback to abort it.
//
// Thread safety: every method may be called from any thread. Callbacks run on the thread that
// calls Cancel() (or inline in OnCancel() if already cancelled), never under an internal lock.
//
// Cost: a call registers a handful of callbacks (the chain, the retry and credentials filters,
// the transport), so up to kInline of them are stored in the object itself, and a callback that
// captures no more than a shared_ptr is stored without allocating (absl::AnyInvocable).
#ifndef FGW_SERVER_UTIL_CANCELLATION_H_
#define FGW_SERVER_UTIL_CANCELLATION_H_

#include <cstddef>
#include <cstdint>
#include <utility>

#include "absl/base/thread_annotations.h"
#include "absl/container/inlined_vector.h"
#include "absl/functional/any_invocable.h"
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
  Handle OnCancel(absl::AnyInvocable<void()> fn);
  // Unregisters; a no-op for 0 or a handle that already fired.
  void Remove(Handle handle);

 private:
  mutable absl::Mutex mu_;
  bool cancelled_ ABSL_GUARDED_BY(mu_) = false;
  Handle next_ ABSL_GUARDED_BY(mu_) = 1;
  static constexpr size_t kInline = 4;
  using Callbacks =
      absl::InlinedVector<std::pair<Handle, absl::AnyInvocable<void()>>,
                          kInline>;
  Callbacks callbacks_ ABSL_GUARDED_BY(mu_);  // In registration order.
};

}  // namespace fgw

#endif  // FGW_SERVER_UTIL_CANCELLATION_H_
