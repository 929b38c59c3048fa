// The one definition of what may leave the process on an HTTP request line or header line.
// cpprestsdk writes request targets and header fields as given (CR/LF included), so every byte
// the gateway puts on the wire is checked here first: the request encoder checks each field it
// turns into a header (naming the field), and the transport checks the whole request once more
// just before sending (CheckOutgoingRequest), tokens and metadata-derived headers included.
//
// Rules (stricter than RFC 9110 where the gateway never needs more):
// - header name: an RFC 9110 token (1*tchar);
// - header value: visible ASCII (0x21-0x7E) with single inner spaces allowed, no leading or
//   trailing space, no HTAB, no obs-text (bytes >= 0x80) and no control byte; may be empty;
// - request target: origin-form, starting with '/', only RFC 3986 pchar/query bytes
//   (unreserved, sub-delims, ':', '@', '/', '?') and well-formed %XX escapes; no path segment
//   that is, or percent-decodes to, "." or "..".
// Messages name the header (or say "request target") and the offending byte's offset and hex
// value; they never contain the value itself (an Authorization header is a secret).
//
// Thread safety: pure functions.
#ifndef FGW_SERVER_UPSTREAM_HTTP_FIELD_H_
#define FGW_SERVER_UPSTREAM_HTTP_FIELD_H_

#include <cstddef>
#include <optional>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "server/upstream/http_message.h"
#include "server/upstream/upstream_limits.h"

namespace fgw {

bool IsHttpToken(absl::string_view name);

// The offset of the first byte that makes `value` not a header value under the rules above,
// or nullopt when it is one.
std::optional<size_t> FirstInvalidFieldValueByte(absl::string_view value);

// True for a whole path segment (already percent-encoded or not) that is "." or ".." or
// percent-decodes to one of them ("%2E", ".%2e", ...).
bool IsDotSegment(absl::string_view segment);

// INVALID_ARGUMENT "<what> must be a valid HTTP header value (visible ASCII and inner spaces):
// byte 0x0D at offset 3" or "<what> is N bytes, over the limit of M", else OK. `what` names the
// value for the caller: "field 'if_none_match' (header If-None-Match)".
absl::Status CheckFieldValue(absl::string_view what, absl::string_view value,
                             size_t max_bytes);

// Checks a whole request against the rules above and `limits` (target and header bytes).
// INVALID_ARGUMENT naming the header or the request target; OK when it may be sent.
absl::Status CheckOutgoingRequest(const HttpRequest& request,
                                  const UpstreamLimits& limits);

}  // namespace fgw

#endif  // FGW_SERVER_UPSTREAM_HTTP_FIELD_H_
