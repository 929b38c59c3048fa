#include "server/routing/path_template.h"

#include <algorithm>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "server/routing/percent_encoding.h"

namespace fgw {
namespace {

bool IsIdentifier(absl::string_view name) {
  if (name.empty()) return false;
  for (size_t i = 0; i < name.size(); ++i) {
    const char c = name[i];
    const bool alpha =
        (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
    const bool digit = c >= '0' && c <= '9';
    if (!alpha && !(digit && i > 0)) return false;
  }
  return true;
}

absl::Status Invalid(absl::string_view path, absl::string_view why) {
  return absl::InvalidArgumentError(
      absl::StrCat("path template \"", path, "\": ", why));
}

}  // namespace

absl::StatusOr<PathTemplate> PathTemplate::Parse(absl::string_view path) {
  if (path.empty() || path[0] != '/')
    return Invalid(path, "must start with '/'");
  PathTemplate out;
  out.text_ = std::string(path);
  std::string literal;
  size_t i = 0;
  while (i < path.size()) {
    const char c = path[i];
    if (c == '}') return Invalid(path, "unbalanced '}'");
    if (c != '{') {
      literal.push_back(c);
      ++i;
      continue;
    }
    const size_t close = path.find('}', i);
    if (close == absl::string_view::npos)
      return Invalid(path, "unbalanced '{'");
    const absl::string_view name = path.substr(i + 1, close - i - 1);
    if (name.find('{') != absl::string_view::npos)
      return Invalid(path, "nested '{'");
    if (name.find('=') != absl::string_view::npos) {
      return Invalid(path, absl::StrCat("variable {", name,
                                        "}: sub-templates are not supported"));
    }
    if (name.find('.') != absl::string_view::npos) {
      return Invalid(path,
                     absl::StrCat("variable {", name,
                                  "}: nested field paths are not supported"));
    }
    if (!IsIdentifier(name)) {
      return Invalid(path,
                     absl::StrCat("variable {", name, "} is not a field name"));
    }
    // A variable is a whole segment: preceded by '/' and followed by '/' or the end.
    if (literal.empty() || literal.back() != '/' ||
        (close + 1 < path.size() && path[close + 1] != '/')) {
      return Invalid(path, absl::StrCat("variable {", name,
                                        "} must be a whole path segment"));
    }
    if (std::find(out.variables_.begin(), out.variables_.end(), name) !=
        out.variables_.end()) {
      return Invalid(path, absl::StrCat("variable {", name, "} appears twice"));
    }
    out.literals_.push_back(std::move(literal));
    literal.clear();
    out.variables_.emplace_back(name);
    i = close + 1;
  }
  out.literals_.push_back(std::move(literal));
  return out;
}

absl::StatusOr<std::string> PathTemplate::Expand(
    const std::function<std::optional<std::string>(absl::string_view var)>&
        lookup,
    size_t max_bytes) const {
  if (literals_.empty()) return text_;  // Default-constructed.
  std::string out;
  out.reserve(text_.size() + 16 * variables_.size());
  for (size_t i = 0; i < variables_.size(); ++i) {
    out.append(literals_[i]);
    std::optional<std::string> value = lookup(variables_[i]);
    if (!value.has_value() || value->empty()) {
      return absl::InvalidArgumentError(absl::StrCat(
          "field '", variables_[i], "' is required (path parameter)"));
    }
    if (*value == "." || *value == "..") {
      return absl::InvalidArgumentError(
          absl::StrCat("field '", variables_[i],
                       "' (path parameter) may not be '.' or '..'"));
    }
    if (out.size() + value->size() > max_bytes) {
      return absl::InvalidArgumentError(absl::StrCat(
          "field '", variables_[i], "' (path parameter) makes the request URL ",
          "longer than limits.max_request_target_bytes (", max_bytes, ")"));
    }
    AppendPathSegmentEncoded(*value, &out);
  }
  out.append(literals_.back());
  if (out.size() > max_bytes) {
    return absl::InvalidArgumentError(absl::StrCat(
        "the request URL is longer than limits.max_request_target_bytes (",
        max_bytes, ")"));
  }
  return out;
}

}  // namespace fgw
