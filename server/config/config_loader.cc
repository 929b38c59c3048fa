#include "server/config/config_loader.h"

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <limits>
#include <sstream>
#include <utility>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/strip.h"
#include "server/auth/static_token_source.h"
#include "server/config/listen_address.h"
#include "server/config/yaml_config_reader.h"

namespace fgw {
namespace {

// Key path -> where its value came from, when not the YAML file or a default.
using Origins = std::map<std::string, std::string>;

absl::StatusOr<std::string> ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    int err = errno;
    std::string message =
        absl::StrCat("config file ", path, ": ", std::strerror(err));
    if (err == EACCES) return absl::PermissionDeniedError(message);
    return absl::NotFoundError(message);
  }
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

bool IsHttpUrl(absl::string_view url) {
  absl::string_view rest = url;
  if (!absl::ConsumePrefix(&rest, "http://") &&
      !absl::ConsumePrefix(&rest, "https://")) {
    return false;
  }
  return !rest.empty() && rest[0] != '/' && rest[0] != ':' &&
         !absl::StrContains(rest, ' ');
}

class Checker {
 public:
  explicit Checker(const Origins& origins) : origins_(origins) {}

  void Check(bool ok, const std::string& key, const std::string& problem) {
    if (ok) return;
    auto it = origins_.find(key);
    errors_.push_back(
        it == origins_.end()
            ? absl::StrCat(key, ": ", problem)
            : absl::StrCat(key, " (from ", it->second, "): ", problem));
  }
  void Positive(absl::Duration d, const std::string& key) {
    Check(d > absl::ZeroDuration(), key,
          absl::StrCat("must be a positive duration, got ",
                       absl::FormatDuration(d)));
  }
  template <typename T>
  void Range(T value, T lo, T hi, const std::string& key) {
    Check(value >= lo && value <= hi, key,
          absl::StrCat("must be from ", lo, " to ", hi, ", got ", value));
  }
  void Url(const std::string& url, const std::string& key, bool optional) {
    if (optional && url.empty()) return;
    Check(
        IsHttpUrl(url), key,
        absl::StrCat("expected an http:// or https:// URL with a host, got \"",
                     url, "\""));
  }

  absl::Status Result() const {
    if (errors_.empty()) return absl::OkStatus();
    return absl::InvalidArgumentError(absl::StrJoin(errors_, "; "));
  }

 private:
  const Origins& origins_;
  std::vector<std::string> errors_;
};

absl::Status Validate(const GatewayConfig& c, const Origins& origins) {
  Checker k(origins);
  if (auto listen = ParseListenAddress(c.listen); !listen.ok()) {
    k.Check(false, "listen", std::string(listen.status().message()));
  }
  if (!c.admin.listen.empty()) {
    auto admin = ParseListenAddress(c.admin.listen);
    if (!admin.ok()) {
      k.Check(false, "admin.listen", std::string(admin.status().message()));
    } else {
      k.Check(
          admin->kind == ListenAddress::Kind::kTcp, "admin.listen",
          "expected IP:port (the HTTP admin listener takes no unix socket)");
    }
  }
  if (!c.admin.grpc_listen.empty()) {
    if (auto admin = ParseListenAddress(c.admin.grpc_listen); !admin.ok()) {
      k.Check(false, "admin.grpc_listen",
              std::string(admin.status().message()));
    }
  }
  // The same fixed address twice cannot be bound (port 0 picks a free port each time).
  auto same = [](const std::string& a, const std::string& b) {
    return !a.empty() && a == b && !absl::EndsWith(a, ":0");
  };
  k.Check(!same(c.admin.listen, c.listen), "admin.listen",
          "must differ from listen");
  k.Check(!same(c.admin.grpc_listen, c.listen), "admin.grpc_listen",
          "must differ from listen");
  k.Check(!same(c.admin.grpc_listen, c.admin.listen), "admin.grpc_listen",
          "must differ from admin.listen");
  const TlsConfig& tls = c.tls;
  k.Check(tls.cert_file.empty() == tls.key_file.empty(),
          tls.cert_file.empty() ? "grpc.tls.cert_file" : "grpc.tls.key_file",
          "TLS needs both grpc.tls.cert_file and grpc.tls.key_file");
  k.Check(tls.client_ca_file.empty() || tls.enabled(),
          "grpc.tls.client_ca_file",
          "client certificates need TLS: set grpc.tls.cert_file and key_file");
  k.Check(!tls.client_ca_file.empty() ||
              (tls.client_certificates != ClientCertificates::kOptional &&
               tls.client_certificates != ClientCertificates::kRequire),
          "grpc.tls.client_certificates",
          "optional and require need grpc.tls.client_ca_file");
  k.Check(tls.refresh_interval >= absl::Seconds(1), "grpc.tls.refresh_interval",
          "must be at least 1s");
  if (!c.unix_socket_mode.empty()) {
    int mode = -1;
    const bool octal =
        c.unix_socket_mode.size() <= 4 &&
        c.unix_socket_mode.find_first_not_of("01234567") == std::string::npos;
    if (octal) mode = std::stoi(c.unix_socket_mode, nullptr, 8);
    k.Check(octal && mode >= 0 && mode <= 0777, "grpc.unix_socket_mode",
            absl::StrCat("expected octal permission bits such as \"0660\", got "
                         "\"",
                         c.unix_socket_mode, "\""));
    auto listen = ParseListenAddress(c.listen);
    k.Check(!listen.ok() || listen->kind == ListenAddress::Kind::kUnix,
            "grpc.unix_socket_mode", "needs a unix:/path listen address");
  }
  k.Url(c.upstream.url, "upstream.url", /*optional=*/false);
  k.Positive(c.upstream.request_timeout, "upstream.request_timeout");
  k.Positive(c.upstream.connect_timeout, "upstream.connect_timeout");
  k.Url(c.upstream.proxy, "upstream.proxy", /*optional=*/true);
  k.Range(c.upstream.io_threads, 1, 64, "upstream.io_threads");

  k.Url(c.auth.token_url, "auth.token_url", /*optional=*/true);
  k.Check(c.auth.refresh_ahead >= absl::ZeroDuration(), "auth.refresh_ahead",
          "must not be negative");
  k.Check(!c.auth.client_secret_env.empty(), "auth.client_secret_env",
          "must name an environment variable");

  k.Range(c.retry.max_attempts, 1, 10, "retry.max_attempts");
  k.Positive(c.retry.initial_backoff, "retry.initial_backoff");
  k.Check(c.retry.max_backoff >= c.retry.initial_backoff, "retry.max_backoff",
          absl::StrCat("must be at least retry.initial_backoff (",
                       absl::FormatDuration(c.retry.initial_backoff), "), got ",
                       absl::FormatDuration(c.retry.max_backoff)));
  k.Range(c.retry.multiplier, 1.0, 10.0, "retry.multiplier");
  k.Range(c.retry.budget_ratio, 0.0, 1.0, "retry.budget_ratio");
  k.Range(c.retry.budget_min_per_second, 0, 1000000,
          "retry.budget_min_per_second");

  k.Range<int64_t>(c.cache.max_bytes, 0, std::numeric_limits<int64_t>::max(),
                   "cache.max_bytes");
  k.Range(c.cache.max_entries, 0, std::numeric_limits<int>::max(),
          "cache.max_entries");
  for (size_t i = 0; i < c.cache.rules.size(); ++i) {
    const CacheRule& rule = c.cache.rules[i];
    std::string key = absl::StrCat("cache.rules[", i, "]");
    bool method_ok =
        !rule.method.empty() && (absl::EndsWith(rule.method, ".*") ||
                                 absl::StrContains(rule.method, '/'));
    k.Check(method_ok, key + ".method",
            absl::StrCat(
                "expected \"package.Service/Method\", \"package.Service/*\" or "
                "\"package.*\", got \"",
                rule.method, "\""));
    k.Positive(rule.ttl, key + ".ttl");
  }

  static const char* const kLevels[] = {"trace", "debug",    "info", "warn",
                                        "error", "critical", "off"};
  bool level_ok = false;
  for (const char* level : kLevels) level_ok = level_ok || c.log_level == level;
  k.Check(level_ok, "log.level",
          absl::StrCat("expected one of trace, debug, info, warn, error, "
                       "critical, off, got \"",
                       c.log_level, "\""));

  k.Check(c.log_format == "text" || c.log_format == "json", "log.format",
          absl::StrCat("expected text or json, got \"", c.log_format, "\""));
  k.Positive(c.auth.failure_backoff, "auth.failure_backoff");
  k.Check(c.auth.max_failure_backoff >= c.auth.failure_backoff,
          "auth.max_failure_backoff", "must be >= auth.failure_backoff");
  k.Check(c.auth.min_token_lifetime >= absl::Seconds(1),
          "auth.min_token_lifetime", "must be at least 1s");
  k.Range(c.limits.max_calls_in_flight, 1, 1000000,
          "limits.max_calls_in_flight");
  k.Range<int64_t>(c.limits.upstream.max_request_target_bytes, 256, 1 << 20,
                   "limits.max_request_target_bytes");
  k.Range<int64_t>(c.limits.upstream.max_request_header_bytes, 1024, 1 << 20,
                   "limits.max_request_header_bytes");
  k.Range<int64_t>(c.limits.upstream.max_response_bytes, 1024, 1LL << 31,
                   "limits.max_response_bytes");
  k.Range(c.limits.upstream.max_connections, 1, 10000,
          "limits.max_upstream_connections");
  k.Range<int64_t>(c.max_message_bytes, 1024,
                   std::numeric_limits<int32_t>::max(),
                   "grpc.max_message_bytes");
  k.Check(c.shutdown_grace >= absl::ZeroDuration(), "grpc.shutdown_grace",
          "must not be negative");
  k.Check(c.drain_delay >= absl::ZeroDuration() &&
              c.drain_delay <= absl::Minutes(5),
          "grpc.drain_delay",
          absl::StrCat("must be from 0s to 5m, got ",
                       absl::FormatDuration(c.drain_delay)));
  k.Range(c.grpc_threads, 1, 64, "grpc.threads");
  k.Positive(c.keepalive_time, "grpc.keepalive_time");
  k.Positive(c.keepalive_timeout, "grpc.keepalive_timeout");
  return k.Result();
}

// Applies a non-empty override and records where it came from.
void Override(const std::optional<std::string>& value, const std::string& key,
              const std::string& origin, std::string* field, Origins* origins) {
  if (!value.has_value() || value->empty()) return;
  *field = *value;
  (*origins)[key] = origin;
}

}  // namespace

std::optional<std::string> ProcessEnvironment::Get(
    const std::string& name) const {
  const char* value = std::getenv(name.c_str());
  if (value == nullptr) return std::nullopt;
  return std::string(value);
}

std::optional<std::string> MapEnvironment::Get(const std::string& name) const {
  auto it = vars_.find(name);
  if (it == vars_.end()) return std::nullopt;
  return it->second;
}

absl::string_view AuthModeName(AuthMode mode) {
  switch (mode) {
    case AuthMode::kNone:
      return "none";
    case AuthMode::kStaticToken:
      return "static_token";
    case AuthMode::kClientCredentials:
      return "client_credentials";
  }
  return "unknown";
}

absl::Status ValidateConfig(const GatewayConfig& config) {
  return Validate(config, {});
}

absl::StatusOr<GatewayConfig> LoadConfig(const std::string& yaml_path,
                                         const Environment& env,
                                         const FlagOverrides& flags) {
  if (flags.client_secret.has_value()) {
    return absl::InvalidArgumentError(
        "--client_secret: secrets are not accepted on the command line (any "
        "local user can "
        "read it); use --config with auth.client_secret_file, "
        "FORMANCE_CLIENT_SECRET_FILE or "
        "the FORMANCE_CLIENT_SECRET environment variable");
  }
  GatewayConfig config;
  std::optional<AuthMode> mode;
  if (!yaml_path.empty()) {
    absl::StatusOr<std::string> text = ReadFile(yaml_path);
    if (!text.ok()) return text.status();
    absl::Status applied = ApplyYamlConfig(*text, yaml_path, &config, &mode);
    if (!applied.ok()) return applied;
  }

  Origins origins;
  Override(env.Get("FORMANCE_URL"), "upstream.url", "FORMANCE_URL",
           &config.upstream.url, &origins);
  Override(env.Get("FGW_LISTEN"), "listen", "FGW_LISTEN", &config.listen,
           &origins);
  Override(env.Get("FORMANCE_CLIENT_ID"), "auth.client_id",
           "FORMANCE_CLIENT_ID", &config.auth.client_id, &origins);
  Override(env.Get("FORMANCE_CLIENT_SECRET_FILE"), "auth.client_secret_file",
           "FORMANCE_CLIENT_SECRET_FILE", &config.auth.client_secret_file,
           &origins);
  Override(env.Get("FORMANCE_TOKEN_FILE"), "auth.static_token_file",
           "FORMANCE_TOKEN_FILE", &config.auth.static_token_file, &origins);
  Override(env.Get("FGW_LOG_LEVEL"), "log.level", "FGW_LOG_LEVEL",
           &config.log_level, &origins);

  Override(env.Get("FGW_LOG_FORMAT"), "log.format", "FGW_LOG_FORMAT",
           &config.log_format, &origins);
  Override(env.Get("FGW_ADMIN_LISTEN"), "admin.listen", "FGW_ADMIN_LISTEN",
           &config.admin.listen, &origins);
  Override(env.Get("FGW_ADMIN_GRPC_LISTEN"), "admin.grpc_listen",
           "FGW_ADMIN_GRPC_LISTEN", &config.admin.grpc_listen, &origins);
  if (std::optional<std::string> v = env.Get("FGW_ALLOW_INSECURE_REMOTE");
      v.has_value() && !v->empty()) {
    if (*v == "1" || *v == "true") {
      config.allow_insecure_remote = true;
    } else if (*v == "0" || *v == "false") {
      config.allow_insecure_remote = false;
    } else {
      return absl::InvalidArgumentError(
          "FGW_ALLOW_INSECURE_REMOTE: expected 1, true, 0 or false");
    }
  }

  Override(flags.listen, "listen", "--listen", &config.listen, &origins);
  Override(flags.log_format, "log.format", "--log-format", &config.log_format,
           &origins);
  Override(flags.admin_listen, "admin.listen", "--admin-listen",
           &config.admin.listen, &origins);
  Override(flags.admin_grpc_listen, "admin.grpc_listen", "--admin-grpc-listen",
           &config.admin.grpc_listen, &origins);
  Override(flags.upstream_url, "upstream.url", "--upstream",
           &config.upstream.url, &origins);
  Override(flags.log_level, "log.level", "--log_level", &config.log_level,
           &origins);
  Override(flags.descriptor_set_file, "descriptor_set_file", "--descriptor_set",
           &config.descriptor_set_file, &origins);

  const bool has_client_id =
      !config.auth.client_id.empty() || !config.auth.client_id_file.empty();
  const bool has_secret = !config.auth.client_secret_file.empty() ||
                          env.Get(config.auth.client_secret_env).has_value();
  const bool has_token = !config.auth.static_token_file.empty() ||
                         env.Get(StaticTokenOptions().token_env).has_value();
  if (mode.has_value()) {
    config.auth.mode = *mode;
  } else if (has_client_id) {
    config.auth.mode = AuthMode::kClientCredentials;
  } else if (has_token) {
    config.auth.mode = AuthMode::kStaticToken;
  } else {
    config.auth.mode = AuthMode::kNone;
  }

  absl::Status valid = Validate(config, origins);
  std::vector<std::string> auth_errors;
  if (config.auth.mode == AuthMode::kClientCredentials) {
    if (!has_client_id) {
      auth_errors.push_back(
          "auth.client_id: client_credentials needs a client id "
          "(auth.client_id, "
          "auth.client_id_file or FORMANCE_CLIENT_ID)");
    }
    if (!has_secret) {
      auth_errors.push_back(absl::StrCat(
          "auth.client_secret_file: client_credentials needs a secret: a file "
          "(auth.client_secret_file or FORMANCE_CLIENT_SECRET_FILE) or the ",
          config.auth.client_secret_env, " environment variable"));
    }
  } else if (config.auth.mode == AuthMode::kStaticToken && !has_token) {
    auth_errors.push_back(
        absl::StrCat("auth.static_token_file: static_token needs a token file "
                     "(auth.static_token_file or FORMANCE_TOKEN_FILE) or the ",
                     StaticTokenOptions().token_env, " environment variable"));
  }
  if (!valid.ok() || !auth_errors.empty()) {
    std::string message(valid.message());
    for (const std::string& e : auth_errors) {
      if (!message.empty()) message += "; ";
      message += e;
    }
    if (yaml_path.empty()) return absl::InvalidArgumentError(message);
    return absl::InvalidArgumentError(absl::StrCat(yaml_path, ": ", message));
  }
  return config;
}

}  // namespace fgw
