#include "server/grpc/outgoing_metadata.h"

#include "absl/strings/match.h"
#include "spdlog/spdlog.h"

namespace fgw {

bool IsValidMetadataKey(absl::string_view key) {
  if (key.empty() || key.size() > 64 || absl::StartsWith(key, "grpc-")) {
    return false;
  }
  for (char c : key) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
                    c == '-' || c == '_' || c == '.';
    if (!ok) return false;
  }
  return true;
}

bool IsValidMetadataValue(absl::string_view key, absl::string_view value) {
  if (absl::EndsWith(key, "-bin")) return true;
  for (char c : value) {
    const unsigned char b = static_cast<unsigned char>(c);
    if (b < 0x20 || b > 0x7E) return false;
  }
  return true;
}

MetadataList SafeMetadata(MetadataList entries, absl::string_view what) {
  MetadataList out;
  out.reserve(entries.size());
  size_t total = 0;
  for (auto& [key, value] : entries) {
    const char* why = nullptr;
    if (!IsValidMetadataKey(key)) {
      why = "invalid key";
    } else if (!IsValidMetadataValue(key, value)) {
      why = "value is not printable ASCII";
    } else if (value.size() > kMaxMetadataValueBytes) {
      why = "value too long";
    } else if (total + key.size() + value.size() > kMaxMetadataBytes) {
      why = "over the metadata budget";
    }
    if (why != nullptr) {
      spdlog::warn("grpc: {} metadata '{}' not sent: {}", std::string(what),
                   IsValidMetadataKey(key) ? key : std::string("<invalid>"),
                   why);
      continue;
    }
    total += key.size() + value.size();
    out.emplace_back(std::move(key), std::move(value));
  }
  return out;
}

}  // namespace fgw
