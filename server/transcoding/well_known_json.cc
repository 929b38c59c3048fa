#include "server/transcoding/well_known_json.h"

#include <string>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"

namespace fgw {
namespace {

using google::protobuf::FieldDescriptor;
using google::protobuf::Reflection;

absl::Status Expected(const char* type, const JsonNode& node) {
  return absl::InternalError(
      absl::StrCat("expected ", type, ", got ", JsonTypeName(node.type)));
}

}  // namespace

absl::Status DecodeWellKnownJson(const JsonNode& node,
                                 google::protobuf::Message* m, WellKnown kind,
                                 int depth) {
  if (depth > kMaxJsonDepth) {
    return absl::InternalError(
        absl::StrCat("nests deeper than ", kMaxJsonDepth, " levels"));
  }
  const Reflection* r = m->GetReflection();
  const google::protobuf::Descriptor* d = m->GetDescriptor();
  switch (kind) {
    case WellKnown::kStruct: {
      if (node.type != JsonNode::kObject) return Expected("an object", node);
      const FieldDescriptor* fields = d->FindFieldByNumber(1);
      const FieldDescriptor* key = fields->message_type()->map_key();
      const FieldDescriptor* value = fields->message_type()->map_value();
      for (size_t i = 0; i < node.keys.size(); ++i) {
        google::protobuf::Message* entry = r->AddMessage(m, fields);
        entry->GetReflection()->SetString(entry, key,
                                          std::string(node.keys[i]));
        absl::Status s = DecodeWellKnownJson(
            node.items[i], entry->GetReflection()->MutableMessage(entry, value),
            WellKnown::kValue, depth + 1);
        if (!s.ok()) return s;
      }
      return absl::OkStatus();
    }
    case WellKnown::kListValue: {
      if (node.type != JsonNode::kArray) return Expected("an array", node);
      const FieldDescriptor* values = d->FindFieldByNumber(1);
      for (const JsonNode& item : node.items) {
        absl::Status s = DecodeWellKnownJson(item, r->AddMessage(m, values),
                                             WellKnown::kValue, depth + 1);
        if (!s.ok()) return s;
      }
      return absl::OkStatus();
    }
    case WellKnown::kValue:
      switch (node.type) {
        case JsonNode::kNull:
          r->SetEnumValue(m, d->FindFieldByNumber(1), 0);
          return absl::OkStatus();
        case JsonNode::kNumber: {
          double v;
          if (!absl::SimpleAtod(node.text, &v))
            return absl::InternalError("not a number");
          r->SetDouble(m, d->FindFieldByNumber(2), v);
          return absl::OkStatus();
        }
        case JsonNode::kString:
          r->SetString(m, d->FindFieldByNumber(3), std::string(node.text));
          return absl::OkStatus();
        case JsonNode::kFalse:
        case JsonNode::kTrue:
          r->SetBool(m, d->FindFieldByNumber(4), node.type == JsonNode::kTrue);
          return absl::OkStatus();
        case JsonNode::kObject:
          return DecodeWellKnownJson(
              node, r->MutableMessage(m, d->FindFieldByNumber(5)),
              WellKnown::kStruct, depth + 1);
        case JsonNode::kArray:
          return DecodeWellKnownJson(
              node, r->MutableMessage(m, d->FindFieldByNumber(6)),
              WellKnown::kListValue, depth + 1);
      }
      return absl::OkStatus();
    case WellKnown::kNone:
      break;
  }
  return absl::InternalError("not a well-known JSON type");
}

}  // namespace fgw
