// Logging setup: one spdlog default logger for the whole daemon, plain text lines on stderr
//   2026-11-26T10:04:05.123456Z info grpc: listening on 127.0.0.1:50051 (12 services)
// (UTC, level name, message; no colours, one line per event, so container log collectors
// parse it). gRPC's own gpr_log lines are routed into the same logger ("grpc-core: ...").
//
// Call once, early in main(), before other threads log. Thread safety of logging afterwards:
// spdlog's _mt sinks.
#ifndef FGW_SERVER_APP_LOGGING_SETUP_H_
#define FGW_SERVER_APP_LOGGING_SETUP_H_

#include <string>

#include "absl/status/status.h"

namespace fgw {

// `level`: trace, debug, info, warn, error, critical or off. INVALID_ARGUMENT otherwise (the
// logger is still installed, at info).
absl::Status SetupLogging(const std::string& level);

}  // namespace fgw

#endif  // FGW_SERVER_APP_LOGGING_SETUP_H_
