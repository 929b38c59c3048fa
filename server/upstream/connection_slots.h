// ConnectionSlots: an asynchronous counting semaphore bounding the upstream connections in use
// (one slot per request on the wire). cpprestsdk's pool opens a connection per concurrent
// request and has no bound of its own; with every request holding a slot while it runs, at
// most `max` connections are ever open (idle pooled ones are reused, never added to).
//
// - Acquire() grants a slot at once when one is free (the callback runs inline), otherwise
//   queues the request in FIFO order until Release() hands it a slot, its deadline passes
//   (DEADLINE_EXCEEDED) or its Cancellation fires (CANCELLED). Each callback runs exactly once,
//   never under the internal lock. A refused request held no slot and sent nothing.
// - Release() returns a slot: to the oldest waiter (its callback runs on the releasing thread),
//   or to the free count.
//
// Lifetime: must outlive every pending Acquire (the transport owns it and outlives its calls);
// `clock` (not owned) runs the deadline timers; a Cancellation passed to Acquire must outlive
// the wait.
//
// Thread safety: all methods may be called concurrently.
#ifndef FGW_SERVER_UPSTREAM_CONNECTION_SLOTS_H_
#define FGW_SERVER_UPSTREAM_CONNECTION_SLOTS_H_

#include <cstdint>
#include <functional>
#include <list>
#include <memory>

#include "absl/base/thread_annotations.h"
#include "absl/functional/any_invocable.h"
#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "server/util/cancellation.h"
#include "server/util/clock.h"

namespace fgw {

class ConnectionSlots {
 public:
  using Granted = absl::AnyInvocable<void(absl::Status)>;

  // `max` >= 1.
  ConnectionSlots(int max, Clock* clock);
  ConnectionSlots(const ConnectionSlots&) = delete;
  ConnectionSlots& operator=(const ConnectionSlots&) = delete;

  // `granted(OK)` when the caller holds a slot (it must call Release() once done with it);
  // `granted(DEADLINE_EXCEEDED or CANCELLED)` when it gave up waiting (no slot held).
  void Acquire(absl::Time deadline, Cancellation* cancellation,
               Granted granted);
  void Release();

  int max() const { return max_; }
  int in_use();
  int waiting();

 private:
  // A queued request. Every field but `cancellation` is read and written under mu_.
  struct Waiter {
    Granted granted;
    Clock::TimerId timer = 0;
    Cancellation* cancellation = nullptr;
    Cancellation::Handle cancel_handle = 0;
    bool queued = false;  // In waiters_.
  };
  using WaiterList = std::list<std::shared_ptr<Waiter>>;

  // Takes `waiter` out of the queue, if still there, and answers it with `why`.
  void GiveUp(const std::shared_ptr<Waiter>& waiter, absl::Status why);

  const int max_;
  Clock* const clock_;
  absl::Mutex mu_;
  int in_use_ ABSL_GUARDED_BY(mu_) = 0;
  WaiterList waiters_ ABSL_GUARDED_BY(mu_);
};

}  // namespace fgw

#endif  // FGW_SERVER_UPSTREAM_CONNECTION_SLOTS_H_
