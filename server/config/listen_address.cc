#include "server/config/listen_address.h"

#include <algorithm>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"

namespace fgw {
namespace {

absl::Status Invalid(absl::string_view address, absl::string_view why) {
  return absl::InvalidArgumentError(absl::StrCat(
      "listen address \"", address, "\": ", why,
      " (expected host:port such as 127.0.0.1:50051 or [::]:50051, or "
      "unix:/absolute/path)"));
}

}  // namespace

std::string ListenAddress::ToGrpcUri() const {
  if (kind == Kind::kUnix) return absl::StrCat("unix:", path);
  if (absl::StrContains(host, ':')) return absl::StrCat("[", host, "]:", port);
  return absl::StrCat(host, ":", port);
}

bool ListenAddress::IsLoopback() const {
  if (kind == Kind::kUnix) return true;
  if (host == "localhost" || host == "::1") return true;
  // 127.a.b.c in dotted-quad form, each part a number from 0 to 255.
  std::vector<absl::string_view> parts = absl::StrSplit(host, '.');
  if (parts.size() != 4 || parts[0] != "127") return false;
  for (absl::string_view part : parts) {
    int v = -1;
    if (part.empty() || part.size() > 3 || !absl::SimpleAtoi(part, &v) ||
        v < 0 || v > 255 || !std::all_of(part.begin(), part.end(), [](char c) {
          return absl::ascii_isdigit(static_cast<unsigned char>(c));
        })) {
      return false;
    }
  }
  return true;
}

absl::StatusOr<ListenAddress> ParseListenAddress(absl::string_view address) {
  ListenAddress out;
  if (address.empty()) return Invalid(address, "empty");
  absl::string_view rest = address;
  if (absl::ConsumePrefix(&rest, "unix:")) {
    if (rest.empty() || rest[0] != '/') {
      return Invalid(address, "a unix socket needs an absolute path");
    }
    out.kind = ListenAddress::Kind::kUnix;
    out.path = std::string(rest);
    return out;
  }
  absl::string_view host, port;
  if (rest[0] == '[') {
    size_t close = rest.find(']');
    if (close == absl::string_view::npos)
      return Invalid(address, "unclosed '['");
    host = rest.substr(1, close - 1);
    absl::string_view after = rest.substr(close + 1);
    if (!absl::ConsumePrefix(&after, ":"))
      return Invalid(address, "missing :port after ']'");
    port = after;
    if (host.empty()) return Invalid(address, "empty IPv6 host");
  } else {
    size_t colon = rest.rfind(':');
    if (colon == absl::string_view::npos)
      return Invalid(address, "missing :port");
    host = rest.substr(0, colon);
    port = rest.substr(colon + 1);
    if (host.empty())
      return Invalid(address, "missing host (use 0.0.0.0 or [::] for all)");
    if (absl::StrContains(host, ':')) {
      return Invalid(address, "an IPv6 host must be written in brackets");
    }
    for (char c : host) {
      if (!absl::ascii_isalnum(static_cast<unsigned char>(c)) && c != '.' &&
          c != '-' && c != '_') {
        return Invalid(address, absl::StrCat("invalid character '",
                                             std::string(1, c), "' in host"));
      }
    }
  }
  int value = -1;
  if (port.empty() || !absl::SimpleAtoi(port, &value) || value < 0 ||
      value > 65535 || !std::all_of(port.begin(), port.end(), [](char c) {
        return absl::ascii_isdigit(static_cast<unsigned char>(c));
      })) {
    return Invalid(address, "port must be a number from 0 to 65535");
  }
  out.kind = ListenAddress::Kind::kTcp;
  out.host = std::string(host);
  out.port = value;
  return out;
}

}  // namespace fgw
