// Logging setup: one spdlog default logger for the whole daemon, one line per event on
// stderr, in one of two formats (log.format):
//   text (default)  2026-11-26T10:04:05.123456Z info grpc: listening on 127.0.0.1:50051 (12 services)
//                   (UTC, level name, message; no colours)
//   json            {"time":"2026-11-26T10:04:05.123456Z","level":"info","msg":"grpc: listening ..."}
//                   one JSON object per line; a call's line carries its fields instead of "msg"
//                   text (server/util/call_log.h: method, operation_id, grpc_code,
//                   http_status, attempts, latency_ms, trace_id).
// gRPC's own gpr_log lines are routed into the same logger ("grpc-core: ...").
//
// Call SetupLogging once, early in main(), before other threads log; SetLogLevel may be called
// later (a reload) from any thread. Thread safety of logging afterwards: spdlog's _mt sinks.
#ifndef FGW_SERVER_APP_LOGGING_SETUP_H_
#define FGW_SERVER_APP_LOGGING_SETUP_H_

#include <memory>
#include <string>

#include "absl/status/status.h"
#include "spdlog/formatter.h"

namespace fgw {

// `level`: trace, debug, info, warn, error, critical or off; `format`: text or json.
// INVALID_ARGUMENT for either unknown (the logger is still installed, at info, as text).
absl::Status SetupLogging(const std::string& level,
                          const std::string& format = "text");

// Changes the level of the installed logger (and of gRPC's own logging). INVALID_ARGUMENT for
// an unknown level (nothing changes).
absl::Status SetLogLevel(const std::string& level);

// The json format's formatter (exposed for tests).
std::unique_ptr<spdlog::formatter> NewJsonFormatter();

}  // namespace fgw

#endif  // FGW_SERVER_APP_LOGGING_SETUP_H_
