#include "server/transcoding/json_dom.h"

#include <cstring>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "rapidjson/error/en.h"
#include "rapidjson/memorystream.h"
#include "rapidjson/reader.h"

namespace fgw {

// SAX handler that builds the tree. Containers under construction live on `stack_`; a finished
// value is moved into its parent (or becomes the root).
class JsonDomBuilder {
 public:
  JsonDomBuilder(JsonDocument* doc, int max_depth)
      : doc_(doc), max_depth_(max_depth) {}

  bool Null() { return Add(JsonNode{}); }
  bool Bool(bool b) {
    JsonNode n;
    n.type = b ? JsonNode::kTrue : JsonNode::kFalse;
    return Add(std::move(n));
  }
  // Only reached without kParseNumbersAsStringsFlag; kept for completeness.
  bool Int(int) { return false; }
  bool Uint(unsigned) { return false; }
  bool Int64(int64_t) { return false; }
  bool Uint64(uint64_t) { return false; }
  bool Double(double) { return false; }
  bool RawNumber(const char* str, rapidjson::SizeType length, bool) {
    JsonNode n;
    n.type = JsonNode::kNumber;
    n.text = Store(str, length);
    return Add(std::move(n));
  }
  bool String(const char* str, rapidjson::SizeType length, bool) {
    JsonNode n;
    n.type = JsonNode::kString;
    n.text = Store(str, length);
    return Add(std::move(n));
  }
  bool StartObject() { return Push(JsonNode::kObject); }
  bool Key(const char* str, rapidjson::SizeType length, bool) {
    stack_.back().keys.push_back(Store(str, length));
    return true;
  }
  bool EndObject(rapidjson::SizeType) { return Pop(); }
  bool StartArray() { return Push(JsonNode::kArray); }
  bool EndArray(rapidjson::SizeType) { return Pop(); }

  bool too_deep() const { return too_deep_; }

 private:
  bool Push(JsonNode::Type type) {
    if (static_cast<int>(stack_.size()) >= max_depth_) {
      too_deep_ = true;
      return false;
    }
    stack_.emplace_back();
    stack_.back().type = type;
    return true;
  }
  bool Pop() {
    JsonNode done = std::move(stack_.back());
    stack_.pop_back();
    return Add(std::move(done));
  }
  bool Add(JsonNode node) {
    if (stack_.empty()) {
      doc_->root_ = std::move(node);
    } else {
      stack_.back().items.push_back(std::move(node));
    }
    return true;
  }
  absl::string_view Store(const char* str, size_t length) {
    if (length == 0) return absl::string_view();
    if (length > free_) {
      const size_t size = length > kChunk ? length : kChunk;
      doc_->chunks_.push_back(std::make_unique<char[]>(size));
      next_ = doc_->chunks_.back().get();
      free_ = size;
    }
    std::memcpy(next_, str, length);
    absl::string_view out(next_, length);
    next_ += length;
    free_ -= length;
    return out;
  }

  static constexpr size_t kChunk = 4096;
  JsonDocument* doc_;
  int max_depth_;
  bool too_deep_ = false;
  std::vector<JsonNode> stack_;
  char* next_ = nullptr;
  size_t free_ = 0;
};

const JsonNode* JsonNode::Find(absl::string_view key) const {
  for (size_t i = keys.size(); i > 0; --i) {
    if (keys[i - 1] == key) return &items[i - 1];
  }
  return nullptr;
}

const char* JsonTypeName(JsonNode::Type type) {
  switch (type) {
    case JsonNode::kNull:
      return "null";
    case JsonNode::kFalse:
    case JsonNode::kTrue:
      return "boolean";
    case JsonNode::kNumber:
      return "number";
    case JsonNode::kString:
      return "string";
    case JsonNode::kArray:
      return "array";
    case JsonNode::kObject:
      return "object";
  }
  return "?";
}

absl::StatusOr<JsonDocument> JsonDocument::Parse(absl::string_view json,
                                                 int max_depth) {
  JsonDocument doc;
  JsonDomBuilder builder(&doc, max_depth);
  rapidjson::MemoryStream stream(json.data(), json.size());
  rapidjson::Reader reader;
  constexpr unsigned kFlags = rapidjson::kParseNumbersAsStringsFlag |
                              rapidjson::kParseIterativeFlag |
                              rapidjson::kParseValidateEncodingFlag;
  rapidjson::ParseResult result = reader.Parse<kFlags>(stream, builder);
  if (builder.too_deep()) {
    return absl::InternalError(
        absl::StrCat("upstream JSON nests deeper than ", max_depth, " levels"));
  }
  if (result.IsError()) {
    return absl::InternalError(
        absl::StrCat("malformed upstream JSON at offset ", result.Offset(),
                     ": ", rapidjson::GetParseError_En(result.Code())));
  }
  return doc;
}

}  // namespace fgw
