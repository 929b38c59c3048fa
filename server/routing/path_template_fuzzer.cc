// libFuzzer target for PathTemplate (Parse, Expand) and the percent-encoders.
//
// Input: the first line is a path template ("/api/ledger/v2/{ledger}/accounts/{address}");
// each further line is the value of the next variable (a missing line: no value). The whole
// input, every byte of it, is also run through both percent-encoders.
//
// Invariants (a violation aborts):
// - Parse: a template not starting with '/' is refused; a parsed one keeps its text, and its
//   variables are distinct identifiers, each written "/{name}" in the text;
// - Expand: OK exactly when every variable has a value that is neither empty nor "." nor
//   ".."; then the result is the text with each "{name}" replaced by
//   AppendPathSegmentEncoded(value), so a value never adds a '/' or forms a dot segment; with
//   max_bytes equal to that result's size it is the same, one byte less is INVALID_ARGUMENT;
// - AppendPathSegmentEncoded writes only unreserved characters, ':' and %XX (upper-case hex);
//   AppendQueryEncoded only unreserved characters and %XX; decoding either gives the input
//   back, and both append to what the string already holds.
//
// Build: cmake -DFGW_BUILD_FUZZERS=ON with clang (see tests/fuzz/README.md).
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "server/routing/path_template.h"
#include "server/routing/percent_encoding.h"

namespace fgw {
namespace {

// The harness's own byte-by-byte checks are not coverage-instrumented: their comparisons would
// only steer the fuzzer into the checker, and cost it most of its time.
#define FGW_FUZZ_CHECKER __attribute__((no_sanitize("coverage")))

[[noreturn]] void Fail(const char* what, absl::string_view a,
                       absl::string_view b = {}) {
  std::fprintf(stderr, "INVARIANT VIOLATED: %s: [%.*s] [%.*s]\n", what,
               static_cast<int>(a.size()), a.data(), static_cast<int>(b.size()),
               b.data());
  std::abort();
}

FGW_FUZZ_CHECKER bool IsUnreserved(char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
         (c >= '0' && c <= '9') || c == '-' || c == '.' || c == '_' || c == '~';
}

FGW_FUZZ_CHECKER int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;  // Lower-case hex is not what the encoders write.
}

// Checks the alphabet of `encoded` and returns its decoding.
FGW_FUZZ_CHECKER std::string CheckAndDecode(absl::string_view encoded,
                                            bool colon_allowed,
                                            absl::string_view input) {
  std::string decoded;
  for (size_t i = 0; i < encoded.size(); ++i) {
    const char c = encoded[i];
    if (IsUnreserved(c) || (colon_allowed && c == ':')) {
      decoded.push_back(c);
      continue;
    }
    if (c != '%' || i + 2 >= encoded.size() || HexValue(encoded[i + 1]) < 0 ||
        HexValue(encoded[i + 2]) < 0) {
      Fail("encoder wrote a byte outside its alphabet", input, encoded);
    }
    decoded.push_back(static_cast<char>(HexValue(encoded[i + 1]) * 16 +
                                        HexValue(encoded[i + 2])));
    i += 2;
  }
  return decoded;
}

void CheckEncoders(absl::string_view value) {
  std::string segment;
  AppendPathSegmentEncoded(value, &segment);
  if (CheckAndDecode(segment, /*colon_allowed=*/true, value) != value)
    Fail("path segment does not decode back", value, segment);
  std::string query = "prefix=";  // Appends: what is already there stays.
  AppendQueryEncoded(value, &query);
  if (query.compare(0, 7, "prefix=") != 0)
    Fail("query encoder changed what it appends to", value, query);
  if (CheckAndDecode(absl::string_view(query).substr(7),
                     /*colon_allowed=*/false, value) != value)
    Fail("query value does not decode back", value, query);
}

FGW_FUZZ_CHECKER bool IsIdentifier(absl::string_view name) {
  if (name.empty()) return false;
  for (size_t i = 0; i < name.size(); ++i) {
    const char c = name[i];
    const bool alpha =
        (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
    if (!alpha && !(c >= '0' && c <= '9' && i > 0)) return false;
  }
  return true;
}

void CheckTemplate(absl::string_view text,
                   const std::vector<absl::string_view>& values) {
  absl::StatusOr<PathTemplate> parsed = PathTemplate::Parse(text);
  if (!parsed.ok()) {
    if (parsed.status().code() != absl::StatusCode::kInvalidArgument)
      Fail("Parse: not INVALID_ARGUMENT", text);
    return;
  }
  if (text.empty() || text[0] != '/') Fail("Parse accepted", text);
  if (parsed->text() != text) Fail("Parse changed the text", text);
  const std::vector<std::string>& vars = parsed->variables();
  for (size_t i = 0; i < vars.size(); ++i) {
    if (!IsIdentifier(vars[i])) Fail("variable name", text, vars[i]);
    for (size_t j = 0; j < i; ++j) {
      if (vars[i] == vars[j]) Fail("duplicate variable", text, vars[i]);
    }
    if (text.find(absl::StrCat("/{", vars[i], "}")) == absl::string_view::npos)
      Fail("variable not written /{name}", text, vars[i]);
  }

  bool all_valid = true;
  auto value_of = [&](absl::string_view var) -> std::optional<std::string> {
    for (size_t i = 0; i < vars.size(); ++i) {
      if (vars[i] != var) continue;
      if (i >= values.size()) return std::nullopt;
      return std::string(values[i]);
    }
    Fail("Expand asked for an unknown variable", text, var);
  };
  for (size_t i = 0; i < vars.size(); ++i) {
    if (i >= values.size() || values[i].empty() || values[i] == "." ||
        values[i] == "..") {
      all_valid = false;
    }
  }
  absl::StatusOr<std::string> expanded = parsed->Expand(value_of);
  if (expanded.ok() != all_valid)
    Fail("Expand: OK iff every variable has a valid value", text);
  if (!expanded.ok()) {
    if (expanded.status().code() != absl::StatusCode::kInvalidArgument)
      Fail("Expand: not INVALID_ARGUMENT", text);
    return;
  }
  // The expected expansion: each "{name}" replaced by its encoded value.
  std::string expected;
  size_t at = 0;
  while (at < text.size()) {
    const size_t open = text.find('{', at);
    if (open == absl::string_view::npos) {
      absl::StrAppend(&expected, text.substr(at));
      break;
    }
    absl::StrAppend(&expected, text.substr(at, open - at));
    const size_t close = text.find('}', open);
    const absl::string_view name = text.substr(open + 1, close - open - 1);
    std::string encoded;
    AppendPathSegmentEncoded(*value_of(name), &encoded);
    if (encoded == "." || encoded == "..")
      Fail("Expand: dot segment", text, encoded);
    expected.append(encoded);
    at = close + 1;
  }
  if (*expanded != expected) Fail("Expand", *expanded, expected);
  const absl::StatusOr<std::string> at_limit =
      parsed->Expand(value_of, expected.size());
  if (!at_limit.ok() || *at_limit != expected)
    Fail("Expand at max_bytes == its size", text, expected);
  if (!expected.empty()) {
    const absl::StatusOr<std::string> over =
        parsed->Expand(value_of, expected.size() - 1);
    if (over.ok() || over.status().code() != absl::StatusCode::kInvalidArgument)
      Fail("Expand over max_bytes is not INVALID_ARGUMENT", text, expected);
  }
}

}  // namespace
}  // namespace fgw

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const absl::string_view input(reinterpret_cast<const char*>(data), size);
  fgw::CheckEncoders(input);

  std::vector<absl::string_view> lines;
  size_t start = 0;
  while (start <= input.size()) {
    size_t end = input.find('\n', start);
    if (end == absl::string_view::npos) end = input.size();
    lines.push_back(input.substr(start, end - start));
    start = end + 1;
  }
  const std::vector<absl::string_view> values(lines.begin() + 1, lines.end());
  for (absl::string_view v : values) fgw::CheckEncoders(v);
  fgw::CheckTemplate(lines[0], values);
  return 0;
}
