// StreamCursor: the resume point a Stream rpc puts in each message's `cursor` field, and reads
// back from the request's `cursor` field.
//
// A Formance cursor names a page, not an item, so the gateway's cursor names the page and how
// many of its items the caller already has, plus the point in time the stream was pinned to
// (used only to resume on the first page, which has no Formance cursor; later pages' Formance
// cursors carry the list's options themselves). Text form, opaque to callers:
//
//   fgws1.<base64url(Formance cursor)>.<skip>.<base64url(pit)>
//
// Any other text in the request's `cursor` is a Formance cursor (from the unary list) and is
// passed on as is, with nothing skipped.
//
// Hostile input: ParseStreamCursor bounds the text (kMaxStreamCursorBytes) and the skip
// (kMaxStreamCursorSkip), and refuses malformed base64 or numbers with INVALID_ARGUMENT
// "cursor: ..."; it never aborts. Thread safety: pure functions.
#ifndef FGW_SERVER_ENGINE_STREAM_CURSOR_H_
#define FGW_SERVER_ENGINE_STREAM_CURSOR_H_

#include <cstdint>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace fgw {

inline constexpr size_t kMaxStreamCursorBytes = 8192;
// Formance pages hold at most 1,000 items; a skip beyond a page only drops that page.
inline constexpr int64_t kMaxStreamCursorSkip = 100000;

struct StreamCursor {
  std::string
      upstream;      // The Formance cursor of the page; empty: the first page.
  int64_t skip = 0;  // Items of that page the caller already has.
  std::string
      pit;  // RFC 3339; empty when the list has none or the caller set none.
};

std::string FormatStreamCursor(const StreamCursor& cursor);

// Whether `text` is in the gateway's form (starts "fgws1.").
bool IsStreamCursor(absl::string_view text);

// The cursor in `text`; a text not in the gateway's form is a Formance cursor (skip 0).
absl::StatusOr<StreamCursor> ParseStreamCursor(absl::string_view text);

}  // namespace fgw

#endif  // FGW_SERVER_ENGINE_STREAM_CURSOR_H_
