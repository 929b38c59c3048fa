// RouteTable: every rpc of the loaded Formance services with its REST route, read from the
// method's `google.api.http` rule and its `formance.gateway.v1.method` rules.
//
// Thread safety: immutable after Build; Find may be called concurrently. Routes point into the
// ApiDescriptors they were built from, which must outlive the table.
#ifndef FGW_SERVER_ROUTING_ROUTE_TABLE_H_
#define FGW_SERVER_ROUTING_ROUTE_TABLE_H_

#include <memory>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "formance/gateway/v1/options.pb.h"
#include "google/protobuf/descriptor.h"
#include "server/routing/api_descriptors.h"
#include "server/routing/path_template.h"

namespace fgw {

struct Route {
  std::string
      grpc_method;  // "/formance.ledger.v2.LedgerService/CreateTransaction".
  const google::protobuf::MethodDescriptor* method = nullptr;
  std::string http_method;  // "GET", "POST", "PUT", "PATCH", "DELETE", "HEAD".
  PathTemplate path;
  // The request field sent as the body; nullptr when there is no body, or when the rule's body
  // is "*" (then body_is_whole_message: every request field not bound to the path, query or a
  // header is a property of the JSON body).
  const google::protobuf::FieldDescriptor* body_field = nullptr;
  bool body_is_whole_message = false;
  // The response field that receives the body (rule's response_body); nullptr: the whole
  // response message.
  const google::protobuf::FieldDescriptor* response_body_field = nullptr;
  formance::gateway::v1::MethodRules rules;
  // The request field with location HEADER and wire_name "Idempotency-Key" (any case), or nullptr.
  const google::protobuf::FieldDescriptor* idempotency_key_field = nullptr;
  bool read_only = false;  // GET or HEAD.
  std::string module;      // rules.module, else the package's second component.
};

class RouteTable {
 public:
  // Builds a route for every unary method of descriptors.services() (server-streaming rpcs
  // have no REST route of their own: MethodRules.stream names the list they page through).
  // INVALID_ARGUMENT naming the method when: it has no google.api.http rule, the rule has no
  // pattern or an unsupported custom verb, the path template does not parse, a path variable
  // names no field (or a repeated/message field), body/response_body names no field.
  // ALREADY_EXISTS on a duplicate gRPC method name.
  static absl::StatusOr<std::unique_ptr<RouteTable>> Build(
      const ApiDescriptors& descriptors);

  // The route of "/pkg.Service/Method", or nullptr.
  const Route* Find(absl::string_view grpc_method) const;
  size_t size() const { return routes_.size(); }
  const std::vector<Route>& routes() const { return routes_; }

  // Builds one route (exposed for tests and tools).
  static absl::StatusOr<Route> BuildRoute(
      const google::protobuf::MethodDescriptor* method);

 private:
  RouteTable() = default;

  std::vector<Route> routes_;
  absl::flat_hash_map<absl::string_view, const Route*>
      index_;  // Keys point into routes_.
};

}  // namespace fgw

#endif  // FGW_SERVER_ROUTING_ROUTE_TABLE_H_
