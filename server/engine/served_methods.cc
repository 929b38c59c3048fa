#include "server/engine/served_methods.h"

#include <string>

#include "absl/container/flat_hash_set.h"
#include "absl/strings/match.h"
#include "absl/strings/strip.h"

namespace fgw {
namespace {

bool SecretFieldName(const std::string& name) {
  return name == "secret" || name == "secrets" || name == "config" ||
         name == "configs" || name == "connector_config" ||
         absl::EndsWith(name, "_secret");
}

bool HoldsSecrets(
    const google::protobuf::Descriptor* message,
    absl::flat_hash_set<const google::protobuf::Descriptor*>* seen) {
  if (message == nullptr || !seen->insert(message).second) return false;
  for (int i = 0; i < message->field_count(); ++i) {
    const google::protobuf::FieldDescriptor* field = message->field(i);
    if (SecretFieldName(field->name())) return true;
    if (field->message_type() != nullptr &&
        HoldsSecrets(field->message_type(), seen)) {
      return true;
    }
  }
  return false;
}

}  // namespace

bool HoldsSecrets(const google::protobuf::Descriptor* message) {
  absl::flat_hash_set<const google::protobuf::Descriptor*> seen;
  return HoldsSecrets(message, &seen);
}

std::vector<ServedMethod> ServedMethodsOf(const RouteTable& routes) {
  std::vector<ServedMethod> out;
  out.reserve(routes.size());
  for (const Route& route : routes.routes()) {
    ServedMethod m;
    absl::string_view name = route.grpc_method;
    absl::ConsumePrefix(&name, "/");
    m.name = std::string(name);
    m.read_only = route.read_only;
    const std::string& path = route.path.text();
    m.secret_bearing =
        absl::StartsWith(path, "/api/auth/clients") ||
        absl::StartsWith(path, "/api/auth/users") ||
        (route.method != nullptr && HoldsSecrets(route.method->output_type()));
    out.push_back(std::move(m));
  }
  return out;
}

}  // namespace fgw
