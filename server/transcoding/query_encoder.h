// Query parameters of a request field, in the style FieldRules.query_style names:
// - QUERY_STYLE_UNSPECIFIED (form): `name=value`; a repeated field repeats the parameter in
//   element order (`sort=a&sort=b`); a map is written as deepObject and a message as JSON;
// - QUERY_STYLE_JSON: `name=<compact JSON of the value>` (Struct filters: `query={"$match":...}`);
// - QUERY_STYLE_DEEP_OBJECT: `name[key]=value` for each map entry, keys sorted;
// - QUERY_STYLE_COMMA: one `name=a,b` (the elements percent-encoded, commas kept).
// Only fields with a value are written: set (proto3 `optional`, messages), non-empty (repeated,
// maps), or not the default (other scalars). Scalars as scalar_text.h writes them (bools
// true/false, enums by wire value, bigint digits). Names and values are percent-encoded (RFC 3986
// unreserved characters kept); deepObject brackets are written %5B/%5D.
//
// Thread safety: stateless function.
#ifndef FGW_SERVER_TRANSCODING_QUERY_ENCODER_H_
#define FGW_SERVER_TRANSCODING_QUERY_ENCODER_H_

#include <string>

#include "absl/status/status.h"
#include "google/protobuf/message.h"
#include "server/transcoding/codec_plan.h"

namespace fgw {

// Appends the parameters of `field` to `query`, each preceded by '&' when `query` is not
// empty. INVALID_ARGUMENT (naming the field) when a value cannot be written.
absl::Status AppendQueryParams(const google::protobuf::Message& message,
                               const FieldPlan& field, std::string* query);

}  // namespace fgw

#endif  // FGW_SERVER_TRANSCODING_QUERY_ENCODER_H_
