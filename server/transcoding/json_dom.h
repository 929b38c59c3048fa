// JsonDocument: a read-only JSON tree parsed with RapidJSON's SAX reader, keeping the exact
// text of every number (kParseNumbersAsStringsFlag: no number ever passes through a double)
// and telling numbers from strings, which RapidJSON's own Document cannot do in that mode.
//
// Parsing is iterative (kParseIterativeFlag) and refuses nesting deeper than `max_depth`, so
// hostile input cannot overflow the stack. Invalid UTF-8 is rejected.
//
// Thread safety: a parsed document is immutable; concurrent reads are safe.
#ifndef FGW_SERVER_TRANSCODING_JSON_DOM_H_
#define FGW_SERVER_TRANSCODING_JSON_DOM_H_

#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace fgw {

// RapidJSON output stream that appends to a std::string (not owned), for rapidjson::Writer.
class JsonStringSink {
 public:
  using Ch = char;
  explicit JsonStringSink(std::string* out) : out_(out) {}
  void Put(char c) { out_->push_back(c); }
  void Flush() {}

 private:
  std::string* out_;
};

inline constexpr int kMaxJsonDepth = 64;

struct JsonNode {
  enum Type : unsigned char {
    kNull,
    kFalse,
    kTrue,
    kNumber,
    kString,
    kArray,
    kObject
  };
  Type type = kNull;
  absl::string_view
      text;  // kNumber: the exact number text; kString: the value.
  std::vector<JsonNode> items;  // kArray: elements; kObject: member values.
  std::vector<absl::string_view>
      keys;  // kObject: member names, parallel to items.

  bool is_null() const { return type == kNull; }
  bool is_bool() const { return type == kFalse || type == kTrue; }
  // The member `key` (the last one when repeated), or nullptr.
  const JsonNode* Find(absl::string_view key) const;
};

// "null", "boolean", "number", "string", "array", "object".
const char* JsonTypeName(JsonNode::Type type);

class JsonDocument {
 public:
  // INTERNAL "malformed upstream JSON at offset N: <reason>" on a syntax error, or
  // INTERNAL "upstream JSON nests deeper than <max_depth> levels". Never quotes the input.
  static absl::StatusOr<JsonDocument> Parse(absl::string_view json,
                                            int max_depth = kMaxJsonDepth);

  const JsonNode& root() const { return root_; }

 private:
  friend class JsonDomBuilder;
  JsonNode root_;
  // Storage for strings and numbers; chunks never move, so string_views stay valid when the
  // document is moved.
  std::vector<std::unique_ptr<char[]>> chunks_;
};

}  // namespace fgw

#endif  // FGW_SERVER_TRANSCODING_JSON_DOM_H_
