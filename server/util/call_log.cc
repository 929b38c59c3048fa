#include "server/util/call_log.h"

#include <atomic>
#include <cstdio>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"

namespace fgw {
namespace {

std::atomic<LogFormat> g_format{LogFormat::kText};

// Length of the valid UTF-8 sequence starting at s[i], or 0.
size_t Utf8Length(absl::string_view s, size_t i) {
  const unsigned char c = static_cast<unsigned char>(s[i]);
  size_t n;
  uint32_t min;
  if (c < 0x80) return 1;
  if ((c & 0xe0) == 0xc0) {
    n = 2;
    min = 0x80;
  } else if ((c & 0xf0) == 0xe0) {
    n = 3;
    min = 0x800;
  } else if ((c & 0xf8) == 0xf0) {
    n = 4;
    min = 0x10000;
  } else {
    return 0;
  }
  if (i + n > s.size()) return 0;
  uint32_t cp = c & (0xff >> (n + 1));
  for (size_t k = 1; k < n; ++k) {
    const unsigned char cc = static_cast<unsigned char>(s[i + k]);
    if ((cc & 0xc0) != 0x80) return 0;
    cp = (cp << 6) | (cc & 0x3f);
  }
  if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) return 0;
  return n;
}

}  // namespace

void SetLogFormat(LogFormat format) {
  g_format.store(format, std::memory_order_relaxed);
}

LogFormat LogFormatInUse() { return g_format.load(std::memory_order_relaxed); }

void AppendJsonString(std::string* out, absl::string_view value) {
  out->push_back('"');
  for (size_t i = 0; i < value.size();) {
    const char c = value[i];
    switch (c) {
      case '"':
        out->append("\\\"");
        ++i;
        continue;
      case '\\':
        out->append("\\\\");
        ++i;
        continue;
      case '\n':
        out->append("\\n");
        ++i;
        continue;
      case '\r':
        out->append("\\r");
        ++i;
        continue;
      case '\t':
        out->append("\\t");
        ++i;
        continue;
      default:
        break;
    }
    const unsigned char u = static_cast<unsigned char>(c);
    if (u < 0x20 || u == 0x7f) {
      absl::StrAppendFormat(out, "\\u%04x", u);
      ++i;
      continue;
    }
    const size_t n = Utf8Length(value, i);
    if (n == 0) {
      out->append("\\ufffd");
      ++i;
      continue;
    }
    out->append(value.data() + i, n);
    i += n;
  }
  out->push_back('"');
}

std::string FormatCallLog(const CallLogRecord& r, LogFormat format) {
  const std::string code = absl::StatusCodeToString(r.code);
  const double ms = absl::ToDoubleMilliseconds(r.latency);
  std::string out;
  if (format == LogFormat::kText) {
    absl::StrAppend(&out, "call ", r.method);
    if (!r.operation_id.empty()) absl::StrAppend(&out, " op=", r.operation_id);
    absl::StrAppend(&out, " http=", r.http_status, " code=", code,
                    " attempts=", r.attempts);
    if (r.cache_hit) out.append(" cache=hit");
    absl::StrAppendFormat(&out, " %.1fms", ms);
    if (!r.trace_id.empty()) absl::StrAppend(&out, " trace=", r.trace_id);
    if (!r.caller.empty()) {
      out.append(" caller=");
      AppendJsonString(&out,
                       r.caller);  // Quoted: a caller name may hold spaces.
    }
    return out;
  }
  out.push_back(kJsonFieldsMarker);
  out.append("\"msg\":\"call\",\"method\":");
  AppendJsonString(&out, r.method);
  out.append(",\"operation_id\":");
  AppendJsonString(&out, r.operation_id);
  out.append(",\"grpc_code\":");
  AppendJsonString(&out, code);
  absl::StrAppend(&out, ",\"http_status\":", r.http_status,
                  ",\"attempts\":", r.attempts);
  absl::StrAppendFormat(&out, ",\"latency_ms\":%.3f", ms);
  out.append(",\"trace_id\":");
  AppendJsonString(&out, r.trace_id);
  if (r.cache_hit) out.append(",\"cache\":\"hit\"");
  if (!r.caller.empty()) {
    out.append(",\"caller\":");
    AppendJsonString(&out, r.caller);
  }
  return out;
}

}  // namespace fgw
