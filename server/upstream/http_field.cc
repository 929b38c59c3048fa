#include "server/upstream/http_field.h"

#include <cstdio>
#include <string>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"

namespace fgw {
namespace {

bool IsTchar(unsigned char c) {
  if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
      (c >= '0' && c <= '9')) {
    return true;
  }
  switch (c) {
    case '!':
    case '#':
    case '$':
    case '%':
    case '&':
    case '\'':
    case '*':
    case '+':
    case '-':
    case '.':
    case '^':
    case '_':
    case '`':
    case '|':
    case '~':
      return true;
    default:
      return false;
  }
}

bool IsHex(unsigned char c) {
  return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') ||
         (c >= 'A' && c <= 'F');
}

// RFC 3986 unreserved, sub-delims, ':', '@' (pchar without pct-encoded) plus '/' and '?'.
bool IsTargetByte(unsigned char c) {
  if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
      (c >= '0' && c <= '9')) {
    return true;
  }
  switch (c) {
    case '-':
    case '.':
    case '_':
    case '~':
    case '!':
    case '$':
    case '&':
    case '\'':
    case '(':
    case ')':
    case '*':
    case '+':
    case ',':
    case ';':
    case '=':
    case ':':
    case '@':
    case '/':
    case '?':
      return true;
    default:
      return false;
  }
}

std::string ByteAt(absl::string_view text, size_t offset) {
  char hex[8];
  std::snprintf(hex, sizeof(hex), "0x%02X",
                static_cast<unsigned char>(text[offset]));
  return absl::StrCat("byte ", hex, " at offset ", offset);
}

// The header bytes as written on the wire: "name: value\r\n".
size_t HeaderLineBytes(const std::string& name, const std::string& value) {
  return name.size() + 2 + value.size() + 2;
}

}  // namespace

bool IsHttpToken(absl::string_view name) {
  if (name.empty()) return false;
  for (char c : name) {
    if (!IsTchar(static_cast<unsigned char>(c))) return false;
  }
  return true;
}

std::optional<size_t> FirstInvalidFieldValueByte(absl::string_view value) {
  for (size_t i = 0; i < value.size(); ++i) {
    const unsigned char c = static_cast<unsigned char>(value[i]);
    if (c > 0x20 && c < 0x7F) continue;
    if (c == ' ' && i > 0 && i + 1 < value.size()) continue;  // Inner space.
    return i;
  }
  return std::nullopt;
}

bool IsDotSegment(absl::string_view segment) {
  // Decode only %2E/%2e: anything else makes the segment longer than "..".
  std::string decoded;
  for (size_t i = 0; i < segment.size(); ++i) {
    if (decoded.size() > 2) return false;
    if (segment[i] == '%' && i + 2 < segment.size() && segment[i + 1] == '2' &&
        (segment[i + 2] == 'E' || segment[i + 2] == 'e')) {
      decoded.push_back('.');
      i += 2;
    } else {
      decoded.push_back(segment[i]);
    }
  }
  return decoded == "." || decoded == "..";
}

absl::Status CheckFieldValue(absl::string_view what, absl::string_view value,
                             size_t max_bytes) {
  if (value.size() > max_bytes) {
    return absl::InvalidArgumentError(absl::StrCat(
        what, " is ", value.size(), " bytes, over the limit of ", max_bytes));
  }
  if (std::optional<size_t> bad = FirstInvalidFieldValueByte(value)) {
    return absl::InvalidArgumentError(absl::StrCat(
        what,
        " must be a valid HTTP header value (visible ASCII and inner "
        "spaces): ",
        ByteAt(value, *bad)));
  }
  return absl::OkStatus();
}

absl::Status CheckOutgoingRequest(const HttpRequest& request,
                                  const UpstreamLimits& limits) {
  if (!IsHttpToken(request.method)) {
    return absl::InvalidArgumentError("request method is not an HTTP token");
  }
  const absl::string_view target = request.path_and_query;
  if (target.size() > static_cast<size_t>(limits.max_request_target_bytes)) {
    return absl::InvalidArgumentError(
        absl::StrCat("request URL is ", target.size(),
                     " bytes, over limits.max_request_target_bytes (",
                     limits.max_request_target_bytes, ")"));
  }
  if (target.empty() || target[0] != '/') {
    return absl::InvalidArgumentError("request target must start with '/'");
  }
  for (size_t i = 0; i < target.size(); ++i) {
    const unsigned char c = static_cast<unsigned char>(target[i]);
    if (c == '%') {
      if (i + 2 < target.size() && IsHex(target[i + 1]) &&
          IsHex(target[i + 2])) {
        i += 2;
        continue;
      }
      return absl::InvalidArgumentError(absl::StrCat(
          "request target has a malformed percent escape at offset ", i));
    }
    if (!IsTargetByte(c)) {
      return absl::InvalidArgumentError(
          absl::StrCat("request target may not contain ", ByteAt(target, i)));
    }
  }
  const absl::string_view path = target.substr(0, target.find('?'));
  for (absl::string_view segment : absl::StrSplit(path, '/')) {
    if (IsDotSegment(segment)) {
      return absl::InvalidArgumentError(
          "request target may not contain a '.' or '..' path segment");
    }
  }

  size_t header_bytes = 0;
  for (const auto& [name, value] : request.headers) {
    if (!IsHttpToken(name)) {
      return absl::InvalidArgumentError(
          "a request header name is not an HTTP token");
    }
    header_bytes += HeaderLineBytes(name, value);
    if (header_bytes > static_cast<size_t>(limits.max_request_header_bytes)) {
      return absl::InvalidArgumentError(absl::StrCat(
          "request headers exceed limits.max_request_header_bytes (",
          limits.max_request_header_bytes, ") at header ", name));
    }
    absl::Status s = CheckFieldValue(absl::StrCat("header ", name), value,
                                     limits.max_request_header_bytes);
    if (!s.ok()) return s;
  }
  return absl::OkStatus();
}

}  // namespace fgw
