// GatewayConfig: every setting of the daemon, with its default. Filled from a YAML file
// (--config), then environment variables, then flags (config_loader.h). Secrets are never stored
// here: only where to read them (a file path or the name of an environment variable).
//
// Each default is declared once. A setting that a component's option struct also holds takes
// its default from that struct (`RetryOptions().max_attempts`), or embeds it (UpstreamLimits);
// only the settings no lower component knows are declared here. The settings of the gRPC server
// are the other way round: grpc sits above config (server/layers.txt), so ServerOptions takes
// its defaults from here. Those headers are read for their inline initialisers only: nothing of
// auth, retry, cache or the cpprestsdk transport is linked into fgw_config.
#ifndef FGW_SERVER_CONFIG_GATEWAY_CONFIG_H_
#define FGW_SERVER_CONFIG_GATEWAY_CONFIG_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/time/time.h"
#include "server/auth/credentials.h"
#include "server/auth/oauth2_token_source.h"
#include "server/cache/response_cache.h"
#include "server/retry/retry_budget.h"
#include "server/retry/retry_policy.h"
#include "server/upstream/cpprest_transport.h"
#include "server/upstream/upstream_limits.h"

namespace fgw {

struct UpstreamConfig {
  // Formance base URL, as the SDK's server 0. https://{organization}.{environment}.formance.cloud works.
  std::string url = "http://localhost";
  // Per attempt, and never past the caller's deadline.
  absl::Duration request_timeout = TransportOptions().request_timeout;
  // Connection setup (resolve, TCP connect, TLS handshake, proxy CONNECT) of one attempt; past
  // it the attempt fails UNAVAILABLE, never sent (cpprest_transport.h).
  absl::Duration connect_timeout = TransportOptions().connect_timeout;
  std::string
      ca_file;  // PEM bundle of extra trusted CAs (a private CA); empty: system store.
  std::string
      proxy;  // Outbound HTTP proxy URL (corporate egress); empty: none.
  // cpprestsdk/asio threads. One does the HTTP I/O of ~15k calls/s and keeps a call on
  // fewer threads (tests/bench/PERF_LOG.md, section 10); the default pool of 40 collapses.
  int io_threads = TransportOptions().io_threads;
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
  // Name of the variable, not the value.
  std::string client_secret_env = CredentialsOptions().client_secret_env;
  std::string
      static_token_file;  // Bearer token mode; also FORMANCE_TOKEN_FILE / FORMANCE_TOKEN.
  absl::Duration refresh_ahead = OAuth2Options().refresh_ahead;
  // A failed token request is not repeated before this (doubling per failure in a row, up to
  // max_failure_backoff); calls meanwhile get the remembered error at once.
  absl::Duration failure_backoff = OAuth2Options().failure_backoff;
  absl::Duration max_failure_backoff = OAuth2Options().max_failure_backoff;
  // A token declaring a shorter lifetime (expires_in <= 0 included) is used this long.
  absl::Duration min_token_lifetime = OAuth2Options().min_token_lifetime;
};

struct RetryConfig {
  int max_attempts = RetryOptions().max_attempts;
  absl::Duration initial_backoff = RetryOptions().initial_backoff;
  absl::Duration max_backoff = RetryOptions().max_backoff;
  double multiplier = RetryOptions().multiplier;
  // Retries may add at most this fraction of first attempts (token bucket), plus min_per_second.
  double budget_ratio = RetryBudgetOptions().ratio;
  int budget_min_per_second =
      static_cast<int>(RetryBudgetOptions().min_per_second);
};

struct CacheRule {
  std::string
      method;  // "formance.ledger.v2.LedgerService/GetAccount" or "formance.ledger.v2.*".
  absl::Duration ttl = absl::Seconds(1);
};

struct CacheConfig {
  int64_t max_bytes = ResponseCacheOptions().max_bytes;
  int max_entries = ResponseCacheOptions().max_entries;
  std::vector<CacheRule> rules;  // Empty: nothing is cached.
};

// Bounds on what one caller or the upstream can make the gateway hold (config key `limits`).
// The upstream ones and their defaults are UpstreamLimits' (server/upstream/upstream_limits.h).
struct LimitsConfig {
  // Formance calls being served at once, gateway-wide; beyond it RESOURCE_EXHAUSTED at once.
  int max_calls_in_flight = 1024;
  UpstreamLimits upstream;
};

// The admin listener (config key `admin`): off unless an address is given. It serves only
// probes and metrics, so it may listen on the pod IP or 0.0.0.0 while `listen` stays on
// loopback or a unix socket.
struct AdminConfig {
  // HTTP: GET /healthz, /readyz, /metrics. IP:port ("0.0.0.0:9090"); empty: off.
  std::string listen;
  // gRPC: grpc.health.v1 only ("" = live, "readiness" = ready). host:port; empty: off.
  std::string grpc_listen;
};

// Client certificates on a TLS listener (grpc.tls.client_certificates).
enum class ClientCertificates {
  kAuto,      // require when client_ca_file is set, none otherwise.
  kNone,      // not asked for.
  kOptional,  // asked for and verified when sent; callers may use API keys instead.
  kRequire,  // a certificate chaining to client_ca_file is needed to connect (mTLS).
};

// TLS on the gRPC listener (grpc.tls). The files are PEM and re-read when they change (gRPC's
// FileWatcherCertificateProvider, every refresh_interval): certificates rotate without restart.
struct TlsConfig {
  std::string
      cert_file;  // Server certificate chain; set: TLS on (with key_file).
  std::string key_file;        // Its private key.
  std::string client_ca_file;  // CA bundle client certificates must chain to.
  ClientCertificates client_certificates = ClientCertificates::kAuto;
  absl::Duration refresh_interval = absl::Seconds(60);
  bool enabled() const { return !cert_file.empty(); }
};

// Who may call what (policy; server/policy/policy_document.h has the format). Either inline
// (the `policy:` section itself) or in `file`, which is reloaded when it changes.
struct PolicyConfig {
  std::string file;
  std::string
      inline_yaml;  // The `policy:` section as YAML, when `file` is not used.
};

struct GatewayConfig {
  std::string listen = "127.0.0.1:50051";  // host:port or unix:/path.
  AdminConfig admin;
  TlsConfig tls;
  // Permission bits of a unix-socket listener ("0660"); empty: as created (umask).
  std::string unix_socket_mode;
  // Listen on a non-loopback TCP address without TLS and without callers (anyone who can
  // reach the port spends the organisation's Formance credentials): refused unless true.
  bool allow_insecure_remote = false;
  PolicyConfig policy;
  UpstreamConfig upstream;
  AuthConfig auth;
  RetryConfig retry;
  CacheConfig cache;
  LimitsConfig limits;
  std::string log_level = "info";   // trace, debug, info, warn, error.
  std::string log_format = "text";  // text or json (one JSON object per line).
  int64_t max_message_bytes = 16LL << 20;
  // Threads serving gRPC (one completion queue each): they read requests, encode them and
  // build replies. One carries ~15k calls/s on 2 cores; more help on bigger machines.
  int grpc_threads = 1;
  // On SIGTERM: health and /readyz report NOT_SERVING at once, calls are still served for
  // drain_delay (so load balancers and Kubernetes endpoints stop sending new ones), then the
  // listener closes and in-flight calls get shutdown_grace to finish.
  absl::Duration drain_delay = absl::Seconds(5);
  absl::Duration shutdown_grace = absl::Seconds(15);
  // HTTP/2 keepalive pings the server sends to idle clients, and how long it waits for the ack.
  absl::Duration keepalive_time = absl::Minutes(2);
  absl::Duration keepalive_timeout = absl::Seconds(20);
  std::string descriptor_set_file;  // Empty: the embedded Formance API.
};

}  // namespace fgw

#endif  // FGW_SERVER_CONFIG_GATEWAY_CONFIG_H_
