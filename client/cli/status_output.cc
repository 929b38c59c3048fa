#include "client/cli/status_output.h"

#include <cstdint>

#include "absl/strings/str_cat.h"
#include "google/protobuf/io/coded_stream.h"
#include "google/protobuf/wire_format_lite.h"

namespace fgw::cli {
namespace {

using google::protobuf::internal::WireFormatLite;

// Calls `f(field_number, bytes)` for each length-delimited field of `message`; false when the
// bytes are not a well-formed message.
template <typename F>
bool ForEachBytesField(absl::string_view message, F f) {
  google::protobuf::io::CodedInputStream in(
      reinterpret_cast<const uint8_t*>(message.data()),
      static_cast<int>(message.size()));
  while (uint32_t tag = in.ReadTag()) {
    if (WireFormatLite::GetTagWireType(tag) !=
        WireFormatLite::WIRETYPE_LENGTH_DELIMITED) {
      if (!WireFormatLite::SkipField(&in, tag)) return false;
      continue;
    }
    uint32_t length = 0;
    std::string bytes;
    if (!in.ReadVarint32(&length) ||
        !in.ReadString(&bytes, static_cast<int>(length))) {
      return false;
    }
    f(WireFormatLite::GetTagFieldNumber(tag), bytes);
  }
  return in.ConsumedEntireMessage();
}

}  // namespace

std::string StatusCodeName(int code) {
  static const char* const kNames[] = {"OK",
                                       "CANCELLED",
                                       "UNKNOWN",
                                       "INVALID_ARGUMENT",
                                       "DEADLINE_EXCEEDED",
                                       "NOT_FOUND",
                                       "ALREADY_EXISTS",
                                       "PERMISSION_DENIED",
                                       "RESOURCE_EXHAUSTED",
                                       "FAILED_PRECONDITION",
                                       "ABORTED",
                                       "OUT_OF_RANGE",
                                       "UNIMPLEMENTED",
                                       "INTERNAL",
                                       "UNAVAILABLE",
                                       "DATA_LOSS",
                                       "UNAUTHENTICATED"};
  if (code < 0 || code >= static_cast<int>(std::size(kNames))) {
    return absl::StrCat("CODE(", code, ")");
  }
  return kNames[code];
}

std::optional<ErrorInfo> FindErrorInfo(absl::string_view rpc_status) {
  std::optional<ErrorInfo> found;
  // google.rpc.Status: details = 3 (repeated Any: type_url = 1, value = 2).
  ForEachBytesField(rpc_status, [&](int number, const std::string& any) {
    if (number != 3 || found) return;
    std::string type_url, value;
    ForEachBytesField(any, [&](int n, const std::string& bytes) {
      if (n == 1) type_url = bytes;
      if (n == 2) value = bytes;
    });
    if (type_url == kErrorInfoTypeUrl) found = ParseErrorInfo(value);
  });
  return found;
}

std::string FormatError(int code, absl::string_view message,
                        absl::string_view rpc_status) {
  std::string out =
      absl::StrCat("ERROR ", StatusCodeName(code), ": ", message, "\n");
  if (std::optional<ErrorInfo> info = FindErrorInfo(rpc_status)) {
    absl::StrAppend(&out, "  reason: ", info->reason,
                    "\n  domain: ", info->domain, "\n");
    for (const auto& [key, value] : info->metadata) {
      absl::StrAppend(&out, "  ", key, ": ", value, "\n");
    }
  }
  return out;
}

}  // namespace fgw::cli
