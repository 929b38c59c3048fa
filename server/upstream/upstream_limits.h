// UpstreamLimits: the size and count bounds of what the gateway sends to and accepts from
// Formance. The defaults here are the only place they are declared: GatewayConfig's `limits`
// section holds one of these, the transport and the request encoder read it.
//
// | field                    | default | beyond it                                          |
// |--------------------------|---------|----------------------------------------------------|
// | max_request_target_bytes | 8 KiB   | INVALID_ARGUMENT before anything is sent           |
// | max_request_header_bytes | 16 KiB  | INVALID_ARGUMENT before anything is sent           |
// | max_response_bytes       | 8 MiB   | RESOURCE_EXHAUSTED, counted while the body arrives |
// | max_connections          | 256     | the request waits for a free connection, bounded   |
// |                          |         | by its deadline (DEADLINE_EXCEEDED, never sent)    |
#ifndef FGW_SERVER_UPSTREAM_UPSTREAM_LIMITS_H_
#define FGW_SERVER_UPSTREAM_UPSTREAM_LIMITS_H_

#include <cstdint>

namespace fgw {

struct UpstreamLimits {
  // Bytes of the request target (path and query, percent-encoded) of one request. Common
  // proxies and load balancers refuse more than 8 KiB.
  int64_t max_request_target_bytes = 8 << 10;
  // Bytes of all request headers the gateway writes (names, values, ": " and CRLF; the
  // Authorization header included).
  int64_t max_request_header_bytes = 16 << 10;
  // Bytes of one response body. A page of 1,000 ledger transactions is about 1 MiB.
  int64_t max_response_bytes = 8 << 20;
  // Connections to the upstream open at once (requests in flight on the wire).
  int max_connections = 256;
};

}  // namespace fgw

#endif  // FGW_SERVER_UPSTREAM_UPSTREAM_LIMITS_H_
