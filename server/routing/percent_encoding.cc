#include "server/routing/percent_encoding.h"

namespace fgw {
namespace {

constexpr char kHex[] = "0123456789ABCDEF";

inline bool IsUnreserved(unsigned char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
         (c >= '0' && c <= '9') || c == '-' || c == '.' || c == '_' || c == '~';
}

template <bool kKeepColon>
void Append(absl::string_view value, std::string* out) {
  out->reserve(out->size() + value.size());
  for (char ch : value) {
    const unsigned char c = static_cast<unsigned char>(ch);
    if (IsUnreserved(c) || (kKeepColon && c == ':')) {
      out->push_back(ch);
    } else {
      out->push_back('%');
      out->push_back(kHex[c >> 4]);
      out->push_back(kHex[c & 0xF]);
    }
  }
}

}  // namespace

void AppendQueryEncoded(absl::string_view value, std::string* out) {
  Append<false>(value, out);
}

void AppendPathSegmentEncoded(absl::string_view value, std::string* out) {
  Append<true>(value, out);
}

}  // namespace fgw
