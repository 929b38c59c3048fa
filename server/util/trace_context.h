// TraceContext: W3C Trace Context (https://www.w3.org/TR/trace-context/) as the gateway passes
// it on: the caller's trace (from the `traceparent` / `tracestate` gRPC metadata), validated
// strictly, or a new one; each upstream attempt then gets a new span id whose parent is the
// caller's span (FormatTraceParent).
//
// ParseTraceParent accepts "00-<trace-id>-<parent-id>-<flags>": version 00 exactly 55
// characters; a later version (01..fe) at least 55 characters, its first four fields as for 00
// and anything after them starting with '-' (the spec's forward compatibility). Lower-case hex
// only; a trace id or parent id of all zeros, version ff, upper-case hex, spaces or any other
// byte make it invalid. An invalid traceparent means a new trace (NewTrace), and the tracestate
// that came with it is dropped.
//
// ParseTraceState keeps the caller's tracestate when it is valid: at most 512 bytes and 32
// list members, each "key=value" with the spec's key grammar (lower-case letters, digits,
// `_-*/`, an optional "tenant@system" form) and value characters (printable ASCII 0x20-0x7e
// except ',' and '=', not ending in a space); empty members (",,") are allowed and dropped.
// Otherwise it is dropped whole (never repaired).
//
// Thread safety: pure functions; TraceContext is a value.
#ifndef FGW_SERVER_UTIL_TRACE_CONTEXT_H_
#define FGW_SERVER_UTIL_TRACE_CONTEXT_H_

#include <cstdint>
#include <optional>
#include <string>

#include "absl/strings/string_view.h"
#include "server/util/random.h"

namespace fgw {

struct TraceContext {
  std::string trace_id;  // 32 lower-case hex digits, not all zero.
  std::string
      parent_id;  // The caller's span: 16 hex digits; empty for a new trace.
  uint8_t flags = 0;       // trace-flags; bit 0 = sampled.
  std::string tracestate;  // Validated; empty when none.
  bool from_caller = false;
};

inline constexpr char kTraceParentHeader[] = "traceparent";
inline constexpr char kTraceStateHeader[] = "tracestate";

std::optional<TraceContext> ParseTraceParent(absl::string_view value);
// The tracestate to pass on ("" when `value` is invalid or empty).
std::string ParseTraceState(absl::string_view value);

// A new trace: random non-zero trace id, no parent, sampled flag set (the gateway starts the
// trace, so Formance records it).
TraceContext NewTrace(Random& random);

// The caller's trace when `traceparent` is valid (with its tracestate if valid), else NewTrace.
TraceContext TraceFromCaller(absl::string_view traceparent,
                             absl::string_view tracestate, Random& random);

// A random non-zero span id: 16 lower-case hex digits.
std::string NewSpanId(Random& random);

// "00-<trace_id>-<span_id>-<flags>".
std::string FormatTraceParent(const TraceContext& trace,
                              absl::string_view span_id);

}  // namespace fgw

#endif  // FGW_SERVER_UTIL_TRACE_CONTEXT_H_
