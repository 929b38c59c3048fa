// DecodeResponse: a successful REST response -> the rpc's response message.
//
// - response fields with FieldRules.location HEADER take the response header named wire_name
//   (case-insensitive): bigint strings checked digit for digit, integers parsed, bools from
//   "true"/"false" (any case), strings as is. A malformed header is INTERNAL;
// - an empty body (or 204) leaves the rest of the message empty;
// - a `bytes` response_body field takes the raw body; any other response_body field takes the
//   JSON (array -> repeated, object -> map/message, scalar -> scalar); without response_body
//   the JSON object fills the whole message (see message_json_decoder.h);
// - malformed JSON is INTERNAL "malformed upstream JSON at offset N: <reason>"; the body is
//   never quoted in an error.
//
// Thread safety: stateless function; concurrent calls are safe.
#ifndef FGW_SERVER_TRANSCODING_RESPONSE_DECODER_H_
#define FGW_SERVER_TRANSCODING_RESPONSE_DECODER_H_

#include "absl/status/status.h"
#include "google/protobuf/message.h"
#include "server/routing/route_table.h"
#include "server/transcoding/codec_plan.h"
#include "server/upstream/http_message.h"

namespace fgw {

// `out` must be a message of route.method->output_type(); it is merged into.
absl::Status DecodeResponse(const Route& route, const HttpResponse& response,
                            google::protobuf::Message* out);
// The same from the compiled plan of the response type (codec_plan.h): no plan lookup.
absl::Status DecodeResponse(const Route& route, const MessagePlan& plan,
                            const HttpResponse& response,
                            google::protobuf::Message* out);

}  // namespace fgw

#endif  // FGW_SERVER_TRANSCODING_RESPONSE_DECODER_H_
