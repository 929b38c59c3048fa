// TranscodingHandler: the UnaryCallHandler that turns one gRPC call into one REST exchange:
// method table lookup -> parse the request -> encode the HTTP request (request_encoder.h) ->
// the upstream chain (upstream_chain.h: admission, cache, retry, credentials, transport) ->
// decode the response or map the error (in CallResult::build, run where the gRPC layer's
// thread model says: call_handler.h).
//
// Request metadata the caller may set (all optional):
//   idempotency-key          used as Idempotency-Key when the request field is empty;
//   x-formance-max-attempts  lowers the attempt limit for this call (1 = no retry);
//   x-formance-cache         "no-cache" bypasses the response cache.
//   traceparent, tracestate  W3C Trace Context, validated by the observe filter and sent on
//                            with a new span id per attempt (observe_filter.h).
// Trailing metadata on every answered call: formance-http-status (when an HTTP response
// came back), formance-attempts, formance-idempotency-key (when one was sent), and
// formance-cache: hit on a cache hit.
//
// Errors: UNIMPLEMENTED for a method that is not in the table, INVALID_ARGUMENT for a request
// that does not parse or cannot be encoded (a header field or the idempotency-key metadata that
// is not a valid HTTP header value, a '.'/'..' path parameter, a URL or headers over limits:
// see request_encoder.h; nothing is sent then), UNAUTHENTICATED / PERMISSION_DENIED /
// RESOURCE_EXHAUSTED from the caller policy, RESOURCE_EXHAUSTED when
// limits.max_calls_in_flight calls are being served (admission filter), the error mapper's code
// for a non-success HTTP status, the chain's status for transport, token and deadline failures.
//
// Metrics: a call of a known method is counted (MethodMetrics::Started, then Handled with its
// final code and latency, refused requests included) in the entry's series.
//
// Thread safety: HandleUnary may be called concurrently; everything it holds is immutable or
// thread-safe. Logs one line per call (server/util/call_log.h: method, operation id, HTTP
// status, code, attempts, latency, trace id) in the daemon's log format; never bodies, headers
// or tokens.
#ifndef FGW_SERVER_ENGINE_TRANSCODING_HANDLER_H_
#define FGW_SERVER_ENGINE_TRANSCODING_HANDLER_H_

#include <string>

#include "server/chain/upstream_chain.h"
#include "server/config/gateway_config.h"
#include "server/engine/method_table.h"
#include "server/grpc/call_handler.h"
#include "server/routing/api_descriptors.h"
#include "server/util/clock.h"

namespace fgw {

class TranscodingHandler : public UnaryCallHandler {
 public:
  // Not owned; all must outlive the handler.
  TranscodingHandler(const ApiDescriptors* descriptors,
                     const MethodTable* methods, UpstreamChain* chain,
                     Clock* clock, const UpstreamLimits& limits);

  void HandleUnary(const IncomingCall& call, std::string request,
                   std::function<void(CallResult)> done) override;

 private:
  const ApiDescriptors* const descriptors_;
  const MethodTable* const methods_;
  UpstreamChain* const chain_;
  Clock* const clock_;
  const UpstreamLimits limits_;
};

}  // namespace fgw

#endif  // FGW_SERVER_ENGINE_TRANSCODING_HANDLER_H_
