#include "server/config/config_loader.h"

#include <fstream>
#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "server/auth/credentials.h"
#include "server/auth/oauth2_token_source.h"
#include "server/cache/response_cache.h"
#include "server/policy/policy_document.h"
#include "server/retry/retry_budget.h"
#include "server/retry/retry_policy.h"
#include "server/upstream/cpprest_transport.h"

namespace fgw {
namespace {

using ::testing::AllOf;
using ::testing::HasSubstr;
using ::testing::Not;

MapEnvironment Env(std::map<std::string, std::string> vars) {
  return MapEnvironment(std::move(vars));
}

class ConfigLoaderTest : public ::testing::Test {
 protected:
  std::string WriteYaml(const std::string& text) {
    std::string path =
        ::testing::TempDir() + "/fgw_config_" +
        ::testing::UnitTest::GetInstance()->current_test_info()->name() +
        std::to_string(counter_++) + ".yaml";
    std::ofstream(path) << text;
    return path;
  }
  absl::StatusOr<GatewayConfig> LoadYaml(
      const std::string& text, std::map<std::string, std::string> env = {},
      FlagOverrides flags = {}) {
    return LoadConfig(WriteYaml(text), MapEnvironment(std::move(env)), flags);
  }
  // The error message of loading `text`, "" if it loads.
  std::string ErrorOf(const std::string& text,
                      std::map<std::string, std::string> env = {}) {
    auto config = LoadYaml(text, std::move(env));
    if (config.ok()) return "";
    EXPECT_EQ(config.status().code(), absl::StatusCode::kInvalidArgument);
    return std::string(config.status().message());
  }

  int counter_ = 0;
};

TEST_F(ConfigLoaderTest, DefaultsWithoutFileEnvOrFlags) {
  auto config = LoadConfig("", MapEnvironment(), {});
  ASSERT_TRUE(config.ok()) << config.status();
  GatewayConfig defaults;
  EXPECT_EQ(config->listen, defaults.listen);
  EXPECT_EQ(config->upstream.url, defaults.upstream.url);
  EXPECT_EQ(config->upstream.request_timeout, absl::Seconds(30));
  EXPECT_EQ(config->retry.max_attempts, 4);
  EXPECT_EQ(config->auth.mode, AuthMode::kNone);
  EXPECT_EQ(config->log_level, "info");
  EXPECT_TRUE(config->cache.rules.empty());
}

TEST_F(ConfigLoaderTest, ReadsEveryKeyFromYaml) {
  auto config = LoadYaml(R"(
listen: "0.0.0.0:6000"
descriptor_set_file: /etc/fgw/api.binpb
upstream:
  url: https://acme.sandbox.formance.cloud
  request_timeout: 10s
  connect_timeout: 250ms
  ca_file: /etc/ssl/private-ca.pem
  proxy: http://proxy:3128
  io_threads: 4
auth:
  mode: client_credentials
  token_url: https://auth.example/token
  client_id: my-client
  client_secret_file: /run/secrets/formance
  client_secret_env: MY_SECRET
  refresh_ahead: 2m
  failure_backoff: 2s
  max_failure_backoff: 1m
  min_token_lifetime: 20s
limits:
  max_calls_in_flight: 300
  max_request_target_bytes: 4096
  max_request_header_bytes: 8192
  max_response_bytes: 2097152
  max_upstream_connections: 16
retry:
  max_attempts: 3
  initial_backoff: 50ms
  max_backoff: 2s
  multiplier: 1.5
  budget_ratio: 0.1
  budget_min_per_second: 5
cache:
  max_bytes: 1048576
  max_entries: 100
  rules:
    - method: formance.ledger.v2.LedgerService/GetAccount
      ttl: 5s
    - method: formance.payments.v3.*
log:
  level: debug
grpc:
  max_message_bytes: 4194304
  threads: 3
  shutdown_grace: 5s
  keepalive_time: 30s
  keepalive_timeout: 5s
)");
  ASSERT_TRUE(config.ok()) << config.status();
  EXPECT_EQ(config->listen, "0.0.0.0:6000");
  EXPECT_EQ(config->descriptor_set_file, "/etc/fgw/api.binpb");
  EXPECT_EQ(config->upstream.url, "https://acme.sandbox.formance.cloud");
  EXPECT_EQ(config->upstream.request_timeout, absl::Seconds(10));
  EXPECT_EQ(config->upstream.connect_timeout, absl::Milliseconds(250));
  EXPECT_EQ(config->upstream.ca_file, "/etc/ssl/private-ca.pem");
  EXPECT_EQ(config->upstream.proxy, "http://proxy:3128");
  EXPECT_EQ(config->upstream.io_threads, 4);
  EXPECT_EQ(config->auth.mode, AuthMode::kClientCredentials);
  EXPECT_EQ(config->auth.token_url, "https://auth.example/token");
  EXPECT_EQ(config->auth.client_id, "my-client");
  EXPECT_EQ(config->auth.client_secret_file, "/run/secrets/formance");
  EXPECT_EQ(config->auth.client_secret_env, "MY_SECRET");
  EXPECT_EQ(config->auth.refresh_ahead, absl::Minutes(2));
  EXPECT_EQ(config->auth.failure_backoff, absl::Seconds(2));
  EXPECT_EQ(config->auth.max_failure_backoff, absl::Minutes(1));
  EXPECT_EQ(config->auth.min_token_lifetime, absl::Seconds(20));
  EXPECT_EQ(config->limits.max_calls_in_flight, 300);
  EXPECT_EQ(config->limits.upstream.max_request_target_bytes, 4096);
  EXPECT_EQ(config->limits.upstream.max_request_header_bytes, 8192);
  EXPECT_EQ(config->limits.upstream.max_response_bytes, 2097152);
  EXPECT_EQ(config->limits.upstream.max_connections, 16);
  EXPECT_EQ(config->retry.max_attempts, 3);
  EXPECT_EQ(config->retry.initial_backoff, absl::Milliseconds(50));
  EXPECT_EQ(config->retry.max_backoff, absl::Seconds(2));
  EXPECT_DOUBLE_EQ(config->retry.multiplier, 1.5);
  EXPECT_DOUBLE_EQ(config->retry.budget_ratio, 0.1);
  EXPECT_EQ(config->retry.budget_min_per_second, 5);
  EXPECT_EQ(config->cache.max_bytes, 1048576);
  EXPECT_EQ(config->cache.max_entries, 100);
  ASSERT_EQ(config->cache.rules.size(), 2u);
  EXPECT_EQ(config->cache.rules[0].method,
            "formance.ledger.v2.LedgerService/GetAccount");
  EXPECT_EQ(config->cache.rules[0].ttl, absl::Seconds(5));
  EXPECT_EQ(config->cache.rules[1].method, "formance.payments.v3.*");
  EXPECT_EQ(config->cache.rules[1].ttl, absl::Seconds(1));  // Default TTL.
  EXPECT_EQ(config->log_level, "debug");
  EXPECT_EQ(config->max_message_bytes, 4194304);
  EXPECT_EQ(config->grpc_threads, 3);
  EXPECT_EQ(config->shutdown_grace, absl::Seconds(5));
  EXPECT_EQ(config->keepalive_time, absl::Seconds(30));
  EXPECT_EQ(config->keepalive_timeout, absl::Seconds(5));
}

TEST_F(ConfigLoaderTest, PrecedenceIsDefaultsThenYamlThenEnvThenFlags) {
  const std::string yaml =
      "listen: 127.0.0.1:1000\nupstream:\n  url: http://yaml\nlog:\n  level: "
      "warn\n";
  auto yaml_only = LoadYaml(yaml);
  ASSERT_TRUE(yaml_only.ok()) << yaml_only.status();
  EXPECT_EQ(yaml_only->listen, "127.0.0.1:1000");
  EXPECT_EQ(yaml_only->upstream.url, "http://yaml");
  EXPECT_EQ(yaml_only->log_level, "warn");
  EXPECT_EQ(yaml_only->retry.max_attempts, 4);  // Default kept.

  std::map<std::string, std::string> env = {{"FGW_LISTEN", "127.0.0.1:2000"},
                                            {"FORMANCE_URL", "https://env"},
                                            {"FGW_LOG_LEVEL", "error"}};
  auto with_env = LoadYaml(yaml, env);
  ASSERT_TRUE(with_env.ok()) << with_env.status();
  EXPECT_EQ(with_env->listen, "127.0.0.1:2000");
  EXPECT_EQ(with_env->upstream.url, "https://env");
  EXPECT_EQ(with_env->log_level, "error");

  FlagOverrides flags;
  flags.listen = "127.0.0.1:3000";
  flags.upstream_url = "https://flag";
  flags.log_level = "trace";
  flags.descriptor_set_file = "/tmp/x.binpb";
  auto with_flags = LoadYaml(yaml, env, flags);
  ASSERT_TRUE(with_flags.ok()) << with_flags.status();
  EXPECT_EQ(with_flags->listen, "127.0.0.1:3000");
  EXPECT_EQ(with_flags->upstream.url, "https://flag");
  EXPECT_EQ(with_flags->log_level, "trace");
  EXPECT_EQ(with_flags->descriptor_set_file, "/tmp/x.binpb");

  FlagOverrides empty_flags;
  empty_flags.listen = "";  // An empty flag is "not given".
  auto empty = LoadYaml(yaml, env, empty_flags);
  ASSERT_TRUE(empty.ok());
  EXPECT_EQ(empty->listen, "127.0.0.1:2000");
}

TEST_F(ConfigLoaderTest, AuthModeIsInferred) {
  auto none = LoadConfig("", MapEnvironment(), {});
  ASSERT_TRUE(none.ok());
  EXPECT_EQ(none->auth.mode, AuthMode::kNone);

  auto cc = LoadConfig(
      "",
      Env({{"FORMANCE_CLIENT_ID", "id"}, {"FORMANCE_CLIENT_SECRET", "s3cr3t"}}),
      {});
  ASSERT_TRUE(cc.ok()) << cc.status();
  EXPECT_EQ(cc->auth.mode, AuthMode::kClientCredentials);
  EXPECT_EQ(cc->auth.client_id, "id");

  auto cc_file = LoadConfig("",
                            Env({{"FORMANCE_CLIENT_ID", "id"},
                                 {"FORMANCE_CLIENT_SECRET_FILE", "/s"}}),
                            {});
  ASSERT_TRUE(cc_file.ok()) << cc_file.status();
  EXPECT_EQ(cc_file->auth.client_secret_file, "/s");

  auto token = LoadConfig("", Env({{"FORMANCE_TOKEN", "t"}}), {});
  ASSERT_TRUE(token.ok());
  EXPECT_EQ(token->auth.mode, AuthMode::kStaticToken);

  auto token_file = LoadConfig("", Env({{"FORMANCE_TOKEN_FILE", "/t"}}), {});
  ASSERT_TRUE(token_file.ok());
  EXPECT_EQ(token_file->auth.mode, AuthMode::kStaticToken);
  EXPECT_EQ(token_file->auth.static_token_file, "/t");

  // Explicit mode wins over inference.
  auto explicit_none =
      LoadYaml("auth:\n  mode: none\n", {{"FORMANCE_TOKEN", "t"}});
  ASSERT_TRUE(explicit_none.ok());
  EXPECT_EQ(explicit_none->auth.mode, AuthMode::kNone);
}

TEST_F(ConfigLoaderTest, AuthModeNeedsItsCredentials) {
  EXPECT_THAT(ErrorOf("auth:\n  client_id: x\n"),
              AllOf(HasSubstr("auth.client_secret_file"),
                    HasSubstr("FORMANCE_CLIENT_SECRET")));
  EXPECT_THAT(
      ErrorOf("auth:\n  mode: client_credentials\n  client_secret_file: /s\n"),
      HasSubstr("auth.client_id"));
  EXPECT_THAT(ErrorOf("auth:\n  mode: static_token\n"),
              HasSubstr("auth.static_token_file"));
}

TEST_F(ConfigLoaderTest, SecretsInYamlOrFlagsAreRefused) {
  for (const char* key : {"client_secret", "static_token", "token", "secret"}) {
    std::string message =
        ErrorOf(std::string("auth:\n  ") + key + ": hunter2\n");
    EXPECT_THAT(message, HasSubstr(std::string("auth.") + key + ": ")) << key;
    EXPECT_THAT(message, HasSubstr("not accepted")) << key;
    EXPECT_THAT(message, Not(HasSubstr("hunter2")))
        << key;  // Never echo a secret.
  }
  FlagOverrides flags;
  flags.client_secret = "hunter2";
  auto config = LoadConfig("", MapEnvironment(), flags);
  ASSERT_FALSE(config.ok());
  EXPECT_THAT(config.status().message(),
              AllOf(HasSubstr("--client_secret"), Not(HasSubstr("hunter2"))));
}

TEST_F(ConfigLoaderTest, UnknownKeysAndWrongTypesNameTheKeyPath) {
  EXPECT_THAT(ErrorOf("upstream:\n  timeout: 5s\n"),
              HasSubstr("upstream.timeout: unknown key"));
  EXPECT_THAT(ErrorOf("listn: x\n"), HasSubstr("listn: unknown key"));
  EXPECT_THAT(ErrorOf("retry:\n  max_attempts: x\n"),
              HasSubstr("retry.max_attempts: expected an integer, got \"x\""));
  EXPECT_THAT(ErrorOf("retry:\n  multiplier: fast\n"),
              HasSubstr("retry.multiplier: expected a number, got \"fast\""));
  EXPECT_THAT(ErrorOf("upstream:\n  request_timeout: 30\n"),
              HasSubstr("upstream.request_timeout: expected a duration"));
  EXPECT_THAT(ErrorOf("upstream: https://x\n"),
              HasSubstr("upstream: expected a mapping"));
  EXPECT_THAT(ErrorOf("listen:\n  - a\n"),
              HasSubstr("listen: expected a string, got a list"));
  EXPECT_THAT(ErrorOf("auth:\n  mode: magic\n"),
              HasSubstr("auth.mode: expected one of"));
  EXPECT_THAT(ErrorOf("cache:\n  rules:\n    - ttl: 5s\n"),
              HasSubstr("cache.rules[0].method: required"));
  EXPECT_THAT(ErrorOf("cache:\n  rules:\n    - method: a.B/C\n      tll: 5s\n"),
              HasSubstr("cache.rules[0].tll: unknown key"));
  EXPECT_THAT(ErrorOf("- a\n- b\n"),
              HasSubstr("(document): expected a mapping"));
  EXPECT_THAT(ErrorOf("listen: [unclosed\n"), HasSubstr("not valid YAML"));
  // Every problem at once.
  EXPECT_THAT(ErrorOf("a: 1\nb: 2\n"),
              AllOf(HasSubstr("a: unknown key"), HasSubstr("b: unknown key")));
}

TEST_F(ConfigLoaderTest, ValuesAreRangeChecked) {
  EXPECT_THAT(ErrorOf("retry:\n  max_attempts: 0\n"),
              HasSubstr("retry.max_attempts: must be from 1 to 10, got 0"));
  EXPECT_THAT(ErrorOf("retry:\n  max_attempts: 11\n"),
              HasSubstr("retry.max_attempts"));
  EXPECT_THAT(ErrorOf("upstream:\n  url: ftp://x\n"),
              HasSubstr("upstream.url: expected an http"));
  EXPECT_THAT(ErrorOf("upstream:\n  url: https://\n"),
              HasSubstr("upstream.url"));
  EXPECT_THAT(
      ErrorOf("upstream:\n  request_timeout: 0s\n"),
      HasSubstr("upstream.request_timeout: must be a positive duration"));
  EXPECT_THAT(ErrorOf("upstream:\n  connect_timeout: -1s\n"),
              HasSubstr("upstream.connect_timeout"));
  EXPECT_THAT(ErrorOf("upstream:\n  proxy: socks://p\n"),
              HasSubstr("upstream.proxy"));
  EXPECT_THAT(ErrorOf("upstream:\n  io_threads: 0\n"),
              HasSubstr("upstream.io_threads"));
  EXPECT_THAT(ErrorOf("listen: nowhere\n"), HasSubstr("listen: "));
  EXPECT_THAT(ErrorOf("retry:\n  initial_backoff: 2s\n  max_backoff: 1s\n"),
              HasSubstr("retry.max_backoff: must be at least"));
  EXPECT_THAT(ErrorOf("retry:\n  budget_ratio: 2\n"),
              HasSubstr("retry.budget_ratio"));
  EXPECT_THAT(ErrorOf("log:\n  level: loud\n"),
              HasSubstr("log.level: expected one of"));
  EXPECT_THAT(ErrorOf("grpc:\n  threads: 0\n"), HasSubstr("grpc.threads"));
  EXPECT_THAT(ErrorOf("grpc:\n  max_message_bytes: 10\n"),
              HasSubstr("grpc.max_message_bytes"));
  EXPECT_THAT(ErrorOf("limits:\n  max_calls_in_flight: 0\n"),
              HasSubstr("limits.max_calls_in_flight"));
  EXPECT_THAT(ErrorOf("limits:\n  max_request_target_bytes: 10\n"),
              HasSubstr("limits.max_request_target_bytes"));
  EXPECT_THAT(ErrorOf("limits:\n  max_request_header_bytes: 10\n"),
              HasSubstr("limits.max_request_header_bytes"));
  EXPECT_THAT(ErrorOf("limits:\n  max_response_bytes: 1\n"),
              HasSubstr("limits.max_response_bytes"));
  EXPECT_THAT(ErrorOf("limits:\n  max_upstream_connections: 0\n"),
              HasSubstr("limits.max_upstream_connections"));
  EXPECT_THAT(ErrorOf("limits:\n  max_connections: 5\n"),
              HasSubstr("limits.max_connections: unknown key"));
  EXPECT_THAT(ErrorOf("auth:\n  failure_backoff: 0s\n"),
              HasSubstr("auth.failure_backoff"));
  EXPECT_THAT(
      ErrorOf("auth:\n  failure_backoff: 5s\n  max_failure_backoff: 1s\n"),
      HasSubstr("auth.max_failure_backoff"));
  EXPECT_THAT(ErrorOf("auth:\n  min_token_lifetime: 0s\n"),
              HasSubstr("auth.min_token_lifetime"));
  EXPECT_THAT(ErrorOf("cache:\n  rules:\n    - method: GetAccount\n"),
              HasSubstr("cache.rules[0].method"));
  EXPECT_THAT(ErrorOf("cache:\n  rules:\n    - method: a.B/C\n      ttl: 0s\n"),
              HasSubstr("cache.rules[0].ttl"));
}

TEST_F(ConfigLoaderTest, EnvironmentAndFlagErrorsNameTheirSource) {
  auto env = LoadConfig("", Env({{"FGW_LISTEN", "nowhere"}}), {});
  ASSERT_FALSE(env.ok());
  EXPECT_THAT(env.status().message(), HasSubstr("listen (from FGW_LISTEN): "));
  FlagOverrides flags;
  flags.upstream_url = "localhost:8080";
  auto flag = LoadConfig("", MapEnvironment(), flags);
  ASSERT_FALSE(flag.ok());
  EXPECT_THAT(flag.status().message(),
              HasSubstr("upstream.url (from --upstream): "));
}

TEST_F(ConfigLoaderTest, AdminLogFormatAndDrainDelay) {
  auto config = LoadYaml(R"(
admin:
  listen: "0.0.0.0:9090"
  grpc_listen: "0.0.0.0:9091"
log:
  format: json
grpc:
  drain_delay: 2s
)");
  ASSERT_TRUE(config.ok()) << config.status();
  EXPECT_EQ(config->admin.listen, "0.0.0.0:9090");
  EXPECT_EQ(config->admin.grpc_listen, "0.0.0.0:9091");
  EXPECT_EQ(config->log_format, "json");
  EXPECT_EQ(config->drain_delay, absl::Seconds(2));
  const GatewayConfig d;
  EXPECT_TRUE(d.admin.listen.empty());  // Off by default.
  EXPECT_TRUE(d.admin.grpc_listen.empty());
  EXPECT_EQ(d.log_format, "text");
  EXPECT_EQ(d.drain_delay, absl::Seconds(5));

  auto env = LoadConfig("",
                        Env({{"FGW_ADMIN_LISTEN", "127.0.0.2:9090"},
                             {"FGW_ADMIN_GRPC_LISTEN", "127.0.0.2:9091"},
                             {"FGW_LOG_FORMAT", "json"}}),
                        {});
  ASSERT_TRUE(env.ok()) << env.status();
  EXPECT_EQ(env->admin.listen, "127.0.0.2:9090");
  EXPECT_EQ(env->admin.grpc_listen, "127.0.0.2:9091");
  EXPECT_EQ(env->log_format, "json");
  FlagOverrides flags;
  flags.admin_listen = "127.0.0.3:1";
  flags.admin_grpc_listen = "127.0.0.3:2";
  flags.log_format = "text";
  auto flagged = LoadConfig("", Env({{"FGW_LOG_FORMAT", "json"}}), flags);
  ASSERT_TRUE(flagged.ok()) << flagged.status();
  EXPECT_EQ(flagged->admin.listen, "127.0.0.3:1");
  EXPECT_EQ(flagged->admin.grpc_listen, "127.0.0.3:2");
  EXPECT_EQ(flagged->log_format, "text");
}

TEST_F(ConfigLoaderTest, AdminLogFormatAndDrainDelayAreChecked) {
  EXPECT_THAT(ErrorOf("admin:\n  listen: unix:/tmp/a.sock\n"),
              HasSubstr("admin.listen: expected IP:port"));
  EXPECT_THAT(ErrorOf("admin:\n  listen: nowhere\n"),
              HasSubstr("admin.listen: "));
  EXPECT_THAT(ErrorOf("admin:\n  grpc_listen: \"a b\"\n"),
              HasSubstr("admin.grpc_listen: "));
  EXPECT_THAT(
      ErrorOf("listen: 127.0.0.1:9000\nadmin:\n  listen: 127.0.0.1:9000\n"),
      HasSubstr("admin.listen: must differ from listen"));
  EXPECT_THAT(
      ErrorOf("admin:\n  listen: 127.0.0.2:9\n  grpc_listen: 127.0.0.2:9\n"),
      HasSubstr("admin.grpc_listen: must differ from admin.listen"));
  EXPECT_EQ(
      ErrorOf("admin:\n  listen: 127.0.0.2:0\n  grpc_listen: 127.0.0.2:0\n"),
      "");  // Port 0: two free ports.
  EXPECT_THAT(ErrorOf("admin:\n  port: 9090\n"),
              HasSubstr("admin.port: unknown key"));
  EXPECT_THAT(ErrorOf("log:\n  format: xml\n"),
              HasSubstr("log.format: expected text or json, got \"xml\""));
  EXPECT_THAT(ErrorOf("grpc:\n  drain_delay: -1s\n"),
              HasSubstr("grpc.drain_delay: must be from 0s to 5m"));
  EXPECT_THAT(ErrorOf("grpc:\n  drain_delay: 6m\n"),
              HasSubstr("grpc.drain_delay: must be from 0s to 5m"));
}

TEST_F(ConfigLoaderTest, MissingFileIsNotFound) {
  auto config = LoadConfig("/nonexistent/fgw.yaml", MapEnvironment(), {});
  ASSERT_FALSE(config.ok());
  EXPECT_EQ(config.status().code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(config.status().message(), HasSubstr("/nonexistent/fgw.yaml"));
}

TEST_F(ConfigLoaderTest, EmptyFileAndEmptySectionsKeepDefaults) {
  auto empty = LoadYaml("");
  ASSERT_TRUE(empty.ok()) << empty.status();
  auto sections = LoadYaml("upstream:\nretry:\n");
  ASSERT_TRUE(sections.ok()) << sections.status();
  EXPECT_EQ(sections->retry.max_attempts, 4);
}

TEST_F(ConfigLoaderTest, ExampleFileLoadsAndEqualsTheDefaults) {
  auto config =
      LoadConfig(std::string(FGW_SOURCE_DIR) + "/config/gateway.example.yaml",
                 MapEnvironment(), {});
  ASSERT_TRUE(config.ok()) << config.status();
  GatewayConfig d;
  EXPECT_EQ(config->listen, d.listen);
  EXPECT_EQ(config->upstream.url, d.upstream.url);
  EXPECT_EQ(config->upstream.request_timeout, d.upstream.request_timeout);
  EXPECT_EQ(config->upstream.connect_timeout, d.upstream.connect_timeout);
  EXPECT_EQ(config->upstream.io_threads, d.upstream.io_threads);
  EXPECT_EQ(config->auth.mode, AuthMode::kNone);
  EXPECT_EQ(config->auth.client_secret_env, d.auth.client_secret_env);
  EXPECT_EQ(config->auth.refresh_ahead, d.auth.refresh_ahead);
  EXPECT_EQ(config->retry.max_attempts, d.retry.max_attempts);
  EXPECT_EQ(config->retry.initial_backoff, d.retry.initial_backoff);
  EXPECT_EQ(config->retry.max_backoff, d.retry.max_backoff);
  EXPECT_DOUBLE_EQ(config->retry.multiplier, d.retry.multiplier);
  EXPECT_DOUBLE_EQ(config->retry.budget_ratio, d.retry.budget_ratio);
  EXPECT_EQ(config->retry.budget_min_per_second, d.retry.budget_min_per_second);
  EXPECT_EQ(config->cache.max_bytes, d.cache.max_bytes);
  EXPECT_EQ(config->cache.max_entries, d.cache.max_entries);
  EXPECT_TRUE(config->cache.rules.empty());
  EXPECT_EQ(config->log_level, d.log_level);
  EXPECT_EQ(config->max_message_bytes, d.max_message_bytes);
  EXPECT_EQ(config->grpc_threads, 1);
  EXPECT_EQ(config->upstream.io_threads, 1);
  EXPECT_EQ(config->shutdown_grace, d.shutdown_grace);
  EXPECT_EQ(config->drain_delay, d.drain_delay);
  EXPECT_EQ(config->admin.listen, d.admin.listen);
  EXPECT_EQ(config->admin.grpc_listen, d.admin.grpc_listen);
  EXPECT_EQ(config->log_format, d.log_format);
  EXPECT_EQ(config->keepalive_time, d.keepalive_time);
  EXPECT_EQ(config->keepalive_timeout, d.keepalive_timeout);
  EXPECT_EQ(config->auth.failure_backoff, d.auth.failure_backoff);
  EXPECT_EQ(config->auth.max_failure_backoff, d.auth.max_failure_backoff);
  EXPECT_EQ(config->auth.min_token_lifetime, d.auth.min_token_lifetime);
  EXPECT_EQ(config->limits.max_calls_in_flight, d.limits.max_calls_in_flight);
  EXPECT_EQ(config->limits.upstream.max_request_target_bytes,
            d.limits.upstream.max_request_target_bytes);
  EXPECT_EQ(config->limits.upstream.max_request_header_bytes,
            d.limits.upstream.max_request_header_bytes);
  EXPECT_EQ(config->limits.upstream.max_response_bytes,
            d.limits.upstream.max_response_bytes);
  EXPECT_EQ(config->limits.upstream.max_connections,
            d.limits.upstream.max_connections);
}

// Each default is declared once: the config's are the components' own (gateway_config.h).
TEST_F(ConfigLoaderTest, DefaultsAreTheComponentsOwn) {
  const GatewayConfig d;
  const TransportOptions transport;
  EXPECT_EQ(d.upstream.request_timeout, transport.request_timeout);
  EXPECT_EQ(d.upstream.connect_timeout, transport.connect_timeout);
  EXPECT_EQ(d.upstream.io_threads, transport.io_threads);
  EXPECT_EQ(d.upstream.io_threads, 1);
  const OAuth2Options oauth;
  EXPECT_EQ(d.auth.refresh_ahead, oauth.refresh_ahead);
  EXPECT_EQ(d.auth.failure_backoff, oauth.failure_backoff);
  EXPECT_EQ(d.auth.max_failure_backoff, oauth.max_failure_backoff);
  EXPECT_EQ(d.auth.min_token_lifetime, oauth.min_token_lifetime);
  EXPECT_EQ(d.auth.client_secret_env, CredentialsOptions().client_secret_env);
  const RetryOptions retry;
  EXPECT_EQ(d.retry.max_attempts, retry.max_attempts);
  EXPECT_EQ(d.retry.initial_backoff, retry.initial_backoff);
  EXPECT_EQ(d.retry.max_backoff, retry.max_backoff);
  EXPECT_DOUBLE_EQ(d.retry.multiplier, retry.multiplier);
  const RetryBudgetOptions budget;
  EXPECT_DOUBLE_EQ(d.retry.budget_ratio, budget.ratio);
  EXPECT_DOUBLE_EQ(d.retry.budget_min_per_second, budget.min_per_second);
  const ResponseCacheOptions cache;
  EXPECT_EQ(d.cache.max_bytes, cache.max_bytes);
  EXPECT_EQ(d.cache.max_entries, cache.max_entries);
  const UpstreamLimits limits;
  EXPECT_EQ(d.limits.upstream.max_connections, limits.max_connections);
  EXPECT_EQ(d.limits.upstream.max_response_bytes, limits.max_response_bytes);
}

}  // namespace
}  // namespace fgw

namespace fgw {
namespace {

using ::testing::HasSubstr;

class ConfigLoaderSecurityTest : public ::testing::Test {
 protected:
  absl::StatusOr<GatewayConfig> Load(
      const std::string& text, std::map<std::string, std::string> env = {}) {
    std::string path = ::testing::TempDir() + "/fgw_config_security_" +
                       std::to_string(counter_++) + ".yaml";
    std::ofstream(path) << text;
    return LoadConfig(path, MapEnvironment(std::move(env)), FlagOverrides());
  }
  std::string ErrorOf(const std::string& text,
                      std::map<std::string, std::string> env = {}) {
    auto config = Load(text, std::move(env));
    return config.ok() ? "" : std::string(config.status().message());
  }
  int counter_ = 0;
};

TEST_F(ConfigLoaderSecurityTest, ReadsTlsSocketModeAndTheOverride) {
  auto c = Load(
      "listen: unix:/run/fgw.sock\n"
      "grpc:\n"
      "  unix_socket_mode: \"0660\"\n"
      "  allow_insecure_remote: true\n"
      "  tls:\n"
      "    cert_file: /tls/server.pem\n"
      "    key_file: /tls/server.key\n"
      "    client_ca_file: /tls/ca.pem\n"
      "    client_certificates: optional\n"
      "    refresh_interval: 30s\n");
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->unix_socket_mode, "0660");
  EXPECT_TRUE(c->allow_insecure_remote);
  EXPECT_TRUE(c->tls.enabled());
  EXPECT_EQ(c->tls.key_file, "/tls/server.key");
  EXPECT_EQ(c->tls.client_ca_file, "/tls/ca.pem");
  EXPECT_EQ(c->tls.client_certificates, ClientCertificates::kOptional);
  EXPECT_EQ(c->tls.refresh_interval, absl::Seconds(30));
}

TEST_F(ConfigLoaderSecurityTest, DefaultsAreClosed) {
  GatewayConfig c;
  EXPECT_FALSE(c.tls.enabled());
  EXPECT_FALSE(c.allow_insecure_remote);
  EXPECT_TRUE(c.policy.file.empty());
  EXPECT_TRUE(c.policy.inline_yaml.empty());
}

TEST_F(ConfigLoaderSecurityTest, TlsAndSocketProblemsNameTheirKey) {
  EXPECT_THAT(ErrorOf("grpc:\n  tls:\n    cert_file: /a\n"),
              HasSubstr("grpc.tls.key_file: TLS needs both"));
  EXPECT_THAT(
      ErrorOf("grpc:\n  tls:\n    client_ca_file: /a\n"),
      HasSubstr("grpc.tls.client_ca_file: client certificates need TLS"));
  EXPECT_THAT(ErrorOf("grpc:\n  tls:\n    cert_file: /a\n    key_file: /b\n"
                      "    client_certificates: require\n"),
              HasSubstr("grpc.tls.client_certificates: optional and require "
                        "need grpc.tls.client_ca_file"));
  EXPECT_THAT(ErrorOf("grpc:\n  tls:\n    client_certificates: sometimes\n"),
              HasSubstr("grpc.tls.client_certificates: expected one of"));
  EXPECT_THAT(ErrorOf("grpc:\n  tls:\n    cert_file: /a\n    key_file: /b\n"
                      "    refresh_interval: 10ms\n"),
              HasSubstr("grpc.tls.refresh_interval: must be at least 1s"));
  EXPECT_THAT(ErrorOf("grpc:\n  tls:\n    colour: red\n"),
              HasSubstr("grpc.tls.colour: unknown key"));
  EXPECT_THAT(ErrorOf("listen: unix:/s\ngrpc:\n  unix_socket_mode: \"0999\"\n"),
              HasSubstr("grpc.unix_socket_mode: expected octal"));
  EXPECT_THAT(ErrorOf("grpc:\n  unix_socket_mode: \"0660\"\n"),
              HasSubstr("grpc.unix_socket_mode: needs a unix:/path"));
  EXPECT_THAT(ErrorOf("grpc:\n  allow_insecure_remote: yes please\n"),
              HasSubstr("grpc.allow_insecure_remote: expected true or false"));
}

TEST_F(ConfigLoaderSecurityTest, AllowInsecureRemoteFromTheEnvironment) {
  auto on = Load("", {{"FGW_ALLOW_INSECURE_REMOTE", "1"}});
  ASSERT_TRUE(on.ok());
  EXPECT_TRUE(on->allow_insecure_remote);
  auto off = Load("grpc:\n  allow_insecure_remote: true\n",
                  {{"FGW_ALLOW_INSECURE_REMOTE", "false"}});
  ASSERT_TRUE(off.ok());
  EXPECT_FALSE(off->allow_insecure_remote);
  EXPECT_THAT(ErrorOf("", {{"FGW_ALLOW_INSECURE_REMOTE", "maybe"}}),
              HasSubstr("FGW_ALLOW_INSECURE_REMOTE"));
}

TEST_F(ConfigLoaderSecurityTest, PolicyInlineOrFile) {
  auto file = Load("policy:\n  file: /etc/fgw/policy.yaml\n");
  ASSERT_TRUE(file.ok()) << file.status();
  EXPECT_EQ(file->policy.file, "/etc/fgw/policy.yaml");
  EXPECT_TRUE(file->policy.inline_yaml.empty());

  auto inline_policy = Load(
      "policy:\n  callers:\n    ops:\n      local: true\n      roles: [all]\n");
  ASSERT_TRUE(inline_policy.ok()) << inline_policy.status();
  auto doc =
      ParsePolicyDocument(inline_policy->policy.inline_yaml, "", "policy");
  ASSERT_TRUE(doc.ok()) << doc.status();
  ASSERT_EQ(doc->callers.size(), 1u);
  EXPECT_TRUE(doc->callers[0].local);

  EXPECT_THAT(ErrorOf("policy:\n  file: /p\n  audit: true\n"),
              HasSubstr("policy: either policy.file or the policy itself"));
  EXPECT_THAT(ErrorOf("policy:\n  callers:\n    a:\n      rolez: [all]\n"),
              HasSubstr("policy.callers.a.rolez: unknown key"));
}

}  // namespace
}  // namespace fgw
