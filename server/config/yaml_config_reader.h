// ApplyYamlConfig: lays a YAML document over a GatewayConfig. Keys mirror the struct
// (config/gateway.example.yaml lists them all): listen, upstream.*, auth.*, retry.*, cache.*,
// log.level, grpc.*, descriptor_set_file. Durations are strings absl::ParseDuration reads
// ("250ms", "30s", "1m30s").
//
// Strict: every unknown key, wrong type or refused key (a secret value: auth.client_secret,
// auth.static_token...) is reported with its key path, and all problems are reported at once:
// INVALID_ARGUMENT "<path>: <problem>" lines joined by "; ". Values are range-checked later, by
// LoadConfig, once every layer is applied. Thread safety: a pure function.
#ifndef FGW_SERVER_CONFIG_YAML_CONFIG_READER_H_
#define FGW_SERVER_CONFIG_YAML_CONFIG_READER_H_

#include <optional>
#include <string>

#include "absl/status/status.h"
#include "server/config/gateway_config.h"

namespace fgw {

// `source` names the document in messages (a file path). `auth_mode` is set when the document
// names an explicit auth.mode; "auto" resets it to nullopt (LoadConfig then infers the mode).
absl::Status ApplyYamlConfig(const std::string& yaml_text,
                             const std::string& source, GatewayConfig* config,
                             std::optional<AuthMode>* auth_mode);

}  // namespace fgw

#endif  // FGW_SERVER_CONFIG_YAML_CONFIG_READER_H_
