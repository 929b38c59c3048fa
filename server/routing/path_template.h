// PathTemplate: a google.api.http path such as "/api/ledger/v2/{ledger}/accounts/{address}".
//
// Supported: literal segments (any text without '{' or '}', empty segments included, so the
// trailing slash of "/api/search/" is kept) and whole-segment variables `{field}` naming a
// top-level field. Rejected with INVALID_ARGUMENT: nested field paths (`{a.b}`), sub-templates
// (`{name=**}`), variables that share a segment with literal text, duplicate variables and
// unbalanced braces.
//
// Thread safety: immutable after Parse; Expand may be called concurrently.
#ifndef FGW_SERVER_ROUTING_PATH_TEMPLATE_H_
#define FGW_SERVER_ROUTING_PATH_TEMPLATE_H_

#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace fgw {

class PathTemplate {
 public:
  PathTemplate() = default;

  static absl::StatusOr<PathTemplate> Parse(absl::string_view path);

  // Returns the path with each variable replaced by lookup(var), percent-encoded as one path
  // segment (see AppendPathSegmentEncoded: ':' kept, '/' and spaces encoded), so a value can
  // never add a segment. INVALID_ARGUMENT:
  // - "field '<var>' is required (path parameter)" when lookup returns nullopt or "";
  // - "field '<var>' (path parameter) may not be '.' or '..'" : such a segment is a dot
  //   segment, which any normalising proxy or server resolves to another route, so it is
  //   refused rather than sent (no Formance identifier is "." or "..");
  // - "... over limits.max_request_target_bytes" once the path would exceed `max_bytes`
  //   (checked before each value is encoded, so a huge value costs no encoding).
  absl::StatusOr<std::string> Expand(
      const std::function<std::optional<std::string>(absl::string_view var)>&
          lookup,
      size_t max_bytes = static_cast<size_t>(-1)) const;

  // The variable names in order of appearance.
  const std::vector<std::string>& variables() const { return variables_; }
  // The template as parsed.
  const std::string& text() const { return text_; }

 private:
  std::string text_;
  // literals_.size() == variables_.size() + 1; the path is
  // literals_[0] var_0 literals_[1] var_1 ... literals_[n].
  std::vector<std::string> literals_;
  std::vector<std::string> variables_;
};

}  // namespace fgw

#endif  // FGW_SERVER_ROUTING_PATH_TEMPLATE_H_
