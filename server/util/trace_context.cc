#include "server/util/trace_context.h"

#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"

namespace fgw {
namespace {

bool IsLowerHex(char c) {
  return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
}

bool AllLowerHex(absl::string_view s) {
  for (char c : s) {
    if (!IsLowerHex(c)) return false;
  }
  return true;
}

bool AllZero(absl::string_view s) {
  return s.find_first_not_of('0') == absl::string_view::npos;
}

int HexValue(char c) { return c <= '9' ? c - '0' : c - 'a' + 10; }

std::string Hex64(uint64_t v) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out(16, '0');
  for (int i = 15; i >= 0; --i) {
    out[i] = kDigits[v & 0xf];
    v >>= 4;
  }
  return out;
}

uint64_t NonZero64(Random& random) {
  for (int i = 0; i < 8; ++i) {  // A zero draw is 2^-64; bounded anyway.
    if (uint64_t v = random.Next64(); v != 0) return v;
  }
  return 1;
}

bool IsKeyChar(char c) {
  return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' ||
         c == '-' || c == '*' || c == '/';
}

// key = simple-key / multi-tenant-key (tenant@system); first char a letter (or digit for the
// tenant of a multi-tenant key).
bool ValidKey(absl::string_view key) {
  if (key.empty()) return false;
  const size_t at = key.find('@');
  if (at == absl::string_view::npos) {
    if (key.size() > 256 || !(key[0] >= 'a' && key[0] <= 'z')) return false;
    for (char c : key) {
      if (!IsKeyChar(c)) return false;
    }
    return true;
  }
  absl::string_view tenant = key.substr(0, at);
  absl::string_view system = key.substr(at + 1);
  if (tenant.empty() || tenant.size() > 241 || system.empty() ||
      system.size() > 14) {
    return false;
  }
  if (!((tenant[0] >= 'a' && tenant[0] <= 'z') ||
        (tenant[0] >= '0' && tenant[0] <= '9')) ||
      !(system[0] >= 'a' && system[0] <= 'z')) {
    return false;
  }
  for (char c : tenant) {
    if (!IsKeyChar(c)) return false;
  }
  for (char c : system) {
    if (!IsKeyChar(c)) return false;
  }
  return true;
}

bool ValidValue(absl::string_view value) {
  if (value.empty() || value.size() > 256 || value.back() == ' ') return false;
  for (char c : value) {
    if (c < 0x20 || c > 0x7e || c == ',' || c == '=') return false;
  }
  return true;
}

}  // namespace

std::optional<TraceContext> ParseTraceParent(absl::string_view value) {
  constexpr size_t kLength = 55;  // 2 + 1 + 32 + 1 + 16 + 1 + 2.
  if (value.size() < kLength) return std::nullopt;
  absl::string_view version = value.substr(0, 2);
  if (!AllLowerHex(version) || version == "ff") return std::nullopt;
  if (version == "00" ? value.size() != kLength
                      : (value.size() > kLength && value[kLength] != '-')) {
    return std::nullopt;
  }
  if (value[2] != '-' || value[35] != '-' || value[52] != '-') {
    return std::nullopt;
  }
  absl::string_view trace_id = value.substr(3, 32);
  absl::string_view parent_id = value.substr(36, 16);
  absl::string_view flags = value.substr(53, 2);
  if (!AllLowerHex(trace_id) || !AllLowerHex(parent_id) ||
      !AllLowerHex(flags) || AllZero(trace_id) || AllZero(parent_id)) {
    return std::nullopt;
  }
  TraceContext trace;
  trace.trace_id = std::string(trace_id);
  trace.parent_id = std::string(parent_id);
  trace.flags =
      static_cast<uint8_t>(HexValue(flags[0]) * 16 + HexValue(flags[1]));
  if (version != "00")
    trace.flags &= 0x01;  // Unknown flags of a later version.
  trace.from_caller = true;
  return trace;
}

std::string ParseTraceState(absl::string_view value) {
  if (value.empty() || value.size() > 512) return "";
  std::vector<absl::string_view> kept;
  for (absl::string_view member : absl::StrSplit(value, ',')) {
    // Optional white space (space, tab) around members.
    while (!member.empty() && (member.front() == ' ' || member.front() == '\t'))
      member.remove_prefix(1);
    while (!member.empty() && (member.back() == ' ' || member.back() == '\t'))
      member.remove_suffix(1);
    if (member.empty()) continue;
    const size_t eq = member.find('=');
    if (eq == absl::string_view::npos) return "";
    if (!ValidKey(member.substr(0, eq)) || !ValidValue(member.substr(eq + 1))) {
      return "";
    }
    kept.push_back(member);
    if (kept.size() > 32) return "";
  }
  std::string out;
  for (absl::string_view member : kept) {
    if (!out.empty()) out.push_back(',');
    absl::StrAppend(&out, member);
  }
  return out;
}

TraceContext NewTrace(Random& random) {
  TraceContext trace;
  const uint64_t high = random.Next64();
  const uint64_t low = high == 0 ? NonZero64(random) : random.Next64();
  trace.trace_id = absl::StrCat(Hex64(high), Hex64(low));
  trace.flags = 0x01;
  return trace;
}

TraceContext TraceFromCaller(absl::string_view traceparent,
                             absl::string_view tracestate, Random& random) {
  if (!traceparent.empty()) {
    if (std::optional<TraceContext> trace = ParseTraceParent(traceparent)) {
      trace->tracestate = ParseTraceState(tracestate);
      return *std::move(trace);
    }
  }
  return NewTrace(random);
}

std::string NewSpanId(Random& random) { return Hex64(NonZero64(random)); }

std::string FormatTraceParent(const TraceContext& trace,
                              absl::string_view span_id) {
  static constexpr char kDigits[] = "0123456789abcdef";
  const char flags[2] = {kDigits[trace.flags >> 4], kDigits[trace.flags & 0xf]};
  return absl::StrCat("00-", trace.trace_id, "-", span_id, "-",
                      absl::string_view(flags, 2));
}

}  // namespace fgw
