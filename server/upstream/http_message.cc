#include "server/upstream/http_message.h"

#include "absl/strings/match.h"

namespace fgw {

const std::string* FindHeader(const HttpHeaders& headers,
                              absl::string_view name) {
  for (const auto& [key, value] : headers) {
    if (absl::EqualsIgnoreCase(key, name)) return &value;
  }
  return nullptr;
}

void SetHeader(HttpHeaders& headers, absl::string_view name,
               std::string value) {
  HttpHeaders kept;
  kept.reserve(headers.size() + 1);
  for (auto& header : headers) {
    if (!absl::EqualsIgnoreCase(header.first, name))
      kept.push_back(std::move(header));
  }
  kept.emplace_back(std::string(name), std::move(value));
  headers.swap(kept);
}

}  // namespace fgw
