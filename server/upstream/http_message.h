// HttpRequest / HttpResponse: the REST call as plain data, between the transcoder (which builds
// it from a protobuf message) and the transport (which sends it). Nothing here knows protobuf
// or gRPC.
#ifndef FGW_SERVER_UPSTREAM_HTTP_MESSAGE_H_
#define FGW_SERVER_UPSTREAM_HTTP_MESSAGE_H_

#include <string>
#include <utility>
#include <vector>

#include "absl/strings/string_view.h"

namespace fgw {

// Formance's idempotency header (ledger v2, wallets and webhooks writes).
inline constexpr char kIdempotencyKeyHeader[] = "Idempotency-Key";

using HttpHeaders = std::vector<std::pair<std::string, std::string>>;

// Returns the first header named `name` (ASCII case-insensitive), or nullptr.
const std::string* FindHeader(const HttpHeaders& headers,
                              absl::string_view name);
// Replaces every header named `name` (case-insensitive) with one `name: value`.
void SetHeader(HttpHeaders& headers, absl::string_view name, std::string value);

struct HttpRequest {
  std::string method;  // "GET", "POST", "PUT", "PATCH", "DELETE", "HEAD".
  std::string
      path_and_query;  // Already percent-encoded: "/api/ledger/v2/l1/transactions?pageSize=2".
  HttpHeaders
      headers;  // Content-Type, Idempotency-Key, Accept...; never Authorization here.
  std::string body;  // Raw bytes; empty when the operation has no body.
};

struct HttpResponse {
  int status = 0;
  HttpHeaders headers;  // Names as received.
  std::string body;
};

}  // namespace fgw

#endif  // FGW_SERVER_UPSTREAM_HTTP_MESSAGE_H_
