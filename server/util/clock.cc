#include "server/util/clock.h"

#include <map>
#include <queue>
#include <thread>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"

namespace fgw {
namespace {

// One timer thread, a min-heap of (due time, id), and a map id -> callback. Cancelled timers
// leave a stale heap entry that is skipped when it reaches the top.
class RealClockImpl : public Clock {
 public:
  RealClockImpl() {
    std::thread([this] { Loop(); }).detach();
  }

  absl::Time Now() override { return absl::Now(); }

  TimerId RunAfter(absl::Duration delay, std::function<void()> fn) override {
    absl::Time due = absl::Now() + std::max(delay, absl::ZeroDuration());
    absl::MutexLock lock(&mu_);
    TimerId id = next_id_++;
    callbacks_.emplace(id, std::move(fn));
    heap_.push(Entry{due, id});
    if (heap_.top().id == id) wake_.Signal();
    return id;
  }

  bool Cancel(TimerId id) override {
    absl::MutexLock lock(&mu_);
    return callbacks_.erase(id) > 0;
  }

 private:
  struct Entry {
    absl::Time due;
    TimerId id;
    // Min-heap on (due, id): equal due times fire in scheduling order.
    bool operator>(const Entry& other) const {
      return due != other.due ? due > other.due : id > other.id;
    }
  };

  void Loop() {
    for (;;) {
      std::function<void()> fn;
      {
        absl::MutexLock lock(&mu_);
        for (;;) {
          while (!heap_.empty() && callbacks_.find(heap_.top().id) == callbacks_.end()) {
            heap_.pop();  // Cancelled.
          }
          if (heap_.empty()) {
            wake_.Wait(&mu_);
            continue;
          }
          absl::Time due = heap_.top().due;
          if (due <= absl::Now()) break;
          wake_.WaitWithDeadline(&mu_, due);
        }
        auto it = callbacks_.find(heap_.top().id);
        fn = std::move(it->second);
        callbacks_.erase(it);
        heap_.pop();
      }
      fn();  // Outside the lock: fn may schedule or cancel timers.
    }
  }

  absl::Mutex mu_;
  absl::CondVar wake_;
  TimerId next_id_ ABSL_GUARDED_BY(mu_) = 1;
  std::priority_queue<Entry, std::vector<Entry>, std::greater<Entry>> heap_ ABSL_GUARDED_BY(mu_);
  std::map<TimerId, std::function<void()>> callbacks_ ABSL_GUARDED_BY(mu_);
};

}  // namespace

Clock* RealClock() {
  static Clock* const clock = new RealClockImpl();  // Never destroyed: its thread runs forever.
  return clock;
}

}  // namespace fgw
