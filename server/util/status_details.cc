#include "server/util/status_details.h"

#include <utility>

#include "absl/strings/cord.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
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

}  // namespace fgw
