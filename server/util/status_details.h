// Rich error details carried inside absl::Status between layers, and their encoding as the
// `google.rpc.Status` that gRPC sends in the `grpc-status-details-bin` trailer.
//
// Conventions (absl::Status payloads):
// - A payload whose type URL starts with "type.googleapis.com/" is a status detail: its value is
//   the serialized message, sent as a google.protobuf.Any in google.rpc.Status.details.
// - kHttpStatusPayload holds the upstream HTTP status in decimal, for whoever inspects the
//   status (the engine sends the HTTP status to callers as the kHttpStatusTrailer trailer).
// google.rpc.ErrorInfo is written from its wire format (reason = 1, domain = 2, metadata = 3),
// since Debian's googleapis copy has no ErrorInfo.
#ifndef FGW_SERVER_UTIL_STATUS_DETAILS_H_
#define FGW_SERVER_UTIL_STATUS_DETAILS_H_

#include <map>
#include <optional>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"

namespace fgw {

inline constexpr char kTypeUrlPrefix[] = "type.googleapis.com/";
inline constexpr char kErrorInfoTypeUrl[] =
    "type.googleapis.com/google.rpc.ErrorInfo";
inline constexpr char kHttpStatusPayload[] = "fgw/http-status";
inline constexpr char kHttpStatusTrailer[] = "formance-http-status";

struct ErrorInfo {
  std::string reason;
  std::string domain;
  std::map<std::string, std::string> metadata;
};

std::string SerializeErrorInfo(const ErrorInfo& info);
std::optional<ErrorInfo> ParseErrorInfo(absl::string_view bytes);

// Returns `status` with an ErrorInfo detail attached.
absl::Status WithErrorInfo(absl::Status status, const ErrorInfo& info);
// Returns `status` with a detail of any message type (`full_name` like
// "formance.ledger.v2.CreateBulkResponse", `bytes` its serialization) attached.
absl::Status WithDetail(absl::Status status, absl::string_view full_name,
                        std::string bytes);
absl::Status WithHttpStatus(absl::Status status, int http_status);
// The upstream HTTP status attached by WithHttpStatus, if any.
std::optional<int> GetHttpStatus(const absl::Status& status);

// Serializes google.rpc.Status {code, message, details} for `grpc-status-details-bin`.
// Returns "" when the status carries no detail.
std::string SerializeRpcStatusDetails(const absl::Status& status);

// Bounds for what a status may put in gRPC trailers. gRPC C++ and Python clients refuse
// trailers over 8 KiB (grpc.max_metadata_size), and then report RESOURCE_EXHAUSTED instead of
// the real code: message (percent-encoded, up to 3x) plus details (base64, 4/3x) stay well
// under that.
inline constexpr size_t kMaxStatusMessageBytes = 512;
inline constexpr size_t kMaxStatusDetailsBytes = 3072;

// `text` cut to at most `max` bytes without splitting a UTF-8 sequence, "..." appended when
// cut (the result is then at most max + 3 bytes).
std::string TruncateUtf8(absl::string_view text, size_t max);

// As SerializeRpcStatusDetails, with the message cut to kMaxStatusMessageBytes and the result
// at most `max_bytes`: the ErrorInfo detail goes first, with its reason cut to 128 bytes and its
// metadata values to 256 (entries that do not fit are dropped); any other detail that does not
// fit is left out and named in ErrorInfo metadata "omitted_details" ("<type> (<n> bytes)").
std::string SerializeBoundedRpcStatusDetails(
    const absl::Status& status, size_t max_bytes = kMaxStatusDetailsBytes);

}  // namespace fgw

#endif  // FGW_SERVER_UTIL_STATUS_DETAILS_H_
