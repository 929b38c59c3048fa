#include "server/admission/calls_in_flight.h"

#include <algorithm>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"

namespace fgw {

CallsInFlight::Ticket::~Ticket() {
  if (owner_ != nullptr) {
    owner_->current_.fetch_sub(1, std::memory_order_acq_rel);
  }
}

CallsInFlight::CallsInFlight(int max) : max_(std::max(1, max)) {}

absl::StatusOr<CallsInFlight::Ticket> CallsInFlight::Admit() {
  int now = current_.fetch_add(1, std::memory_order_acq_rel);
  if (now >= max_) {
    current_.fetch_sub(1, std::memory_order_acq_rel);
    return absl::ResourceExhaustedError(
        absl::StrCat("the gateway is serving its limit of ", max_,
                     " calls (limits.max_calls_in_flight); retry later"));
  }
  return Ticket(this);
}

}  // namespace fgw
