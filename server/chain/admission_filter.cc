#include "server/chain/admission_filter.h"

#include <memory>
#include <optional>
#include <utility>

namespace fgw {
namespace {

// The places an admitted call holds until its reply.
struct Places {
  std::optional<PolicyStore::Admission> caller;
  std::optional<CallsInFlight::Ticket> gateway;
};

}  // namespace

void AdmissionFilter::Send(const std::shared_ptr<Exchange>& x,
                           HttpRequest request, const Next& next,
                           ReplyCallback done) {
  auto held = std::make_shared<Places>();
  if (policy_ != nullptr) {
    absl::StatusOr<PolicyStore::Admission> admitted =
        policy_->Admit(x->caller(), x->spec().method);
    if (!admitted.ok()) {
      done(admitted.status());
      return;
    }
    if (admitted->tokens != nullptr)
      x->set_caller_tokens(admitted->tokens.get());
    held->caller.emplace(*std::move(admitted));
  }
  if (limit_ != nullptr) {
    absl::StatusOr<CallsInFlight::Ticket> ticket = limit_->Admit();
    if (!ticket.ok()) {
      done(ticket.status());
      return;
    }
    held->gateway.emplace(*std::move(ticket));
  }
  next(x, std::move(request),
       [held = std::move(held), done = std::move(done)](Reply reply) mutable {
         held.reset();  // The places free before the caller is answered.
         done(std::move(reply));
       });
}

}  // namespace fgw
