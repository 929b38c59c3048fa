#include "server/util/status_details.h"

#include <algorithm>
#include <optional>
#include <utility>
#include <vector>

#include "absl/strings/cord.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "google/protobuf/io/coded_stream.h"
#include "google/protobuf/io/zero_copy_stream_impl_lite.h"
#include "google/protobuf/wire_format_lite.h"

namespace fgw {
namespace {

using google::protobuf::internal::WireFormatLite;

void PutString(int field, absl::string_view value, std::string* out) {
  google::protobuf::io::StringOutputStream raw(out);
  google::protobuf::io::CodedOutputStream coded(&raw);
  coded.WriteTag(WireFormatLite::MakeTag(
      field, WireFormatLite::WIRETYPE_LENGTH_DELIMITED));
  coded.WriteVarint32(static_cast<uint32_t>(value.size()));
  coded.WriteRaw(value.data(), static_cast<int>(value.size()));
}

void PutVarint(int field, uint64_t value, std::string* out) {
  google::protobuf::io::StringOutputStream raw(out);
  google::protobuf::io::CodedOutputStream coded(&raw);
  coded.WriteTag(
      WireFormatLite::MakeTag(field, WireFormatLite::WIRETYPE_VARINT));
  coded.WriteVarint64(value);
}

}  // namespace

std::string SerializeErrorInfo(const ErrorInfo& info) {
  std::string out;
  if (!info.reason.empty()) PutString(1, info.reason, &out);
  if (!info.domain.empty()) PutString(2, info.domain, &out);
  for (const auto& [key, value] : info.metadata) {
    std::string entry;
    PutString(1, key, &entry);
    PutString(2, value, &entry);
    PutString(3, entry, &out);
  }
  return out;
}

std::optional<ErrorInfo> ParseErrorInfo(absl::string_view bytes) {
  ErrorInfo info;
  google::protobuf::io::CodedInputStream in(
      reinterpret_cast<const uint8_t*>(bytes.data()),
      static_cast<int>(bytes.size()));
  while (uint32_t tag = in.ReadTag()) {
    if (WireFormatLite::GetTagWireType(tag) !=
        WireFormatLite::WIRETYPE_LENGTH_DELIMITED) {
      if (!WireFormatLite::SkipField(&in, tag)) return std::nullopt;
      continue;
    }
    std::string value;
    if (!WireFormatLite::ReadString(&in, &value)) return std::nullopt;
    switch (WireFormatLite::GetTagFieldNumber(tag)) {
      case 1:
        info.reason = std::move(value);
        break;
      case 2:
        info.domain = std::move(value);
        break;
      case 3: {
        google::protobuf::io::CodedInputStream entry(
            reinterpret_cast<const uint8_t*>(value.data()),
            static_cast<int>(value.size()));
        std::string key, val;
        while (uint32_t etag = entry.ReadTag()) {
          std::string s;
          if (!WireFormatLite::ReadString(&entry, &s)) return std::nullopt;
          if (WireFormatLite::GetTagFieldNumber(etag) == 1)
            key = std::move(s);
          else
            val = std::move(s);
        }
        info.metadata[key] = val;
        break;
      }
      default:
        break;
    }
  }
  return info;
}

absl::Status WithErrorInfo(absl::Status status, const ErrorInfo& info) {
  status.SetPayload(kErrorInfoTypeUrl, absl::Cord(SerializeErrorInfo(info)));
  return status;
}

absl::Status WithDetail(absl::Status status, absl::string_view full_name,
                        std::string bytes) {
  status.SetPayload(absl::StrCat(kTypeUrlPrefix, full_name),
                    absl::Cord(std::move(bytes)));
  return status;
}

absl::Status WithHttpStatus(absl::Status status, int http_status) {
  status.SetPayload(kHttpStatusPayload, absl::Cord(absl::StrCat(http_status)));
  return status;
}

std::optional<int> GetHttpStatus(const absl::Status& status) {
  auto payload = status.GetPayload(kHttpStatusPayload);
  int value = 0;
  if (!payload.has_value() ||
      !absl::SimpleAtoi(std::string(*payload), &value)) {
    return std::nullopt;
  }
  return value;
}

std::string SerializeRpcStatusDetails(const absl::Status& status) {
  std::string details;
  status.ForEachPayload(
      [&](absl::string_view type_url, const absl::Cord& value) {
        if (!absl::StartsWith(type_url, kTypeUrlPrefix)) return;
        std::string any;
        PutString(1, type_url, &any);
        PutString(2, std::string(value), &any);
        PutString(3, any, &details);
      });
  if (details.empty()) return "";
  std::string out;
  PutVarint(1, static_cast<uint64_t>(status.code()), &out);
  PutString(2, status.message(), &out);
  return out + details;
}

std::string TruncateUtf8(absl::string_view text, size_t max) {
  if (text.size() <= max) return std::string(text);
  size_t end = max;
  while (end > 0 && (static_cast<unsigned char>(text[end]) & 0xC0) == 0x80) {
    --end;
  }
  return absl::StrCat(text.substr(0, end), "...");
}

namespace {

std::string AnyOf(absl::string_view type_url, absl::string_view value) {
  std::string any;
  PutString(1, type_url, &any);
  PutString(2, value, &any);
  std::string entry;
  PutString(3, any, &entry);
  return entry;
}

}  // namespace

std::string SerializeBoundedRpcStatusDetails(const absl::Status& status,
                                             size_t max_bytes) {
  std::string head;
  PutVarint(1, static_cast<uint64_t>(status.code()), &head);
  PutString(2, TruncateUtf8(status.message(), kMaxStatusMessageBytes), &head);

  std::optional<ErrorInfo> info;
  std::vector<std::pair<std::string, std::string>> others;
  status.ForEachPayload(
      [&](absl::string_view type_url, const absl::Cord& value) {
        if (!absl::StartsWith(type_url, kTypeUrlPrefix)) return;
        if (type_url == kErrorInfoTypeUrl) {
          info = ParseErrorInfo(std::string(value));
          if (!info.has_value())
            info = ErrorInfo{"MALFORMED_ERROR_INFO", "", {}};
        } else {
          others.emplace_back(std::string(type_url), std::string(value));
        }
      });
  if (!info.has_value() && others.empty()) return "";

  // Other details in a stable order, each kept while it fits beside the ErrorInfo.
  std::sort(others.begin(), others.end());
  constexpr size_t kMaxReason = 128, kMaxValue = 256, kInfoReserve = 1024;
  std::string kept;
  std::string omitted;
  const size_t budget = max_bytes > head.size() + kInfoReserve
                            ? max_bytes - head.size() - kInfoReserve
                            : 0;
  for (const auto& [type_url, value] : others) {
    std::string entry = AnyOf(type_url, value);
    if (kept.size() + entry.size() <= budget) {
      kept += entry;
    } else {
      absl::StrAppend(&omitted, omitted.empty() ? "" : ", ",
                      absl::StripPrefix(type_url, kTypeUrlPrefix), " (",
                      value.size(), " bytes)");
    }
  }
  std::string out = head;
  if (info.has_value() || !omitted.empty()) {
    ErrorInfo bounded;
    if (info.has_value()) {
      bounded.reason = TruncateUtf8(info->reason, kMaxReason);
      bounded.domain = TruncateUtf8(info->domain, kMaxReason);
    } else {
      bounded.reason = "DETAILS_OMITTED";
    }
    if (!omitted.empty()) {
      bounded.metadata["omitted_details"] = TruncateUtf8(omitted, kMaxValue);
    }
    size_t info_budget = max_bytes > head.size() + kept.size()
                             ? max_bytes - head.size() - kept.size()
                             : 0;
    size_t used = AnyOf(kErrorInfoTypeUrl, SerializeErrorInfo(bounded)).size();
    if (info.has_value()) {
      for (const auto& [key, value] : info->metadata) {
        const std::string k = TruncateUtf8(key, kMaxReason);
        const std::string v = TruncateUtf8(value, kMaxValue);
        const size_t cost = k.size() + v.size() + 12;
        if (bounded.metadata.count(k) || used + cost > info_budget) continue;
        bounded.metadata[k] = v;
        used += cost;
      }
    }
    std::string entry = AnyOf(kErrorInfoTypeUrl, SerializeErrorInfo(bounded));
    if (out.size() + entry.size() <= max_bytes) out += entry;
  }
  return out + kept;
}

}  // namespace fgw
