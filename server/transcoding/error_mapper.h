// MapHttpError: a non-success REST response -> a rich absl::Status.
//
// Status code by HTTP status:
//   | HTTP                      | gRPC code            | note                                   |
//   |---------------------------|----------------------|----------------------------------------|
//   | 400, 422                  | INVALID_ARGUMENT     | also INSUFFICIENT_FUND etc.: see reason |
//   | 401                       | UNAUTHENTICATED      |                                        |
//   | 403                       | PERMISSION_DENIED    |                                        |
//   | 404                       | NOT_FOUND            |                                        |
//   | 405                       | UNIMPLEMENTED        |                                        |
//   | 408                       | DEADLINE_EXCEEDED    | upstream request timeout               |
//   | 409 on POST, errorCode    | ALREADY_EXISTS       | a create that collides (duplicate      |
//   |   contains CONFLICT or    |                      |   reference, ledger already exists)    |
//   |   ALREADY_EXIST           |                      |                                        |
//   | 409 otherwise             | ABORTED              | concurrency conflict: retry higher up  |
//   | 412, 428                  | FAILED_PRECONDITION  |                                        |
//   | 429                       | RESOURCE_EXHAUSTED   |                                        |
//   | 499                       | CANCELLED            |                                        |
//   | 3xx (redirects)           | FAILED_PRECONDITION  | never followed: "check upstream.url"   |
//   | other 4xx                 | FAILED_PRECONDITION  |                                        |
//   | 500                       | INTERNAL             |                                        |
//   | 501                       | UNIMPLEMENTED        |                                        |
//   | 502, 503, 504             | UNAVAILABLE          | 504 too: the gateway's own deadline    |
//   |                           |                      |   gives DEADLINE_EXCEEDED elsewhere    |
//   | other 5xx                 | INTERNAL             |                                        |
//   | anything else (1xx)       | UNKNOWN              | not declared as success                |
//
// Message: "<module> <http status>: <errorCode>: <errorMessage>" when the body is a Formance
// error object (`errorCode`, `errorMessage`, optional `details`); "<module> <http status>:
// <errorMessage>" or "<module> <http status>: <errorCode>" when only one is present; else
// "<module> <http status> <reason phrase>"; for a 3xx "<module> 302 redirect: the gateway never
// follows redirects; check upstream.url (Location: ...)". The raw body is never copied into the
// message. errorCode is cut to 128 bytes, errorMessage to 512, Location to 256; gRPC's status
// conversion bounds the whole message and the details again (status_details.h).
// Details: google.rpc.ErrorInfo {reason: errorCode or "HTTP_<status>", domain: route.module,
// metadata: http_status, operation_id (when known), details (a string, or compact JSON of a
// non-string value, cut to 1 KiB)}; the HTTP status payload (WithHttpStatus); and when
// MethodRules.declared_responses lists the status with a message_type, the body decoded into
// that type attached with WithDetail (ledger v2 bulk's 400 keeps its per-element results).
// A body that does not decode into the declared type is left out (the status is still built).
//
// Thread safety: stateless functions.
#ifndef FGW_SERVER_TRANSCODING_ERROR_MAPPER_H_
#define FGW_SERVER_TRANSCODING_ERROR_MAPPER_H_

#include "absl/status/status.h"
#include "server/routing/api_descriptors.h"
#include "server/routing/route_table.h"
#include "server/upstream/http_message.h"

namespace fgw {

// 2xx, or a status listed in MethodRules.success_status.
bool IsSuccess(const Route& route, int http_status);

// The gRPC code of the table above (`error_code` is the body's errorCode, may be empty).
absl::StatusCode HttpStatusToCode(int http_status,
                                  absl::string_view http_method,
                                  absl::string_view error_code);

// Never returns OK (a success status passed in by mistake maps to UNKNOWN).
absl::Status MapHttpError(const Route& route, const HttpResponse& response,
                          const ApiDescriptors& descriptors);

}  // namespace fgw

#endif  // FGW_SERVER_TRANSCODING_ERROR_MAPPER_H_
