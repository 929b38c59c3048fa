// Protobuf message -> Formance JSON, by reflection, driven by the gateway options
// (see proto/formance/gateway/v1/options.proto):
// - property name: FieldRules.wire_name, else the field's json_name; fields bound to the path,
//   query or a header (FieldRules.location) are not properties;
// - bigint strings are written as bare JSON numbers, digit for digit (INVALID_ARGUMENT naming
//   the field when the string is not an integer); int64/uint64 as bare numbers too;
//   doubles in shortest round-trip form; bytes in base64;
// - enums by wire value; UNSPECIFIED is omitted, or INVALID_ARGUMENT when the field is required;
// - maps as objects with keys sorted (deterministic output), repeated fields as arrays;
// - google.protobuf.Struct/Value/ListValue as free JSON. Their numbers are doubles (protobuf's
//   design): integral values below 2^53 are written without a fraction, larger integers lose
//   digits. Use bigint fields for amounts;
// - MessageRules.union: the set member's JSON, inline; with a discriminator, the property
//   `discriminator: <discriminator_value>` comes first and the member's own property of that
//   name is not repeated. No member set: INVALID_ARGUMENT;
// - MessageRules.bare_map_field: the message's JSON is that map;
// - null_fields entries are written as `"name":null`; the null_fields field never is;
// - FieldRules.required fields are always written, even when empty ({}, [], "", 0, false; an
//   unset required message is written as its empty form, with its own required members);
//   other scalars without presence are written when not the default; fields with presence
//   (proto3 `optional`, oneof members, messages) when set; repeated/maps when non-empty;
// - output is compact; nesting deeper than kMaxJsonDepth is INVALID_ARGUMENT.
//
// Thread safety: stateless functions; concurrent calls are safe.
#ifndef FGW_SERVER_TRANSCODING_MESSAGE_JSON_ENCODER_H_
#define FGW_SERVER_TRANSCODING_MESSAGE_JSON_ENCODER_H_

#include <string>

#include "absl/container/flat_hash_set.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "google/protobuf/message.h"
#include "server/transcoding/codec_plan.h"

namespace fgw {

struct JsonEncodeOptions {
  // Top-level fields left out (the path/query/header fields of a `body: "*"` request).
  const absl::flat_hash_set<const google::protobuf::FieldDescriptor*>* exclude =
      nullptr;
};

// Appends the JSON of `message` to `out`. On error, `out` holds a partial document.
absl::Status AppendMessageJson(const google::protobuf::Message& message,
                               std::string* out,
                               const JsonEncodeOptions& options = {});
// The same from a compiled plan of the message's type (codec_plan.h): no plan lookup.
absl::Status AppendMessageJson(const google::protobuf::Message& message,
                               const MessagePlan& plan, std::string* out,
                               const JsonEncodeOptions& options = {});
absl::StatusOr<std::string> MessageToJson(
    const google::protobuf::Message& message,
    const JsonEncodeOptions& options = {});

// Appends the JSON of one field's value: a map as an object, a repeated field as an array,
// a message as its JSON (its empty form when unset), a scalar as a JSON scalar.
absl::Status AppendFieldJson(const google::protobuf::Message& message,
                             const google::protobuf::FieldDescriptor* field,
                             std::string* out);
// The same from the field's compiled plan (codec_plan.h).
absl::Status AppendFieldJson(const google::protobuf::Message& message,
                             const FieldPlan& field, std::string* out);

}  // namespace fgw

#endif  // FGW_SERVER_TRANSCODING_MESSAGE_JSON_ENCODER_H_
