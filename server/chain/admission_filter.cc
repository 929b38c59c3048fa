#include "server/chain/admission_filter.h"

#include <memory>
#include <optional>
#include <utility>

namespace fgw {

void AdmissionFilter::Send(const std::shared_ptr<Exchange>& x,
                           HttpRequest request, const Next& next,
                           ReplyCallback done) {
  std::optional<PolicyStore::Admission> caller;
  if (policy_ != nullptr) {
    absl::StatusOr<PolicyStore::Admission> admitted =
        policy_->Admit(x->caller(), x->spec().method);
    if (!admitted.ok()) {
      done(admitted.status());
      return;
    }
    if (admitted->tokens != nullptr)
      x->set_caller_tokens(admitted->tokens.get());
    if (!admitted->caller.empty()) x->set_caller_identity(admitted->caller);
    caller.emplace(*std::move(admitted));
  }
  std::optional<CallsInFlight::Ticket> gateway;
  if (limit_ != nullptr) {
    absl::StatusOr<CallsInFlight::Ticket> ticket = limit_->Admit();
    if (!ticket.ok()) {
      done(ticket.status());
      return;
    }
    gateway.emplace(*std::move(ticket));
  }
  next(x, std::move(request),
       [caller = std::move(caller), gateway = std::move(gateway),
        done = std::move(done)](Reply reply) mutable {
         // The places free before the caller is answered.
         gateway.reset();
         caller.reset();
         done(std::move(reply));
       });
}

}  // namespace fgw
