#include "server/chain/transport_filter.h"

#include <algorithm>
#include <utility>

namespace fgw {

void TransportFilter::Send(const std::shared_ptr<Exchange>& x,
                           HttpRequest request, const Next& /*next*/,
                           ReplyCallback done) {
  SendOptions options;
  options.deadline =
      std::min(x->deadline(), x->clock()->Now() + attempt_timeout_);
  options.cancellation = &x->cancellation();
  options.body_sink = x->options().body_sink;
  // `x` rides along: the transport watches its cancellation until `done`.
  transport_->Send(std::move(request), options,
                   [x, done = std::move(done)](Reply reply) mutable {
                     done(std::move(reply));
                   });
}

}  // namespace fgw
