// LoadConfig: builds the daemon's GatewayConfig from four layers, later ones winning:
//
//   defaults (gateway_config.h) < YAML file (--config) < environment < command-line flags
//
// Environment variables:
//   FORMANCE_URL                 upstream.url
//   FGW_LISTEN                   listen
//   FORMANCE_CLIENT_ID           auth.client_id
//   FORMANCE_CLIENT_SECRET_FILE  auth.client_secret_file
//   FORMANCE_TOKEN_FILE          auth.static_token_file
//   FGW_LOG_LEVEL                log.level
//   FGW_LOG_FORMAT               log.format
//   FGW_ADMIN_LISTEN             admin.listen
//   FGW_ADMIN_GRPC_LISTEN        admin.grpc_listen
//   FGW_ALLOW_INSECURE_REMOTE    grpc.allow_insecure_remote (1/true or 0/false)
//   FORMANCE_CLIENT_SECRET, FORMANCE_TOKEN: secret values; read by the auth layer at run time,
//     never copied into GatewayConfig. Their presence counts when the auth mode is inferred.
//
// auth.mode "auto" (the default) becomes client_credentials when a client id (or client id
// file) is set, static_token when a token file or FORMANCE_TOKEN is set, none otherwise.
//
// Errors (INVALID_ARGUMENT unless the file cannot be read: NOT_FOUND / PERMISSION_DENIED):
// every problem names its key path ("upstream.timeout: unknown key", "retry.max_attempts:
// expected an integer, got \"x\"", "retry.max_attempts: must be from 1 to 10, got 0"); a
// secret given in the YAML file or as a flag is refused. Environment-derived values name the
// variable ("FGW_LISTEN: ..."), flags their flag ("--listen: ...").
//
// Thread safety: LoadConfig is a pure function of its arguments (and the file it reads).
#ifndef FGW_SERVER_CONFIG_CONFIG_LOADER_H_
#define FGW_SERVER_CONFIG_CONFIG_LOADER_H_

#include <map>
#include <optional>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "server/config/gateway_config.h"

namespace fgw {

// Read access to environment variables; injectable so tests never touch the process's.
class Environment {
 public:
  virtual ~Environment() = default;
  virtual std::optional<std::string> Get(const std::string& name) const = 0;
};

// getenv(). Thread-compatible (as getenv is).
class ProcessEnvironment final : public Environment {
 public:
  std::optional<std::string> Get(const std::string& name) const override;
};

// A fixed map, for tests.
class MapEnvironment final : public Environment {
 public:
  MapEnvironment() = default;
  explicit MapEnvironment(std::map<std::string, std::string> vars)
      : vars_(std::move(vars)) {}
  std::optional<std::string> Get(const std::string& name) const override;

 private:
  std::map<std::string, std::string> vars_;
};

// Values given on the command line; nullopt when the flag was not given (or left empty).
struct FlagOverrides {
  std::optional<std::string> listen;               // --listen
  std::optional<std::string> upstream_url;         // --upstream
  std::optional<std::string> log_level;            // --log_level
  std::optional<std::string> descriptor_set_file;  // --descriptor_set
  std::optional<std::string> log_format;           // --log-format
  std::optional<std::string> admin_listen;         // --admin-listen
  std::optional<std::string> admin_grpc_listen;    // --admin-grpc-listen
  // --client_secret exists only to refuse it with a clear message: a secret on a command line
  // is visible to every local user (ps, /proc).
  std::optional<std::string> client_secret;
};

// `yaml_path` may be empty (no file).
absl::StatusOr<GatewayConfig> LoadConfig(const std::string& yaml_path,
                                         const Environment& env,
                                         const FlagOverrides& flags);

// Range checks on a complete config (LoadConfig runs it; exposed for configs built in code).
absl::Status ValidateConfig(const GatewayConfig& config);

// "none", "static_token", "client_credentials".
absl::string_view AuthModeName(AuthMode mode);

}  // namespace fgw

#endif  // FGW_SERVER_CONFIG_CONFIG_LOADER_H_
