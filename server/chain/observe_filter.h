// ObserveFilter: the call's trace context, once per call, just below admission (so a refused
// call costs nothing here) and above the cache (so a cache hit is traced too).
//
// Takes the caller's `traceparent` / `tracestate` metadata (CallContext, kept raw in the
// Exchange), validates them strictly (server/util/trace_context.h) and records the resulting
// TraceContext in the Exchange: the caller's trace when valid, else a new trace from the
// injected Random (an invalid traceparent starts a new trace and drops its tracestate). The
// attempt filter below the retry filter sends it on with a new span id per attempt; the trace
// id is reported in CallOutcome::trace_id (the call's log line).
//
// Never fails; passes every request on unchanged.
//
// Thread safety: as Filter. `random` is not owned and must outlive every call.
#ifndef FGW_SERVER_CHAIN_OBSERVE_FILTER_H_
#define FGW_SERVER_CHAIN_OBSERVE_FILTER_H_

#include "server/chain/filter.h"
#include "server/util/random.h"

namespace fgw {

class ObserveFilter : public Filter {
 public:
  explicit ObserveFilter(Random* random) : random_(random) {}
  void Send(const std::shared_ptr<Exchange>& x, HttpRequest request,
            const Next& next, ReplyCallback done) override;

 private:
  Random* const random_;
};

}  // namespace fgw

#endif  // FGW_SERVER_CHAIN_OBSERVE_FILTER_H_
