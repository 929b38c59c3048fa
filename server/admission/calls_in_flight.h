// CallsInFlight: the gateway-wide cap on Formance calls being served at once
// (limits.max_calls_in_flight). A call over the cap is refused at once with RESOURCE_EXHAUSTED,
// before its request is parsed, encoded, cached or sent, so a flood costs no upstream request
// and a bounded amount of memory.
//
// Admit() returns a Ticket (move-only) that holds one place until it is destroyed.
//
// Thread safety: all methods may be called concurrently; a Ticket may be destroyed on any
// thread. The CallsInFlight must outlive its tickets.
#ifndef FGW_SERVER_ADMISSION_CALLS_IN_FLIGHT_H_
#define FGW_SERVER_ADMISSION_CALLS_IN_FLIGHT_H_

#include <atomic>

#include "absl/status/statusor.h"

namespace fgw {

class CallsInFlight {
 public:
  class Ticket {
   public:
    Ticket(Ticket&& other) noexcept : owner_(other.owner_) {
      other.owner_ = nullptr;
    }
    Ticket& operator=(Ticket&&) = delete;
    Ticket(const Ticket&) = delete;
    ~Ticket();

   private:
    friend class CallsInFlight;
    explicit Ticket(CallsInFlight* owner) : owner_(owner) {}
    CallsInFlight* owner_;
  };

  // `max` >= 1.
  explicit CallsInFlight(int max);

  // A ticket, or RESOURCE_EXHAUSTED "the gateway is serving its limit of N calls
  // (limits.max_calls_in_flight); retry later".
  absl::StatusOr<Ticket> Admit();

  int current() const { return current_.load(std::memory_order_relaxed); }
  int max() const { return max_; }

 private:
  const int max_;
  // Atomic, no lock: Admit() is on every call's path.
  std::atomic<int> current_{0};
};

}  // namespace fgw

#endif  // FGW_SERVER_ADMISSION_CALLS_IN_FLIGHT_H_
