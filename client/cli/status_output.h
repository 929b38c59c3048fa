// How formance-grpc-cli prints a failed call: the code's name (NOT_FOUND, not 5), the message,
// and the google.rpc.ErrorInfo found in the status details (grpc-status-details-bin), e.g.
//
//   ERROR NOT_FOUND: ledger not found
//     reason: NOT_FOUND
//     domain: ledger.formance.com
//     http_status: 404
//
// Pure functions; details are untrusted bytes (a malformed google.rpc.Status prints no detail).
#ifndef FGW_CLIENT_CLI_STATUS_OUTPUT_H_
#define FGW_CLIENT_CLI_STATUS_OUTPUT_H_

#include <optional>
#include <string>

#include "absl/strings/string_view.h"
#include "server/util/status_details.h"

namespace fgw::cli {

// "OK", "CANCELLED", ..., "UNAUTHENTICATED"; "CODE(<n>)" for a number outside 0..16.
std::string StatusCodeName(int code);

// The first google.rpc.ErrorInfo among a serialized google.rpc.Status's details.
std::optional<ErrorInfo> FindErrorInfo(absl::string_view rpc_status);

// The text above: "ERROR <NAME>: <message>\n" then the ErrorInfo lines, if any.
std::string FormatError(int code, absl::string_view message,
                        absl::string_view rpc_status);

}  // namespace fgw::cli

#endif  // FGW_CLIENT_CLI_STATUS_OUTPUT_H_
