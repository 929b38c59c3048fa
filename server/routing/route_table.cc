#include "server/routing/route_table.h"

#include <algorithm>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "google/api/annotations.pb.h"
#include "google/api/http.pb.h"

namespace fgw {
namespace {

using formance::gateway::v1::FieldRules;
using google::protobuf::Descriptor;
using google::protobuf::FieldDescriptor;
using google::protobuf::MethodDescriptor;

absl::Status MethodError(const MethodDescriptor* method,
                         absl::string_view why) {
  return absl::InvalidArgumentError(
      absl::StrCat("rpc ", method->full_name(), ": ", why));
}

// The module from "formance.<module>.<version>".
std::string ModuleFromPackage(const std::string& package) {
  std::vector<absl::string_view> parts = absl::StrSplit(package, '.');
  if (parts.size() >= 2 && parts[0] == "formance") return std::string(parts[1]);
  return package;
}

}  // namespace

absl::StatusOr<Route> RouteTable::BuildRoute(const MethodDescriptor* method) {
  Route route;
  route.method = method;
  route.grpc_method =
      absl::StrCat("/", method->service()->full_name(), "/", method->name());
  if (!method->options().HasExtension(google::api::http)) {
    return MethodError(method, "has no google.api.http rule");
  }
  const google::api::HttpRule& rule =
      method->options().GetExtension(google::api::http);
  std::string path;
  switch (rule.pattern_case()) {
    case google::api::HttpRule::kGet:
      route.http_method = "GET";
      path = rule.get();
      break;
    case google::api::HttpRule::kPut:
      route.http_method = "PUT";
      path = rule.put();
      break;
    case google::api::HttpRule::kPost:
      route.http_method = "POST";
      path = rule.post();
      break;
    case google::api::HttpRule::kDelete:
      route.http_method = "DELETE";
      path = rule.delete_();
      break;
    case google::api::HttpRule::kPatch:
      route.http_method = "PATCH";
      path = rule.patch();
      break;
    case google::api::HttpRule::kCustom:
      route.http_method = absl::AsciiStrToUpper(rule.custom().kind());
      path = rule.custom().path();
      if (route.http_method != "HEAD" && route.http_method != "OPTIONS") {
        return MethodError(method,
                           absl::StrCat("unsupported custom HTTP method '",
                                        rule.custom().kind(), "'"));
      }
      break;
    default:
      return MethodError(method, "google.api.http rule has no pattern");
  }
  absl::StatusOr<PathTemplate> parsed = PathTemplate::Parse(path);
  if (!parsed.ok()) return MethodError(method, parsed.status().message());
  route.path = *std::move(parsed);
  route.read_only = route.http_method == "GET" || route.http_method == "HEAD";

  const Descriptor* input = method->input_type();
  for (const std::string& var : route.path.variables()) {
    const FieldDescriptor* field = input->FindFieldByName(var);
    if (field == nullptr) {
      return MethodError(
          method, absl::StrCat("path variable {", var, "} names no field of ",
                               input->full_name()));
    }
    if (field->is_repeated() ||
        field->cpp_type() == FieldDescriptor::CPPTYPE_MESSAGE) {
      return MethodError(method, absl::StrCat("path variable {", var,
                                              "} must be a singular scalar"));
    }
  }
  if (rule.body() == "*") {
    route.body_is_whole_message = true;
  } else if (!rule.body().empty()) {
    route.body_field = input->FindFieldByName(rule.body());
    if (route.body_field == nullptr) {
      return MethodError(
          method, absl::StrCat("body \"", rule.body(), "\" names no field of ",
                               input->full_name()));
    }
  }
  if (!rule.response_body().empty()) {
    route.response_body_field =
        method->output_type()->FindFieldByName(rule.response_body());
    if (route.response_body_field == nullptr) {
      return MethodError(method,
                         absl::StrCat("response_body \"", rule.response_body(),
                                      "\" names no field of ",
                                      method->output_type()->full_name()));
    }
  }
  if (method->options().HasExtension(formance::gateway::v1::method)) {
    route.rules = method->options().GetExtension(formance::gateway::v1::method);
  }
  route.module = route.rules.module().empty()
                     ? ModuleFromPackage(method->file()->package())
                     : route.rules.module();
  for (int i = 0; i < input->field_count(); ++i) {
    const FieldDescriptor* field = input->field(i);
    if (!field->options().HasExtension(formance::gateway::v1::field)) continue;
    const FieldRules& rules =
        field->options().GetExtension(formance::gateway::v1::field);
    if (rules.location() == formance::gateway::v1::FIELD_LOCATION_PATH &&
        std::find(route.path.variables().begin(), route.path.variables().end(),
                  field->name()) == route.path.variables().end()) {
      return MethodError(
          method,
          absl::StrCat("field ", field->name(),
                       " has location PATH but the path does not name it"));
    }
    if (rules.location() == formance::gateway::v1::FIELD_LOCATION_HEADER &&
        absl::EqualsIgnoreCase(rules.wire_name(), "Idempotency-Key")) {
      route.idempotency_key_field = field;
    }
  }
  return route;
}

absl::StatusOr<std::unique_ptr<RouteTable>> RouteTable::Build(
    const ApiDescriptors& descriptors) {
  std::unique_ptr<RouteTable> table(new RouteTable());
  for (const google::protobuf::ServiceDescriptor* service :
       descriptors.services()) {
    for (int i = 0; i < service->method_count(); ++i) {
      // Stream rpcs are served from their list's route (MethodRules.stream).
      if (service->method(i)->server_streaming()) continue;
      absl::StatusOr<Route> route = BuildRoute(service->method(i));
      if (!route.ok()) return route.status();
      table->routes_.push_back(*std::move(route));
    }
  }
  table->index_.reserve(table->routes_.size());
  for (const Route& route : table->routes_) {
    if (!table->index_.emplace(route.grpc_method, &route).second) {
      return absl::AlreadyExistsError(
          absl::StrCat("duplicate rpc ", route.grpc_method));
    }
  }
  return table;
}

const Route* RouteTable::Find(absl::string_view grpc_method) const {
  auto it = index_.find(grpc_method);
  return it == index_.end() ? nullptr : it->second;
}

}  // namespace fgw
