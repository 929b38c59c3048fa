// TranscodingHandler: the UnaryCallHandler that turns one gRPC call into one REST exchange:
// route lookup -> parse the request -> encode the HTTP request -> upstream pipeline (cache,
// retries, idempotency key, token, transport) -> decode the response or map the error.
//
// Request metadata the caller may set (all optional):
//   idempotency-key          used as Idempotency-Key when the request field is empty;
//   x-formance-max-attempts  lowers the attempt limit for this call (1 = no retry);
//   x-formance-cache         "no-cache" bypasses the response cache.
// Trailing metadata on every answered call: formance-http-status (when an HTTP response
// came back), formance-attempts, formance-idempotency-key (when one was sent), and
// formance-cache: hit on a cache hit.
//
// Errors: RESOURCE_EXHAUSTED at once when limits.max_calls_in_flight calls are being served
// (CallsInFlight), UNIMPLEMENTED for a method that is not a route, INVALID_ARGUMENT for a
// request that does not parse or cannot be encoded (a header field or the idempotency-key
// metadata that is not a valid HTTP header value, a '.'/'..' path parameter, a URL or headers
// over limits: see request_encoder.h; nothing is sent then), the error mapper's code for a non-success HTTP status,
// the pipeline's status for transport, token and deadline failures.
//
// Thread safety: HandleUnary may be called concurrently; everything it holds is immutable or
// thread-safe. Logs one line per call (method, HTTP status, attempts, latency); never bodies,
// headers or tokens.
#ifndef FGW_SERVER_ENGINE_TRANSCODING_HANDLER_H_
#define FGW_SERVER_ENGINE_TRANSCODING_HANDLER_H_

#include <memory>
#include <string>

#include "absl/container/flat_hash_map.h"
#include "server/admission/calls_in_flight.h"
#include "server/config/gateway_config.h"
#include "server/grpc/call_handler.h"
#include "server/proxy/upstream_caller.h"
#include "server/routing/api_descriptors.h"
#include "server/routing/route_table.h"
#include "server/util/clock.h"

namespace fgw {

class TranscodingHandler : public UnaryCallHandler {
 public:
  // Not owned; all must outlive the handler.
  TranscodingHandler(const ApiDescriptors* descriptors,
                     const RouteTable* routes, UpstreamCaller* caller,
                     Clock* clock, const CacheConfig& cache_config,
                     const LimitsConfig& limits = LimitsConfig());

  void HandleUnary(const IncomingCall& call, std::string request,
                   std::function<void(CallResult)> done) override;

 private:
  struct RoutePlan {
    const Route* route;
    const google::protobuf::Message* request_prototype;
    const google::protobuf::Message* response_prototype;
    UpstreamCallSpec spec;
  };

  const ApiDescriptors* descriptors_;
  UpstreamCaller* caller_;
  Clock* clock_;
  const UpstreamLimits limits_;
  CallsInFlight in_flight_;
  absl::flat_hash_map<std::string, RoutePlan>
      plans_;  // Keyed by gRPC method; immutable.
};

// The cache TTL configured for `grpc_method` ("/pkg.Service/Method"), zero when not cached.
// Rules match "pkg.Service/Method", "pkg.Service/*" or "pkg.*"; the first match wins.
absl::Duration CacheTtlFor(const CacheConfig& config,
                           absl::string_view grpc_method);

}  // namespace fgw

#endif  // FGW_SERVER_ENGINE_TRANSCODING_HANDLER_H_
