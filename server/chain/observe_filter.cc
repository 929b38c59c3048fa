#include "server/chain/observe_filter.h"

#include <string>
#include <utility>

namespace fgw {

void ObserveFilter::Send(const std::shared_ptr<Exchange>& x,
                         HttpRequest request, const Next& next,
                         ReplyCallback done) {
  auto [traceparent, tracestate] = x->incoming_trace();
  x->set_trace(TraceFromCaller(traceparent, tracestate, *random_));
  next(x, std::move(request), std::move(done));
}

}  // namespace fgw
