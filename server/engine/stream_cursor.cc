#include "server/engine/stream_cursor.h"

#include <vector>

#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"

namespace fgw {
namespace {

constexpr absl::string_view kPrefix = "fgws1.";

}  // namespace

std::string FormatStreamCursor(const StreamCursor& cursor) {
  return absl::StrCat(kPrefix, absl::WebSafeBase64Escape(cursor.upstream), ".",
                      cursor.skip, ".", absl::WebSafeBase64Escape(cursor.pit));
}

bool IsStreamCursor(absl::string_view text) {
  return absl::StartsWith(text, kPrefix);
}

absl::StatusOr<StreamCursor> ParseStreamCursor(absl::string_view text) {
  if (text.size() > kMaxStreamCursorBytes) {
    return absl::InvalidArgumentError(
        absl::StrCat("cursor: longer than ", kMaxStreamCursorBytes, " bytes"));
  }
  StreamCursor cursor;
  if (!IsStreamCursor(text)) {
    cursor.upstream = std::string(text);
    return cursor;
  }
  std::vector<absl::string_view> parts =
      absl::StrSplit(text.substr(kPrefix.size()), '.');
  if (parts.size() != 3) {
    return absl::InvalidArgumentError(
        "cursor: not a stream cursor (expected three parts after 'fgws1.')");
  }
  if (!absl::WebSafeBase64Unescape(parts[0], &cursor.upstream) ||
      !absl::WebSafeBase64Unescape(parts[2], &cursor.pit)) {
    return absl::InvalidArgumentError("cursor: malformed base64");
  }
  if (!absl::SimpleAtoi(parts[1], &cursor.skip) || cursor.skip < 0 ||
      cursor.skip > kMaxStreamCursorSkip) {
    return absl::InvalidArgumentError(absl::StrCat(
        "cursor: the item count must be from 0 to ", kMaxStreamCursorSkip));
  }
  return cursor;
}

}  // namespace fgw
