#include "server/transcoding/message_json_encoder.h"

#include <algorithm>
#include <utility>
#include <vector>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "rapidjson/writer.h"
#include "server/transcoding/codec_plan.h"
#include "server/transcoding/json_dom.h"
#include "server/transcoding/scalar_text.h"

namespace fgw {
namespace {

using google::protobuf::FieldDescriptor;
using google::protobuf::Message;
using google::protobuf::Reflection;

using Writer = rapidjson::Writer<JsonStringSink>;

absl::Status Invalid(const FieldPlan& fp, absl::string_view why) {
  return absl::InvalidArgumentError(
      absl::StrCat("field '", fp.field->name(), "' (",
                   fp.field->containing_type()->name(), "): ", why));
}

class Encoder {
 public:
  explicit Encoder(std::string* out) : sink_(out), w_(sink_) {}

  absl::Status Message(const google::protobuf::Message& m,
                       const MessagePlan& plan, int depth,
                       const JsonEncodeOptions* options = nullptr);
  absl::Status Field(const google::protobuf::Message& m, const FieldPlan& fp,
                     int depth);

 private:
  absl::Status Properties(const google::protobuf::Message& m,
                          const MessagePlan& plan, absl::string_view skip,
                          const JsonEncodeOptions* options, int depth);
  absl::Status Union(const google::protobuf::Message& m,
                     const MessagePlan& plan, int depth);
  absl::Status Map(const google::protobuf::Message& m, const FieldPlan& fp,
                   int depth);
  // The entries of map field `fp` as members of the object being written.
  absl::Status MapEntries(const google::protobuf::Message& m,
                          const FieldPlan& fp, int depth);
  absl::Status Value(const google::protobuf::Message& m,
                     const FieldDescriptor* f, int index, const FieldPlan& fp,
                     int depth);
  absl::Status StructValue(const google::protobuf::Message& m, WellKnown kind,
                           int depth);
  bool ShouldWrite(const google::protobuf::Message& m, const FieldPlan& fp,
                   absl::Status* error);
  void Raw(const std::string& text) {
    w_.RawValue(text.data(), text.size(), rapidjson::kNumberType);
  }

  JsonStringSink sink_;
  Writer w_;
  std::string scratch_;
};

absl::Status Encoder::Message(const google::protobuf::Message& m,
                              const MessagePlan& plan, int depth,
                              const JsonEncodeOptions* options) {
  if (depth > kMaxJsonDepth) {
    return absl::InvalidArgumentError(
        absl::StrCat("message nests deeper than ", kMaxJsonDepth, " levels"));
  }
  if (plan.well_known != WellKnown::kNone)
    return StructValue(m, plan.well_known, depth);
  if (plan.bare_map != nullptr && !plan.has_named_properties)
    return Map(m, *plan.bare_map, depth);
  if (plan.union_oneof != nullptr) return Union(m, plan, depth);
  w_.StartObject();
  // A bare map with named properties too (V2ChartSegment: ".self", ".pattern" and any other
  // key): the named ones first, then the map's entries in the same object.
  absl::Status s = Properties(m, plan, absl::string_view(), options, depth);
  if (s.ok() && plan.bare_map != nullptr)
    s = MapEntries(m, *plan.bare_map, depth);
  w_.EndObject();
  return s;
}

bool Encoder::ShouldWrite(const google::protobuf::Message& m,
                          const FieldPlan& fp, absl::Status* error) {
  const Reflection* r = m.GetReflection();
  const FieldDescriptor* f = fp.field;
  if (f->is_repeated()) return fp.required || r->FieldSize(m, f) > 0;
  if (f->cpp_type() == FieldDescriptor::CPPTYPE_MESSAGE)
    return fp.required || r->HasField(m, f);
  const bool present = r->HasField(m, f) || fp.required;
  if (f->cpp_type() == FieldDescriptor::CPPTYPE_ENUM &&
      r->GetEnumValue(m, f) == 0) {
    if (fp.required)
      *error = Invalid(fp, "is required (enum value is UNSPECIFIED)");
    return false;
  }
  if (fp.bigint && r->GetStringReference(m, f, &scratch_).empty()) {
    if (fp.required) *error = Invalid(fp, "is required (empty integer)");
    return false;
  }
  return present;
}

absl::Status Encoder::Properties(const google::protobuf::Message& m,
                                 const MessagePlan& plan,
                                 absl::string_view skip,
                                 const JsonEncodeOptions* options, int depth) {
  const Reflection* r = m.GetReflection();
  std::vector<std::string> nulls;
  if (plan.null_fields != nullptr) {
    const int n = r->FieldSize(m, plan.null_fields->field);
    for (int i = 0; i < n; ++i)
      nulls.push_back(r->GetRepeatedString(m, plan.null_fields->field, i));
  }
  for (const FieldPlan& fp : plan.fields) {
    if (!fp.in_json() || &fp == plan.null_fields || &fp == plan.bare_map)
      continue;
    if (!skip.empty() && fp.wire_name == skip) continue;
    if (options != nullptr && options->exclude != nullptr &&
        options->exclude->contains(fp.field)) {
      continue;
    }
    if (!nulls.empty() &&
        std::find(nulls.begin(), nulls.end(), fp.wire_name) != nulls.end()) {
      w_.Key(fp.wire_name.data(), fp.wire_name.size());
      w_.Null();
      continue;
    }
    absl::Status error;
    if (!ShouldWrite(m, fp, &error)) {
      if (!error.ok()) return error;
      continue;
    }
    w_.Key(fp.wire_name.data(), fp.wire_name.size());
    absl::Status s = Field(m, fp, depth);
    if (!s.ok()) return s;
  }
  return absl::OkStatus();
}

absl::Status Encoder::Field(const google::protobuf::Message& m,
                            const FieldPlan& fp, int depth) {
  if (fp.is_map) return Map(m, fp, depth);
  if (fp.field->is_repeated()) {
    const Reflection* r = m.GetReflection();
    const int n = r->FieldSize(m, fp.field);
    w_.StartArray();
    for (int i = 0; i < n; ++i) {
      absl::Status s = Value(m, fp.field, i, fp, depth);
      if (!s.ok()) return s;
    }
    w_.EndArray();
    return absl::OkStatus();
  }
  return Value(m, fp.field, -1, fp, depth);
}

absl::Status Encoder::MapEntries(const google::protobuf::Message& m,
                                 const FieldPlan& fp, int depth) {
  const Reflection* r = m.GetReflection();
  const int n = r->FieldSize(m, fp.field);
  std::vector<std::pair<std::string, const google::protobuf::Message*>> entries;
  entries.reserve(n);
  for (int i = 0; i < n; ++i) {
    const google::protobuf::Message& entry =
        r->GetRepeatedMessage(m, fp.field, i);
    if (fp.key_field->cpp_type() == FieldDescriptor::CPPTYPE_STRING) {
      entries.emplace_back(
          entry.GetReflection()->GetString(entry, fp.key_field), &entry);
      continue;
    }
    FieldPlan
        key_plan;  // Integer and bool keys: their decimal / true|false text.
    key_plan.field = fp.field;
    absl::StatusOr<std::string> key =
        ScalarText(entry, fp.key_field, -1, key_plan);
    if (!key.ok()) return key.status();
    entries.emplace_back(*std::move(key), &entry);
  }
  std::sort(entries.begin(), entries.end(),
            [](const auto& a, const auto& b) { return a.first < b.first; });
  for (const auto& [key, entry] : entries) {
    w_.Key(key.data(), key.size());
    absl::Status s = Value(*entry, fp.value_field, -1, fp, depth);
    if (!s.ok()) return s;
  }
  return absl::OkStatus();
}

absl::Status Encoder::Map(const google::protobuf::Message& m,
                          const FieldPlan& fp, int depth) {
  w_.StartObject();
  absl::Status s = MapEntries(m, fp, depth);
  w_.EndObject();
  return s;
}

absl::Status Encoder::Value(const google::protobuf::Message& m,
                            const FieldDescriptor* f, int index,
                            const FieldPlan& fp, int depth) {
  const Reflection* r = m.GetReflection();
  const bool rep = index >= 0;
  switch (f->cpp_type()) {
    case FieldDescriptor::CPPTYPE_INT32:
      w_.Int(rep ? r->GetRepeatedInt32(m, f, index) : r->GetInt32(m, f));
      return absl::OkStatus();
    case FieldDescriptor::CPPTYPE_INT64:
      w_.Int64(rep ? r->GetRepeatedInt64(m, f, index) : r->GetInt64(m, f));
      return absl::OkStatus();
    case FieldDescriptor::CPPTYPE_UINT32:
      w_.Uint(rep ? r->GetRepeatedUInt32(m, f, index) : r->GetUInt32(m, f));
      return absl::OkStatus();
    case FieldDescriptor::CPPTYPE_UINT64:
      w_.Uint64(rep ? r->GetRepeatedUInt64(m, f, index) : r->GetUInt64(m, f));
      return absl::OkStatus();
    case FieldDescriptor::CPPTYPE_BOOL:
      w_.Bool(rep ? r->GetRepeatedBool(m, f, index) : r->GetBool(m, f));
      return absl::OkStatus();
    case FieldDescriptor::CPPTYPE_DOUBLE:
    case FieldDescriptor::CPPTYPE_FLOAT:
    case FieldDescriptor::CPPTYPE_ENUM: {
      absl::StatusOr<std::string> text = ScalarText(m, f, index, fp);
      if (!text.ok()) return text.status();
      if (f->cpp_type() == FieldDescriptor::CPPTYPE_ENUM) {
        w_.String(text->data(), text->size());
      } else {
        Raw(*text);
      }
      return absl::OkStatus();
    }
    case FieldDescriptor::CPPTYPE_STRING: {
      const std::string& s =
          rep ? r->GetRepeatedStringReference(m, f, index, &scratch_)
              : r->GetStringReference(m, f, &scratch_);
      if (f->type() == FieldDescriptor::TYPE_BYTES) {
        const std::string encoded = absl::Base64Escape(s);
        w_.String(encoded.data(), encoded.size());
      } else if (fp.bigint) {
        std::string digits;
        if (!NormalizeBigint(s, &digits)) {
          return Invalid(
              fp, "must be an integer (digits with an optional leading '-')");
        }
        Raw(digits);
      } else {
        w_.String(s.data(), s.size());
      }
      return absl::OkStatus();
    }
    case FieldDescriptor::CPPTYPE_MESSAGE: {
      const google::protobuf::Message& sub =
          rep ? r->GetRepeatedMessage(m, f, index) : r->GetMessage(m, f);
      return Message(sub, MessagePlanOf(fp), depth + 1);
    }
  }
  return absl::OkStatus();
}

absl::Status Encoder::Union(const google::protobuf::Message& m,
                            const MessagePlan& plan, int depth) {
  const FieldDescriptor* member =
      m.GetReflection()->GetOneofFieldDescriptor(m, plan.union_oneof);
  if (member == nullptr) {
    return absl::InvalidArgumentError(
        absl::StrCat(m.GetDescriptor()->name(), ": one member of '",
                     plan.union_oneof->name(), "' must be set"));
  }
  const FieldPlan& fp = plan.Of(member);
  if (!plan.discriminator.empty() && !fp.discriminator_value.empty() &&
      member->cpp_type() == FieldDescriptor::CPPTYPE_MESSAGE) {
    const google::protobuf::Message& sub =
        m.GetReflection()->GetMessage(m, member);
    const MessagePlan& sub_plan = MessagePlanOf(fp);
    if (sub_plan.well_known == WellKnown::kNone &&
        sub_plan.bare_map == nullptr && sub_plan.union_oneof == nullptr) {
      if (depth + 1 > kMaxJsonDepth) return Message(sub, sub_plan, depth + 1);
      w_.StartObject();
      w_.Key(plan.discriminator.data(), plan.discriminator.size());
      w_.String(fp.discriminator_value.data(), fp.discriminator_value.size());
      absl::Status s =
          Properties(sub, sub_plan, plan.discriminator, nullptr, depth + 1);
      w_.EndObject();
      return s;
    }
  }
  return Value(m, member, -1, fp, depth);
}

// google.protobuf.Struct / Value / ListValue, by reflection (generated or dynamic).
absl::Status Encoder::StructValue(const google::protobuf::Message& m,
                                  WellKnown kind, int depth) {
  if (depth > kMaxJsonDepth) {
    return absl::InvalidArgumentError(
        absl::StrCat("message nests deeper than ", kMaxJsonDepth, " levels"));
  }
  const Reflection* r = m.GetReflection();
  const google::protobuf::Descriptor* d = m.GetDescriptor();
  switch (kind) {
    case WellKnown::kStruct: {
      const FieldDescriptor* fields = d->FindFieldByNumber(1);
      const FieldDescriptor* key = fields->message_type()->map_key();
      const FieldDescriptor* value = fields->message_type()->map_value();
      const int n = r->FieldSize(m, fields);
      std::vector<std::pair<std::string, const google::protobuf::Message*>>
          entries;
      entries.reserve(n);
      for (int i = 0; i < n; ++i) {
        const google::protobuf::Message& e =
            r->GetRepeatedMessage(m, fields, i);
        entries.emplace_back(e.GetReflection()->GetString(e, key),
                             &e.GetReflection()->GetMessage(e, value));
      }
      std::sort(entries.begin(), entries.end(),
                [](const auto& a, const auto& b) { return a.first < b.first; });
      w_.StartObject();
      for (const auto& [k, v] : entries) {
        w_.Key(k.data(), k.size());
        absl::Status s = StructValue(*v, WellKnown::kValue, depth + 1);
        if (!s.ok()) return s;
      }
      w_.EndObject();
      return absl::OkStatus();
    }
    case WellKnown::kListValue: {
      const FieldDescriptor* values = d->FindFieldByNumber(1);
      w_.StartArray();
      for (int i = 0, n = r->FieldSize(m, values); i < n; ++i) {
        absl::Status s = StructValue(r->GetRepeatedMessage(m, values, i),
                                     WellKnown::kValue, depth + 1);
        if (!s.ok()) return s;
      }
      w_.EndArray();
      return absl::OkStatus();
    }
    case WellKnown::kValue: {
      const FieldDescriptor* set =
          r->GetOneofFieldDescriptor(m, d->oneof_decl(0));
      if (set == nullptr || set->number() == 1) {
        w_.Null();
        return absl::OkStatus();
      }
      switch (set->number()) {
        case 2: {
          std::string text;
          if (!FormatDouble(r->GetDouble(m, set), &text)) {
            return absl::InvalidArgumentError(
                "google.protobuf.Value: NaN or infinity");
          }
          Raw(text);
          return absl::OkStatus();
        }
        case 3: {
          const std::string& s = r->GetStringReference(m, set, &scratch_);
          w_.String(s.data(), s.size());
          return absl::OkStatus();
        }
        case 4:
          w_.Bool(r->GetBool(m, set));
          return absl::OkStatus();
        case 5:
          return StructValue(r->GetMessage(m, set), WellKnown::kStruct,
                             depth + 1);
        case 6:
          return StructValue(r->GetMessage(m, set), WellKnown::kListValue,
                             depth + 1);
      }
      w_.Null();
      return absl::OkStatus();
    }
    case WellKnown::kNone:
      break;
  }
  return absl::InternalError("not a well-known JSON type");
}

}  // namespace

absl::Status AppendMessageJson(const google::protobuf::Message& message,
                               std::string* out,
                               const JsonEncodeOptions& options) {
  return AppendMessageJson(message, GetMessagePlan(message.GetDescriptor()),
                           out, options);
}

absl::Status AppendMessageJson(const google::protobuf::Message& message,
                               const MessagePlan& plan, std::string* out,
                               const JsonEncodeOptions& options) {
  Encoder encoder(out);
  return encoder.Message(message, plan, 0, &options);
}

absl::StatusOr<std::string> MessageToJson(
    const google::protobuf::Message& message,
    const JsonEncodeOptions& options) {
  std::string out;
  absl::Status s = AppendMessageJson(message, &out, options);
  if (!s.ok()) return s;
  return out;
}

absl::Status AppendFieldJson(const google::protobuf::Message& message,
                             const FieldDescriptor* field, std::string* out) {
  return AppendFieldJson(
      message, GetMessagePlan(message.GetDescriptor()).Of(field), out);
}

absl::Status AppendFieldJson(const google::protobuf::Message& message,
                             const FieldPlan& field, std::string* out) {
  Encoder encoder(out);
  return encoder.Field(message, field, 0);
}

}  // namespace fgw
