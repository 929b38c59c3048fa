// RFC 3986 percent-encoding for the pieces of a request target.
//
// Thread safety: pure functions.
#ifndef FGW_SERVER_ROUTING_PERCENT_ENCODING_H_
#define FGW_SERVER_ROUTING_PERCENT_ENCODING_H_

#include <string>

#include "absl/strings/string_view.h"

namespace fgw {

// Appends `value` to `out`, keeping RFC 3986 unreserved characters (A-Z a-z 0-9 - . _ ~) and
// writing every other byte as %XX (upper-case hex). For query names and values: a space is
// %20, never '+'.
void AppendQueryEncoded(absl::string_view value, std::string* out);

// As AppendQueryEncoded, but ':' is also kept (the official SDK rewrites %3A back to ':' so
// ledger account addresses such as `users:001` travel readable). '/' is encoded: a value is
// always exactly one path segment.
void AppendPathSegmentEncoded(absl::string_view value, std::string* out);

}  // namespace fgw

#endif  // FGW_SERVER_ROUTING_PERCENT_ENCODING_H_
