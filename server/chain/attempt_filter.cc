#include "server/chain/attempt_filter.h"

#include <memory>
#include <utility>

#include "server/util/trace_context.h"

namespace fgw {

void AttemptFilter::Send(const std::shared_ptr<Exchange>& x,
                         HttpRequest request, const Next& next,
                         ReplyCallback done) {
  if (std::shared_ptr<const TraceContext> trace = x->trace()) {
    SetHeader(request.headers, kTraceParentHeader,
              FormatTraceParent(*trace, NewSpanId(*random_)));
    if (!trace->tracestate.empty()) {
      SetHeader(request.headers, kTraceStateHeader, trace->tracestate);
    }
  }
  MethodMetrics* metrics = x->spec().metrics;
  if (metrics == nullptr) {
    next(x, std::move(request), std::move(done));
    return;
  }
  Clock* clock = clock_;
  const absl::Time start = clock->Now();
  next(x, std::move(request),
       [metrics, clock, start, done = std::move(done)](Reply reply) mutable {
         metrics->UpstreamAttempt(reply.ok() ? reply->status : 0,
                                  clock->Now() - start);
         done(std::move(reply));
       });
}

}  // namespace fgw
