#include "server/chain/admission_filter.h"

#include <memory>
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
  auto held = std::make_shared<CallsInFlight::Ticket>(*std::move(ticket));
  next(x, std::move(request),
       [held = std::move(held), done = std::move(done)](Reply reply) mutable {
         held.reset();  // The place frees before the caller is answered.
         done(std::move(reply));
       });
}

}  // namespace fgw
