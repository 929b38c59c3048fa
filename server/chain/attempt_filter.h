// AttemptFilter: what belongs to each HTTP request to Formance, just above the transport (so
// below the retry filter and the credentials filter's 401 replay: every request on the wire
// passes here once):
//
// - W3C Trace Context: when the Exchange has a trace (ObserveFilter), the request gets
//   `traceparent: 00-<trace id>-<new span id>-<flags>` with a span id of its own from the
//   injected Random (one per attempt, so each attempt is a span of the caller's trace), and
//   the caller's validated `tracestate` when there is one. Headers of the same name already in
//   the request are replaced (the encoder never sets them; a caller cannot).
// - Metrics: MethodMetrics::UpstreamAttempt of the spec's series with the HTTP status (0 when
//   the attempt ended without one) and the attempt's latency on the injected clock.
//
// Never fails by itself; answers with what the transport answered.
//
// Thread safety: as Filter. `random` and `clock` are not owned and must outlive every call.
#ifndef FGW_SERVER_CHAIN_ATTEMPT_FILTER_H_
#define FGW_SERVER_CHAIN_ATTEMPT_FILTER_H_

#include "server/chain/filter.h"
#include "server/util/clock.h"
#include "server/util/random.h"

namespace fgw {

class AttemptFilter : public Filter {
 public:
  AttemptFilter(Random* random, Clock* clock)
      : random_(random), clock_(clock) {}
  void Send(const std::shared_ptr<Exchange>& x, HttpRequest request,
            const Next& next, ReplyCallback done) override;

 private:
  Random* const random_;
  Clock* const clock_;
};

}  // namespace fgw

#endif  // FGW_SERVER_CHAIN_ATTEMPT_FILTER_H_
