#include "server/chain/admission_filter.h"

#include <memory>
#include <optional>
#include <utility>

namespace fgw {

void AdmissionFilter::Send(const std::shared_ptr<Exchange>& x,
                           HttpRequest request, const Next& next,
                           ReplyCallback done) {
  absl::StatusOr<CallsInFlight::Ticket> ticket = limit_->Admit();
  if (!ticket.ok()) {
    done(ticket.status());
    return;
  }
  next(x, std::move(request),
       [held = std::optional<CallsInFlight::Ticket>(*std::move(ticket)),
        done = std::move(done)](Reply reply) mutable {
         held.reset();  // The place frees before the caller is answered.
         done(std::move(reply));
       });
}

}  // namespace fgw
