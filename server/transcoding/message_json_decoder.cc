#include "server/transcoding/message_json_decoder.h"

#include <algorithm>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/escaping.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "server/transcoding/codec_plan.h"
#include "server/transcoding/scalar_text.h"
#include "server/transcoding/well_known_json.h"

namespace fgw {
namespace {

using google::protobuf::FieldDescriptor;
using google::protobuf::Message;
using google::protobuf::Reflection;

class Decoder {
 public:
  absl::Status Message(const JsonNode& node, google::protobuf::Message* m,
                       const MessagePlan& plan, int depth);
  absl::Status Field(const JsonNode& node, google::protobuf::Message* m,
                     const FieldPlan& fp, int depth);

 private:
  struct PathElem {
    absl::string_view key;
    int index;
  };
  absl::Status Error(absl::string_view what);
  absl::Status Expected(const char* type, const JsonNode& node) {
    return Error(
        absl::StrCat("expected ", type, ", got ", JsonTypeName(node.type)));
  }
  absl::Status Object(const JsonNode& node, google::protobuf::Message* m,
                      const MessagePlan& plan, int depth);
  absl::Status Map(const JsonNode& node, google::protobuf::Message* m,
                   const FieldPlan& fp, int depth);
  // One member of a bare map's object: a new entry keyed `key`.
  absl::Status MapEntry(absl::string_view key, const JsonNode& value,
                        google::protobuf::Message* m, const FieldPlan& fp,
                        int depth);
  // One named property: null handling, then the field.
  absl::Status Property(absl::string_view key, const JsonNode& value,
                        google::protobuf::Message* m, const MessagePlan& plan,
                        const FieldPlan& fp, int depth);
  absl::Status Value(const JsonNode& node, google::protobuf::Message* m,
                     const FieldDescriptor* f, bool add, const FieldPlan& fp,
                     int depth);
  absl::Status Union(const JsonNode& node, google::protobuf::Message* m,
                     const MessagePlan& plan, int depth);
  absl::Status StructValue(const JsonNode& node, google::protobuf::Message* m,
                           WellKnown kind, int depth);
  bool Matches(const FieldPlan& fp, const JsonNode& node, int depth);
  absl::Status Integer(const JsonNode& node, std::string* digits);

  std::vector<PathElem> path_;
};

absl::Status Decoder::Error(absl::string_view what) {
  std::string where;
  for (const PathElem& e : path_) {
    if (e.index >= 0) {
      absl::StrAppend(&where, "[", e.index, "]");
    } else {
      absl::StrAppend(&where, where.empty() ? "" : ".", e.key);
    }
  }
  return absl::InternalError(absl::StrCat(
      "upstream JSON at ", where.empty() ? "$" : where, ": ", what));
}

absl::Status Decoder::Message(const JsonNode& node,
                              google::protobuf::Message* m,
                              const MessagePlan& plan, int depth) {
  if (depth > kMaxJsonDepth) {
    return Error(absl::StrCat("nests deeper than ", kMaxJsonDepth, " levels"));
  }
  if (plan.well_known != WellKnown::kNone)
    return StructValue(node, m, plan.well_known, depth);
  if (plan.union_oneof != nullptr) return Union(node, m, plan, depth);
  if (plan.bare_map != nullptr) {
    if (node.type != JsonNode::kObject) return Expected("an object", node);
    if (!plan.has_named_properties) return Map(node, m, *plan.bare_map, depth);
    // Named properties go to their fields, every other key to the map (V2ChartSegment).
    for (size_t i = 0; i < node.keys.size(); ++i) {
      const FieldPlan* fp = plan.FindProperty(node.keys[i]);
      absl::Status s =
          fp != nullptr
              ? Property(node.keys[i], node.items[i], m, plan, *fp, depth)
              : MapEntry(node.keys[i], node.items[i], m, *plan.bare_map, depth);
      if (!s.ok()) return s;
    }
    return absl::OkStatus();
  }
  if (node.type != JsonNode::kObject) return Expected("an object", node);
  return Object(node, m, plan, depth);
}

absl::Status Decoder::Object(const JsonNode& node, google::protobuf::Message* m,
                             const MessagePlan& plan, int depth) {
  for (size_t i = 0; i < node.keys.size(); ++i) {
    const FieldPlan* fp = plan.FindProperty(node.keys[i]);
    if (fp == nullptr) continue;  // Unknown property: forward compatibility.
    absl::Status s = Property(node.keys[i], node.items[i], m, plan, *fp, depth);
    if (!s.ok()) return s;
  }
  return absl::OkStatus();
}

absl::Status Decoder::Property(absl::string_view key, const JsonNode& value,
                               google::protobuf::Message* m,
                               const MessagePlan& plan, const FieldPlan& fp,
                               int depth) {
  if (value.is_null() && !(fp.value_field->message_type() != nullptr &&
                           MessagePlanOf(fp).well_known == WellKnown::kValue &&
                           !fp.field->is_repeated())) {
    m->GetReflection()->ClearField(m, fp.field);
    if (fp.nullable && plan.null_fields != nullptr) {
      m->GetReflection()->AddString(m, plan.null_fields->field, fp.wire_name);
    }
    return absl::OkStatus();
  }
  path_.push_back({key, -1});
  absl::Status s = Field(value, m, fp, depth);
  if (s.ok()) path_.pop_back();
  return s;
}

absl::Status Decoder::Field(const JsonNode& node, google::protobuf::Message* m,
                            const FieldPlan& fp, int depth) {
  if (fp.is_map) {
    if (node.is_null()) return absl::OkStatus();
    if (node.type != JsonNode::kObject) return Expected("an object", node);
    return Map(node, m, fp, depth);
  }
  if (fp.field->is_repeated()) {
    if (node.is_null()) return absl::OkStatus();
    if (node.type != JsonNode::kArray) return Expected("an array", node);
    for (size_t i = 0; i < node.items.size(); ++i) {
      path_.push_back({absl::string_view(), static_cast<int>(i)});
      absl::Status s =
          Value(node.items[i], m, fp.field, /*add=*/true, fp, depth);
      if (!s.ok()) return s;
      path_.pop_back();
    }
    return absl::OkStatus();
  }
  return Value(node, m, fp.field, /*add=*/false, fp, depth);
}

absl::Status Decoder::Map(const JsonNode& node, google::protobuf::Message* m,
                          const FieldPlan& fp, int depth) {
  for (size_t i = 0; i < node.keys.size(); ++i) {
    absl::Status s = MapEntry(node.keys[i], node.items[i], m, fp, depth);
    if (!s.ok()) return s;
  }
  return absl::OkStatus();
}

absl::Status Decoder::MapEntry(absl::string_view key, const JsonNode& value,
                               google::protobuf::Message* m,
                               const FieldPlan& fp, int depth) {
  if (value.is_null() && fp.value_field->message_type() == nullptr) {
    return absl::OkStatus();
  }
  path_.push_back({key, -1});
  google::protobuf::Message* entry =
      m->GetReflection()->AddMessage(m, fp.field);
  const Reflection* er = entry->GetReflection();
  bool key_ok = true;
  switch (fp.key_field->cpp_type()) {
    case FieldDescriptor::CPPTYPE_STRING:
      er->SetString(entry, fp.key_field, std::string(key));
      break;
    case FieldDescriptor::CPPTYPE_INT32: {
      int32_t v;
      key_ok = absl::SimpleAtoi(key, &v);
      if (key_ok) er->SetInt32(entry, fp.key_field, v);
      break;
    }
    case FieldDescriptor::CPPTYPE_INT64: {
      int64_t v;
      key_ok = absl::SimpleAtoi(key, &v);
      if (key_ok) er->SetInt64(entry, fp.key_field, v);
      break;
    }
    case FieldDescriptor::CPPTYPE_UINT32: {
      uint32_t v;
      key_ok = absl::SimpleAtoi(key, &v);
      if (key_ok) er->SetUInt32(entry, fp.key_field, v);
      break;
    }
    case FieldDescriptor::CPPTYPE_UINT64: {
      uint64_t v;
      key_ok = absl::SimpleAtoi(key, &v);
      if (key_ok) er->SetUInt64(entry, fp.key_field, v);
      break;
    }
    case FieldDescriptor::CPPTYPE_BOOL:
      key_ok = key == "true" || key == "false";
      if (key_ok) er->SetBool(entry, fp.key_field, key == "true");
      break;
    default:
      key_ok = false;
  }
  if (!key_ok) return Error("map key does not fit the key type");
  absl::Status s =
      Value(value, entry, fp.value_field, /*add=*/false, fp, depth);
  if (s.ok()) path_.pop_back();
  return s;
}

absl::Status Decoder::Integer(const JsonNode& node, std::string* digits) {
  if (node.type != JsonNode::kNumber && node.type != JsonNode::kString) {
    return Expected("a number", node);
  }
  if (!JsonNumberToInteger(node.text, digits)) {
    return Error(node.type == JsonNode::kNumber
                     ? "upstream sent a non-integer number for an integer field"
                     : "expected an integer, got a non-numeric string");
  }
  return absl::OkStatus();
}

absl::Status Decoder::Value(const JsonNode& node, google::protobuf::Message* m,
                            const FieldDescriptor* f, bool add,
                            const FieldPlan& fp, int depth) {
  const Reflection* r = m->GetReflection();
  if (node.is_null() && f->cpp_type() != FieldDescriptor::CPPTYPE_MESSAGE) {
    return absl::OkStatus();  // A null element or value reads as absent.
  }
  std::string digits;
  switch (f->cpp_type()) {
    case FieldDescriptor::CPPTYPE_INT32:
    case FieldDescriptor::CPPTYPE_INT64:
    case FieldDescriptor::CPPTYPE_UINT32:
    case FieldDescriptor::CPPTYPE_UINT64: {
      absl::Status s = Integer(node, &digits);
      if (!s.ok()) return s;
      bool ok = false;
      if (f->cpp_type() == FieldDescriptor::CPPTYPE_INT32) {
        int32_t v;
        if ((ok = absl::SimpleAtoi(digits, &v)))
          add ? r->AddInt32(m, f, v) : r->SetInt32(m, f, v);
      } else if (f->cpp_type() == FieldDescriptor::CPPTYPE_INT64) {
        int64_t v;
        if ((ok = absl::SimpleAtoi(digits, &v)))
          add ? r->AddInt64(m, f, v) : r->SetInt64(m, f, v);
      } else if (f->cpp_type() == FieldDescriptor::CPPTYPE_UINT32) {
        uint32_t v;
        if ((ok = absl::SimpleAtoi(digits, &v)))
          add ? r->AddUInt32(m, f, v) : r->SetUInt32(m, f, v);
      } else {
        uint64_t v;
        if ((ok = absl::SimpleAtoi(digits, &v)))
          add ? r->AddUInt64(m, f, v) : r->SetUInt64(m, f, v);
      }
      if (!ok) return Error("integer out of range for the field's type");
      return absl::OkStatus();
    }
    case FieldDescriptor::CPPTYPE_DOUBLE:
    case FieldDescriptor::CPPTYPE_FLOAT: {
      if (node.type != JsonNode::kNumber && node.type != JsonNode::kString) {
        return Expected("a number", node);
      }
      double v;
      if (!absl::SimpleAtod(node.text, &v)) return Error("not a number");
      if (f->cpp_type() == FieldDescriptor::CPPTYPE_DOUBLE) {
        add ? r->AddDouble(m, f, v) : r->SetDouble(m, f, v);
      } else {
        add ? r->AddFloat(m, f, static_cast<float>(v))
            : r->SetFloat(m, f, static_cast<float>(v));
      }
      return absl::OkStatus();
    }
    case FieldDescriptor::CPPTYPE_BOOL: {
      bool v;
      if (node.is_bool()) {
        v = node.type == JsonNode::kTrue;
      } else if (node.type == JsonNode::kString &&
                 (node.text == "true" || node.text == "false")) {
        v = node.text == "true";
      } else {
        return Expected("a boolean", node);
      }
      add ? r->AddBool(m, f, v) : r->SetBool(m, f, v);
      return absl::OkStatus();
    }
    case FieldDescriptor::CPPTYPE_ENUM: {
      if (node.type != JsonNode::kString) return Expected("a string", node);
      const int number = fp.Enum().Number(node.text);
      if (number == 0)
        return absl::OkStatus();  // Unknown value: UNSPECIFIED / dropped.
      add ? r->AddEnumValue(m, f, number) : r->SetEnumValue(m, f, number);
      return absl::OkStatus();
    }
    case FieldDescriptor::CPPTYPE_STRING: {
      std::string value;
      if (f->type() == FieldDescriptor::TYPE_BYTES) {
        if (node.type != JsonNode::kString)
          return Expected("a base64 string", node);
        if (!absl::Base64Unescape(node.text, &value) &&
            !absl::WebSafeBase64Unescape(node.text, &value)) {
          return Error("invalid base64");
        }
      } else if (fp.bigint) {
        absl::Status s = Integer(node, &value);
        if (!s.ok()) return s;
      } else if (node.type == JsonNode::kString ||
                 node.type == JsonNode::kNumber) {
        value = std::string(node.text);
      } else if (node.is_bool()) {
        value = node.type == JsonNode::kTrue ? "true" : "false";
      } else {
        return Expected("a string", node);
      }
      add ? r->AddString(m, f, std::move(value))
          : r->SetString(m, f, std::move(value));
      return absl::OkStatus();
    }
    case FieldDescriptor::CPPTYPE_MESSAGE: {
      const MessagePlan& sub_plan = MessagePlanOf(fp);
      if (node.is_null() && sub_plan.well_known != WellKnown::kValue) {
        return absl::OkStatus();
      }
      google::protobuf::Message* sub =
          add ? r->AddMessage(m, f) : r->MutableMessage(m, f);
      return Message(node, sub, sub_plan, depth + 1);
    }
  }
  return absl::OkStatus();
}

bool Decoder::Matches(const FieldPlan& fp, const JsonNode& node, int depth) {
  const FieldDescriptor* f = fp.field;
  switch (f->cpp_type()) {
    case FieldDescriptor::CPPTYPE_STRING:
      return fp.bigint ? node.type == JsonNode::kNumber
                       : node.type == JsonNode::kString;
    case FieldDescriptor::CPPTYPE_BOOL:
      return node.is_bool();
    case FieldDescriptor::CPPTYPE_ENUM:
      return node.type == JsonNode::kString && fp.Enum().Number(node.text) != 0;
    case FieldDescriptor::CPPTYPE_MESSAGE: {
      const MessagePlan& plan = MessagePlanOf(fp);
      switch (plan.well_known) {
        case WellKnown::kValue:
          return true;
        case WellKnown::kStruct:
          return node.type == JsonNode::kObject;
        case WellKnown::kListValue:
          return node.type == JsonNode::kArray;
        case WellKnown::kNone:
          break;
      }
      if (plan.union_oneof != nullptr) {
        if (depth > kMaxJsonDepth) return false;
        for (int i = 0; i < plan.union_oneof->field_count(); ++i) {
          if (Matches(plan.Of(plan.union_oneof->field(i)), node, depth + 1))
            return true;
        }
        return false;
      }
      if (node.type != JsonNode::kObject) return false;
      if (plan.bare_map != nullptr) return true;
      for (const FieldPlan& member : plan.fields) {
        if (!member.required || !member.in_json()) continue;
        const JsonNode* value = node.Find(member.wire_name);
        if (value == nullptr) return false;
        if (member.enum_plan != nullptr && !member.field->is_repeated() &&
            (value->type != JsonNode::kString ||
             member.enum_plan->Number(value->text) == 0)) {
          return false;
        }
      }
      return true;
    }
    default:  // Integers and doubles.
      return node.type == JsonNode::kNumber;
  }
}

absl::Status Decoder::Union(const JsonNode& node, google::protobuf::Message* m,
                            const MessagePlan& plan, int depth) {
  const google::protobuf::OneofDescriptor* oneof = plan.union_oneof;
  if (!plan.discriminator.empty() && node.type == JsonNode::kObject) {
    const JsonNode* tag = node.Find(plan.discriminator);
    if (tag != nullptr && tag->type == JsonNode::kString) {
      for (int i = 0; i < oneof->field_count(); ++i) {
        const FieldPlan& fp = plan.Of(oneof->field(i));
        if (fp.discriminator_value == tag->text) {
          return Value(node, m, fp.field, /*add=*/false, fp, depth);
        }
      }
    }
  }
  absl::Status last =
      Error(absl::StrCat("matches no member of ", plan.descriptor->name()));
  // Candidates in declaration order; for an object, the ones that know more of its
  // properties first (stable), so `{"resource":"transactions","id":3}` picks the member
  // that has `id` even when every member has a `resource`.
  std::vector<std::pair<size_t, const FieldPlan*>> candidates;
  for (int i = 0; i < oneof->field_count(); ++i) {
    const FieldPlan& fp = plan.Of(oneof->field(i));
    if (!Matches(fp, node, depth)) continue;
    size_t unknown = 0;
    if (node.type == JsonNode::kObject &&
        fp.field->cpp_type() == FieldDescriptor::CPPTYPE_MESSAGE) {
      const MessagePlan& member = MessagePlanOf(fp);
      if (member.well_known == WellKnown::kNone && member.bare_map == nullptr &&
          member.union_oneof == nullptr) {
        for (absl::string_view key : node.keys)
          unknown += member.FindProperty(key) == nullptr;
      }
    }
    candidates.emplace_back(unknown, &fp);
  }
  std::stable_sort(
      candidates.begin(), candidates.end(),
      [](const auto& a, const auto& b) { return a.first < b.first; });
  for (const auto& [unknown, member] : candidates) {
    const FieldPlan& fp = *member;
    const size_t path_size = path_.size();
    absl::Status s = Value(node, m, fp.field, /*add=*/false, fp, depth);
    if (s.ok()) return s;
    path_.resize(path_size);
    m->GetReflection()->ClearField(m, fp.field);
    last = s;
  }
  return last;
}

absl::Status Decoder::StructValue(const JsonNode& node,
                                  google::protobuf::Message* m, WellKnown kind,
                                  int depth) {
  absl::Status s = DecodeWellKnownJson(node, m, kind, depth);
  return s.ok() ? s : Error(s.message());
}

}  // namespace

absl::Status JsonNodeToMessage(const JsonNode& node,
                               google::protobuf::Message* message) {
  return JsonNodeToMessage(node, message,
                           GetMessagePlan(message->GetDescriptor()));
}

absl::Status JsonNodeToMessage(const JsonNode& node,
                               google::protobuf::Message* message,
                               const MessagePlan& plan) {
  Decoder decoder;
  return decoder.Message(node, message, plan, 0);
}

absl::Status JsonToMessage(absl::string_view json,
                           google::protobuf::Message* message) {
  absl::StatusOr<JsonDocument> doc = JsonDocument::Parse(json);
  if (!doc.ok()) return doc.status();
  return JsonNodeToMessage(doc->root(), message);
}

absl::Status JsonNodeToField(const JsonNode& node,
                             google::protobuf::Message* message,
                             const FieldDescriptor* field) {
  return JsonNodeToField(node, message,
                         GetMessagePlan(message->GetDescriptor()).Of(field));
}

absl::Status JsonNodeToField(const JsonNode& node,
                             google::protobuf::Message* message,
                             const FieldPlan& field) {
  Decoder decoder;
  return decoder.Field(node, message, field, 0);
}

}  // namespace fgw
