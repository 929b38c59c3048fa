// Formance JSON -> protobuf message, by reflection, driven by the gateway options; the inverse
// of message_json_encoder.h:
// - properties are matched by FieldRules.wire_name, else json_name; unknown properties are
//   ignored (forward compatibility);
// - bigint fields take any JSON number (or numeric string) that is an integer, digit for digit:
//   "1.0e3" becomes "1000"; a non-integer (1.5) is INTERNAL "upstream sent a non-integer ...";
// - integer fields take numbers or numeric strings (range-checked), doubles numbers or strings;
// - enums take their wire value; an unknown string leaves the field UNSPECIFIED (repeated:
//   the element is dropped) and decoding goes on;
// - null: on a FieldRules.nullable field of a message with null_fields_field, the field is
//   cleared and its JSON name appended to null_fields; on other fields it reads as absent.
//   google.protobuf.Value takes null as null_value;
// - google.protobuf.Struct/Value/ListValue take free JSON; numbers become doubles
//   (absl::SimpleAtod, correctly rounded): integers beyond 2^53 lose digits, by protobuf's design;
// - MessageRules.union: with a discriminator, the member whose discriminator_value equals the
//   property; otherwise (or for an unknown value) the first member, in declaration order, whose
//   JSON type matches (string / number for bigint and numeric fields / boolean / object for
//   messages, Struct and maps / array for ListValue / anything for Value) and, for an object
//   member, whose required properties are all present (required enum properties with a known
//   wire value); among matching object members, those with fewer properties they do not know
//   come first (stable); a member that fails to decode is skipped for the next. No match: INTERNAL;
// - MessageRules.bare_map_field: the JSON object is the map;
// - a JSON type that does not fit the field: INTERNAL naming the property path
//   ("upstream JSON at cursor.data[2].amount: expected a number, got string").
//
// Thread safety: stateless functions; concurrent calls are safe.
#ifndef FGW_SERVER_TRANSCODING_MESSAGE_JSON_DECODER_H_
#define FGW_SERVER_TRANSCODING_MESSAGE_JSON_DECODER_H_

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "google/protobuf/message.h"
#include "server/transcoding/codec_plan.h"
#include "server/transcoding/json_dom.h"

namespace fgw {

// Parses `json` (see JsonDocument::Parse for syntax errors) and merges it into `message`.
absl::Status JsonToMessage(absl::string_view json,
                           google::protobuf::Message* message);
// Merges an already parsed node into `message`.
absl::Status JsonNodeToMessage(const JsonNode& node,
                               google::protobuf::Message* message);
// The same from a compiled plan of the message's type (codec_plan.h): no plan lookup.
absl::Status JsonNodeToMessage(const JsonNode& node,
                               google::protobuf::Message* message,
                               const MessagePlan& plan);
// Merges `node` into one field of `message`: an array into a repeated field, an object into a
// map or message, a scalar into a scalar field.
absl::Status JsonNodeToField(const JsonNode& node,
                             google::protobuf::Message* message,
                             const google::protobuf::FieldDescriptor* field);
absl::Status JsonNodeToField(const JsonNode& node,
                             google::protobuf::Message* message,
                             const FieldPlan& field);

}  // namespace fgw

#endif  // FGW_SERVER_TRANSCODING_MESSAGE_JSON_DECODER_H_
