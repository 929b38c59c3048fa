// Codec plans: the gateway options of a message type (FieldRules, MessageRules, EnumValue
// wire values) read once and kept in a form the JSON, query and header codecs use on every
// call without calling GetExtension again.
//
// Two ways to get plans:
// - CodecPlans::Compile (the daemon): every message and enum reachable from the API's methods,
//   compiled once at load into an immutable set in which each field's plan points at the plan
//   of its message type (FieldPlan::message) and enum (FieldPlan::enum_plan). Walking a request
//   or a reply from a compiled root plan touches no cache and takes no lock.
// - GetMessagePlan/GetEnumPlan (tests and tools): built on first use into a process-wide cache
//   under a mutex; their FieldPlan::message is null, and the codecs look nested plans up the
//   same way. The call path uses them only for the one typed error body a method declares
//   (MapHttpError, after a non-2xx reply); requests and replies never.
//
// Thread safety: compiled plans are immutable; GetMessagePlan/GetEnumPlan may be called
// concurrently. A plan holds descriptor pointers: their pool must outlive the plan.
#ifndef FGW_SERVER_TRANSCODING_CODEC_PLAN_H_
#define FGW_SERVER_TRANSCODING_CODEC_PLAN_H_

#include <memory>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/string_view.h"
#include "formance/gateway/v1/options.pb.h"
#include "google/protobuf/descriptor.h"

namespace fgw {

// Wire strings of an enum's values: the `wire_value` option, else the value's name.
// Value 0 (UNSPECIFIED) never has a wire string.
struct EnumPlan {
  const google::protobuf::EnumDescriptor* descriptor = nullptr;
  absl::flat_hash_map<int, std::string> wire_by_number;
  absl::flat_hash_map<std::string, int> number_by_wire;

  // nullptr when `number` has no wire string (0 or unknown).
  const std::string* Wire(int number) const;
  // 0 when `wire` is not a known value.
  int Number(absl::string_view wire) const;
};

enum class WellKnown { kNone, kStruct, kValue, kListValue };

struct FieldPlan {
  const google::protobuf::FieldDescriptor* field = nullptr;
  std::string wire_name;  // FieldRules.wire_name, else json_name.
  bool bigint = false;
  bool required = false;
  bool nullable = false;
  bool has_presence =
      false;  // proto3 `optional`, oneof member, or singular message.
  bool is_map = false;
  formance::gateway::v1::FieldLocation location =
      formance::gateway::v1::FIELD_LOCATION_UNSPECIFIED;
  formance::gateway::v1::QueryStyle query_style =
      formance::gateway::v1::QUERY_STYLE_UNSPECIFIED;
  std::string discriminator_value;
  // The field holding each value: the field itself, or a map entry's `value` field.
  const google::protobuf::FieldDescriptor* value_field = nullptr;
  const google::protobuf::FieldDescriptor* key_field = nullptr;  // Maps only.
  const EnumPlan* enum_plan = nullptr;  // When the value is an enum.
  // When the value is a message: its plan (compiled plans only; null from GetMessagePlan).
  const struct MessagePlan* message = nullptr;

  // The enum plan of the value, from the plan when it has it (no cache lookup).
  const EnumPlan& Enum() const;

  // Whether this field is a JSON property (not bound to the path, query or a header).
  bool in_json() const {
    return location == formance::gateway::v1::FIELD_LOCATION_UNSPECIFIED ||
           location == formance::gateway::v1::FIELD_LOCATION_BODY;
  }
};

struct MessagePlan {
  const google::protobuf::Descriptor* descriptor = nullptr;
  WellKnown well_known = WellKnown::kNone;
  std::vector<FieldPlan>
      fields;  // Declaration order; fields[i].field == descriptor->field(i).
  // Union (MessageRules.union): its one oneof.
  const google::protobuf::OneofDescriptor* union_oneof = nullptr;
  std::string discriminator;
  const FieldPlan* bare_map = nullptr;     // MessageRules.bare_map_field.
  const FieldPlan* null_fields = nullptr;  // MessageRules.null_fields_field.

  const FieldPlan& Of(const google::protobuf::FieldDescriptor* field) const {
    return fields[field->index()];
  }
  // The JSON property `name` (fields with in_json() only), or nullptr.
  const FieldPlan* FindProperty(absl::string_view name) const;
  // A bare map that also has named properties (V2ChartSegment: ".self", ".pattern", ...):
  // its JSON object holds both.
  bool has_named_properties = false;

  absl::flat_hash_map<std::string, const FieldPlan*> by_property;
};

// The plan of `descriptor`, from the process-wide cache (see above). Never fails: inconsistent
// options (a bare_map_field naming no map field, a union without a oneof) are ignored, and the
// message is treated as a plain object.
const MessagePlan& GetMessagePlan(
    const google::protobuf::Descriptor* descriptor);
const EnumPlan& GetEnumPlan(const google::protobuf::EnumDescriptor* descriptor);

// The plan of the message a field holds (its map value's, for a map): FieldPlan::message when
// compiled, else GetMessagePlan. `fp` must hold a message.
inline const MessagePlan& MessagePlanOf(const FieldPlan& fp) {
  return fp.message != nullptr ? *fp.message
                               : GetMessagePlan(fp.value_field->message_type());
}

// Every plan reachable from some root messages, compiled at once. Immutable.
class CodecPlans {
 public:
  static std::unique_ptr<const CodecPlans> Compile(
      const std::vector<const google::protobuf::Descriptor*>& roots);
  // nullptr when `descriptor` is not reachable from the roots.
  const MessagePlan* Find(const google::protobuf::Descriptor* descriptor) const;
  size_t size() const { return messages_.size(); }

 private:
  CodecPlans() = default;
  absl::flat_hash_map<const google::protobuf::Descriptor*,
                      std::unique_ptr<MessagePlan>>
      messages_;
  absl::flat_hash_map<const google::protobuf::EnumDescriptor*,
                      std::unique_ptr<EnumPlan>>
      enums_;
};

}  // namespace fgw

#endif  // FGW_SERVER_TRANSCODING_CODEC_PLAN_H_
