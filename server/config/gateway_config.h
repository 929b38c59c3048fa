// GatewayConfig: every setting of the daemon, with its default. Filled from a YAML file
// (--config), then environment variables, then flags (config_loader.h). Secrets are never stored
// here: only where to read them (a file path or the name of an environment variable).
#ifndef FGW_SERVER_CONFIG_GATEWAY_CONFIG_H_
#define FGW_SERVER_CONFIG_GATEWAY_CONFIG_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/time/time.h"
#include "server/upstream/upstream_limits.h"

namespace fgw {

struct UpstreamConfig {
  // Formance base URL, as the SDK's server 0. https://{organization}.{environment}.formance.cloud works.
  std::string url = "http://localhost";
  absl::Duration request_timeout =
      absl::Seconds(30);  // Per attempt, and never past the caller's deadline.
  absl::Duration connect_timeout = absl::Seconds(5);
  std::string
      ca_file;  // PEM bundle of extra trusted CAs (a private CA); empty: system store.
  std::string
      proxy;  // Outbound HTTP proxy URL (corporate egress); empty: none.
  // cpprestsdk/asio threads. One does the HTTP I/O of ~15k calls/s and keeps a call on
  // fewer threads (tests/bench/PERF_LOG.md, section 10); the default pool of 40 collapses.
  int io_threads = 1;
};

enum class AuthMode { kNone, kStaticToken, kClientCredentials };

struct AuthConfig {
  AuthMode mode =
      AuthMode::kNone;    // client_credentials when a client id is configured.
  std::string token_url;  // Empty: <upstream.url>/api/auth/oauth/token.
  std::string client_id;  // Not a secret; also FORMANCE_CLIENT_ID.
  std::string client_id_file;
  std::string
      client_secret_file;  // Also FORMANCE_CLIENT_SECRET_FILE; re-read when it changes.
  std::string client_secret_env =
      "FORMANCE_CLIENT_SECRET";  // Name of the variable, not the value.
  std::string
      static_token_file;  // Bearer token mode; also FORMANCE_TOKEN_FILE / FORMANCE_TOKEN.
  absl::Duration refresh_ahead = absl::Seconds(60);
  // A failed token request is not repeated before this (doubling per failure in a row, up to
  // max_failure_backoff); calls meanwhile get the remembered error at once.
  absl::Duration failure_backoff = absl::Seconds(1);
  absl::Duration max_failure_backoff = absl::Seconds(30);
  // A token declaring a shorter lifetime (expires_in <= 0 included) is used this long.
  absl::Duration min_token_lifetime = absl::Seconds(10);
};

struct RetryConfig {
  int max_attempts = 4;
  absl::Duration initial_backoff = absl::Milliseconds(100);
  absl::Duration max_backoff = absl::Seconds(5);
  double multiplier = 2.0;
  // Retries may add at most this fraction of first attempts (token bucket), plus min_per_second.
  double budget_ratio = 0.2;
  int budget_min_per_second = 10;
};

struct CacheRule {
  std::string
      method;  // "formance.ledger.v2.LedgerService/GetAccount" or "formance.ledger.v2.*".
  absl::Duration ttl = absl::Seconds(1);
};

struct CacheConfig {
  int64_t max_bytes = 64LL << 20;
  int max_entries = 10000;
  std::vector<CacheRule> rules;  // Empty: nothing is cached.
};

// Bounds on what one caller or the upstream can make the gateway hold (config key `limits`).
// The upstream ones and their defaults are UpstreamLimits' (server/upstream/upstream_limits.h).
struct LimitsConfig {
  // Formance calls being served at once, gateway-wide; beyond it RESOURCE_EXHAUSTED at once.
  int max_calls_in_flight = 1024;
  UpstreamLimits upstream;
};

struct GatewayConfig {
  std::string listen = "127.0.0.1:50051";  // host:port or unix:/path.
  UpstreamConfig upstream;
  AuthConfig auth;
  RetryConfig retry;
  CacheConfig cache;
  LimitsConfig limits;
  std::string log_level = "info";  // trace, debug, info, warn, error.
  int64_t max_message_bytes = 16LL << 20;
  // Threads serving gRPC (one completion queue each): they read requests, encode them and
  // build replies. One carries ~15k calls/s on 2 cores; more help on bigger machines.
  int grpc_threads = 1;
  absl::Duration shutdown_grace = absl::Seconds(15);
  // HTTP/2 keepalive pings the server sends to idle clients, and how long it waits for the ack.
  absl::Duration keepalive_time = absl::Minutes(2);
  absl::Duration keepalive_timeout = absl::Seconds(20);
  std::string descriptor_set_file;  // Empty: the embedded Formance API.
};

}  // namespace fgw

#endif  // FGW_SERVER_CONFIG_GATEWAY_CONFIG_H_
