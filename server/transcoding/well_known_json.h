// google.protobuf.Struct / Value / ListValue from parsed JSON (the free-form objects of the
// Formance API: `query` filters, `raw`, `templateSpec`, ...).
//
// Numbers become Value.number_value, a double, as protobuf defines it: integers beyond 2^53
// lose digits here, which is why amounts are typed `bigint` fields and never free-form.
//
// Thread safety: a stateless function.
#ifndef FGW_SERVER_TRANSCODING_WELL_KNOWN_JSON_H_
#define FGW_SERVER_TRANSCODING_WELL_KNOWN_JSON_H_

#include "absl/status/status.h"
#include "google/protobuf/message.h"
#include "server/transcoding/codec_plan.h"
#include "server/transcoding/json_dom.h"

namespace fgw {

// Fills `m` (a Struct, Value or ListValue, as `kind` says) from `node`. INTERNAL with a short
// reason ("expected an object, got array", "nests deeper than 64 levels") on a mismatch; the
// caller says where in the document it happened.
absl::Status DecodeWellKnownJson(const JsonNode& node,
                                 google::protobuf::Message* m, WellKnown kind,
                                 int depth);

}  // namespace fgw

#endif  // FGW_SERVER_TRANSCODING_WELL_KNOWN_JSON_H_
