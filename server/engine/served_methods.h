// ServedMethodsOf: the methods the gateway serves, as the caller policy sees them
// (server/policy/caller_policy.h: ServedMethod): the name globs are matched against, whether
// the method only reads (GET/HEAD), and whether its reply holds secrets or personal data, which
// keeps it out of the built-in `read-only` role.
//
// A reply holds secrets when its message, or any message it holds (transitively), has a field
// named `secret`, `secrets`, `config`, `configs`, `connector_config` or ending in `_secret`
// (webhook configs and their signing secret, connector configs with provider API keys, auth
// clients with their secrets, exporter configs), or when the operation reads the auth service's
// clients or users (/api/auth/clients..., /api/auth/users...). Deliberately broad: a role can
// grant such a method explicitly; `read-only` never does.
//
// Thread safety: a pure function of the route table.
#ifndef FGW_SERVER_ENGINE_SERVED_METHODS_H_
#define FGW_SERVER_ENGINE_SERVED_METHODS_H_

#include <vector>

#include "google/protobuf/descriptor.h"
#include "server/policy/caller_policy.h"
#include "server/routing/route_table.h"

namespace fgw {

std::vector<ServedMethod> ServedMethodsOf(const RouteTable& routes);

// The rule above for one message type.
bool HoldsSecrets(const google::protobuf::Descriptor* message);

}  // namespace fgw

#endif  // FGW_SERVER_ENGINE_SERVED_METHODS_H_
