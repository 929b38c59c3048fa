// CallLog: the one log line of each Formance call, in the daemon's log format.
//
//   text (default):
//     call /formance.ledger.v2.LedgerService/GetAccount op=v2GetAccount http=200 code=OK
//       attempts=1 2.1ms trace=4bf92f3577b34da6a3ce929d0e0e4736        (one line)
//   json: the message is kJsonFieldsMarker followed by JSON object members
//     "msg":"call","method":"...","operation_id":"...","grpc_code":"OK","http_status":200,
//     "attempts":1,"latency_ms":2.1,"trace_id":"..."(,"cache":"hit")(,"caller":"...")
//   which the JSON log formatter (server/app/logging_setup.h) splices into its object after
//   "time" and "level". Any other message is written by that formatter as "msg":"<escaped>".
//
// What a record holds is chosen so a line can never carry a secret, a body or a header value:
// the method and operation id come from the compiled method table, the trace id is validated
// hex, the caller is the identity the admission layer established. Strings are JSON-escaped
// anyway (AppendJsonString), so no input can break the line or the object.
//
// Thread safety: SetLogFormat is meant for startup and reload; LogFormatInUse and the
// formatting functions may be called from any thread.
#ifndef FGW_SERVER_UTIL_CALL_LOG_H_
#define FGW_SERVER_UTIL_CALL_LOG_H_

#include <string>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"

namespace fgw {

enum class LogFormat { kText, kJson };

// Starts a message made of JSON object members (never the first byte of a text message: an
// ASCII record separator).
inline constexpr char kJsonFieldsMarker = '\x1e';

void SetLogFormat(LogFormat format);
LogFormat LogFormatInUse();

struct CallLogRecord {
  absl::string_view method;        // "/pkg.Service/Method".
  absl::string_view operation_id;  // The spec's; may be empty.
  absl::StatusCode code = absl::StatusCode::kOk;
  int http_status = 0;  // 0: no HTTP answer.
  int attempts = 0;
  bool cache_hit = false;
  absl::Duration latency;
  absl::string_view trace_id;  // May be empty.
  absl::string_view caller;    // May be empty (no caller identity configured).
};

// The message for `record` in `format` (see above).
std::string FormatCallLog(const CallLogRecord& record, LogFormat format);

// Appends `value` as a JSON string (quotes included): ", \ and control characters escaped,
// bytes that are not valid UTF-8 replaced by U+FFFD.
void AppendJsonString(std::string* out, absl::string_view value);

}  // namespace fgw

#endif  // FGW_SERVER_UTIL_CALL_LOG_H_
