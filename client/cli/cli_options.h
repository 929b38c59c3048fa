// Command line of formance-grpc-cli, with grpcurl's habits:
//
//   formance-grpc-cli [--addr=HOST:PORT|unix:PATH] [--timeout=10s] [-H 'key: value']...
//                     [-d '{json}' | -d @] COMMAND
//   COMMAND: list [SERVICE] | describe SYMBOL | health [SERVICE]
//          | call METHOD [JSON|-] | METHOD
//
// METHOD: "formance.ledger.v2.LedgerService/ListLedgers", "...LedgerService.ListLedgers" or the
// short "ledger.v2.ListLedgers". -d '@' (or a JSON argument "-") reads the request from stdin.
// -H takes grpcurl's "key: value" (and "key=value"); keys are lower-cased, as gRPC requires;
// an illegal key (characters other than 0-9 a-z - _ ., or grpc-*) or a non-printable value
// (unless the key ends in -bin) is a usage error (gRPC would abort the process).
// -plaintext is accepted and ignored (the CLI speaks plaintext).
#ifndef FGW_CLIENT_CLI_CLI_OPTIONS_H_
#define FGW_CLIENT_CLI_CLI_OPTIONS_H_

#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"

namespace fgw::cli {

inline constexpr char kDefaultAddr[] = "127.0.0.1:50051";

struct Options {
  std::string addr = kDefaultAddr;
  absl::Duration timeout = absl::Seconds(10);
  std::vector<std::pair<std::string, std::string>> metadata;
  // "list", "describe", "health" or "call" (a bare METHOD becomes "call").
  std::string command;
  // The command's arguments: call -> {METHOD}; list/health -> {} or {NAME}.
  std::vector<std::string> args;
  // Request JSON for call: from -d or the positional argument; "-" means stdin; empty: "{}".
  std::string data;
};

// INVALID_ARGUMENT naming the offending argument on a usage error.
absl::StatusOr<Options> ParseOptions(const std::vector<std::string>& argv);

// The usage text (ends with a newline).
const char* UsageText();

}  // namespace fgw::cli

#endif  // FGW_CLIENT_CLI_CLI_OPTIONS_H_
