// EncodeRequest: a request message -> the REST call of its route.
//
// - method from the route; path from the template, each variable percent-encoded as one
//   segment (':' kept, '/' encoded). A missing or empty path field is INVALID_ARGUMENT
//   "field '<name>' is required (path parameter)";
// - every request field not in the path, the body or a header (FieldRules.location) is a query
//   parameter, written as query_encoder.h describes, in field declaration order;
// - FieldRules.location HEADER fields become headers named wire_name, when they have a value;
// - body: the rule's body field as JSON (a message, its empty form `{}` with its required
//   members when unset; a map as an object; a repeated field as an array), or with body "*" the
//   whole message minus path, query and header fields. Content-Type: application/json, or
//   MethodRules.request_content_type; a `bytes` body field is sent raw (Content-Type
//   request_content_type, default application/octet-stream);
// - Accept: MethodRules.accept, default application/json.
// Errors are INVALID_ARGUMENT naming the field (see message_json_encoder.h), and:
// - a header field whose text is not a valid HTTP header value (http_field.h: visible ASCII and
//   inner spaces, no CR/LF/NUL/non-ASCII) or is longer than limits.max_request_header_bytes:
//   "field '<name>' (header <Wire-Name>) must be a valid HTTP header value ...";
// - a path field equal to "." or ".." (path_template.h);
// - a request URL longer than limits.max_request_target_bytes, refused before the oversized
//   value is percent-encoded (the text of path, query and header fields is measured first).
//
// RequestPlan: where each request field of one method goes (path, query, header, body), compiled
// once per method when the method table is built; the call path only reads it.
//
// Thread safety: a RequestPlan is immutable; EncodeRequest may be called concurrently.
#ifndef FGW_SERVER_TRANSCODING_REQUEST_ENCODER_H_
#define FGW_SERVER_TRANSCODING_REQUEST_ENCODER_H_

#include <memory>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/status/statusor.h"
#include "google/protobuf/message.h"
#include "server/routing/route_table.h"
#include "server/transcoding/codec_plan.h"
#include "server/upstream/http_message.h"
#include "server/upstream/upstream_limits.h"

namespace fgw {

class RequestPlan {
 public:
  // `route` and `input` (the compiled plan of its request type; not owned) must outlive the
  // plan.
  static std::unique_ptr<const RequestPlan> Compile(const Route& route,
                                                    const MessagePlan& input);

  const Route& route() const { return *route_; }

 private:
  friend absl::StatusOr<HttpRequest> EncodeRequest(
      const RequestPlan& plan, const google::protobuf::Message& request,
      const UpstreamLimits& limits);
  RequestPlan() = default;

  const Route* route_ = nullptr;
  const MessagePlan* input_ = nullptr;
  absl::flat_hash_map<std::string, const FieldPlan*>
      path_;  // By variable name.
  std::vector<const FieldPlan*> query_;
  std::vector<const FieldPlan*> headers_;
  absl::flat_hash_set<const google::protobuf::FieldDescriptor*>
      body_exclude_;  // For body "*".
};

absl::StatusOr<HttpRequest> EncodeRequest(
    const RequestPlan& plan, const google::protobuf::Message& request,
    const UpstreamLimits& limits = UpstreamLimits());

// Compiles the route's plan for this one call (tests and tools; the daemon keeps one per method).
absl::StatusOr<HttpRequest> EncodeRequest(
    const Route& route, const google::protobuf::Message& request,
    const UpstreamLimits& limits = UpstreamLimits());

}  // namespace fgw

#endif  // FGW_SERVER_TRANSCODING_REQUEST_ENCODER_H_
