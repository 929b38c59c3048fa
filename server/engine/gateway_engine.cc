#include "server/engine/gateway_engine.h"

#include <atomic>
#include <utility>

#include "absl/base/thread_annotations.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "proto/embedded_descriptors.h"
#include "server/admission/calls_in_flight.h"
#include "server/auth/credentials.h"
#include "server/auth/oauth2_token_source.h"
#include "server/auth/static_token_source.h"
#include "server/cache/response_cache.h"
#include "server/chain/upstream_chain.h"
#include "server/engine/caller_tokens.h"
#include "server/engine/method_table.h"
#include "server/engine/served_methods.h"
#include "server/engine/stream_handler.h"
#include "server/engine/stream_methods.h"
#include "server/engine/transcoding_handler.h"
#include "server/grpc/pool_reflection_source.h"
#include "server/policy/policy_store.h"
#include "server/routing/api_descriptors.h"
#include "server/routing/route_table.h"
#include "server/upstream/cpprest_transport.h"
#include "spdlog/spdlog.h"

namespace fgw {

namespace {

TransportOptions TransportOptionsFrom(const UpstreamConfig& up,
                                      const UpstreamLimits& limits,
                                      std::string base_url) {
  TransportOptions t;
  t.base_url = std::move(base_url);
  t.request_timeout = up.request_timeout;
  t.connect_timeout = up.connect_timeout;
  t.ca_file = up.ca_file;
  t.proxy = up.proxy;
  t.io_threads = up.io_threads;
  t.limits = limits;
  return t;
}

}  // namespace

// Shared with the warm-up token request's callback, which may run after the engine is gone.
struct GatewayEngine::Readiness {
  std::atomic<bool> token_obtained{false};
  std::atomic<bool> fetching{false};
  absl::Mutex mu;
  std::string last_error ABSL_GUARDED_BY(mu);
};

GatewayEngine::GatewayEngine() = default;
// Members are destroyed in reverse order of declaration: the token source before the transports
// its requests run on. Shutdown() first, while everything its callbacks reach is still alive.
GatewayEngine::~GatewayEngine() {
  Shutdown();
  if (metrics_ != nullptr) metrics_->RemoveScrapeValues();
}

absl::StatusOr<std::unique_ptr<GatewayEngine>> GatewayEngine::Create(
    const GatewayConfig& config) {
  return Create(config, Overrides());
}

absl::StatusOr<std::unique_ptr<GatewayEngine>> GatewayEngine::Create(
    const GatewayConfig& config, Overrides overrides) {
  std::unique_ptr<GatewayEngine> engine(new GatewayEngine());
  engine->metrics_ = std::make_unique<PrometheusMetrics>();
  engine->readiness_ = std::make_shared<Readiness>();
  Clock* clock = overrides.clock != nullptr ? overrides.clock : RealClock();
  Random* random =
      overrides.random != nullptr ? overrides.random : RealRandom();
  engine->clock_ = clock;

  absl::StatusOr<std::unique_ptr<ApiDescriptors>> descriptors =
      config.descriptor_set_file.empty()
          ? ApiDescriptors::FromSerializedSet(EmbeddedApiDescriptorSet())
          : ApiDescriptors::FromFile(config.descriptor_set_file);
  if (!descriptors.ok()) return descriptors.status();
  engine->descriptors_ = *std::move(descriptors);

  absl::StatusOr<std::unique_ptr<RouteTable>> routes =
      RouteTable::Build(*engine->descriptors_);
  if (!routes.ok()) return routes.status();
  engine->routes_ = *std::move(routes);

  if (overrides.transport != nullptr) {
    engine->transport_ = std::move(overrides.transport);
  } else {
    auto transport = CpprestTransport::Create(
        TransportOptionsFrom(config.upstream, config.limits.upstream,
                             config.upstream.url),
        clock);
    if (!transport.ok()) return transport.status();
    engine->transport_ = *std::move(transport);
  }

  switch (config.auth.mode) {
    case AuthMode::kNone:
      break;
    case AuthMode::kStaticToken: {
      StaticTokenOptions options;
      options.token_file = config.auth.static_token_file;
      engine->tokens_ = std::make_unique<StaticTokenSource>(options, clock);
      break;
    }
    case AuthMode::kClientCredentials: {
      CredentialsOptions creds;
      creds.client_id = config.auth.client_id;
      creds.client_id_file = config.auth.client_id_file;
      creds.client_secret_file = config.auth.client_secret_file;
      creds.client_secret_env = config.auth.client_secret_env;
      engine->credentials_ = std::make_unique<CredentialsSource>(creds, clock);
      absl::StatusOr<TokenEndpoint> endpoint =
          ResolveTokenEndpoint(config.upstream.url, config.auth.token_url);
      if (!endpoint.ok()) return endpoint.status();
      Transport* token_transport = engine->transport_.get();
      if (overrides.token_transport != nullptr) {
        token_transport = overrides.token_transport;
      } else if (endpoint->origin != config.upstream.url) {
        auto t = CpprestTransport::Create(
            TransportOptionsFrom(config.upstream, config.limits.upstream,
                                 endpoint->origin),
            clock);
        if (!t.ok()) return t.status();
        engine->token_transport_ = *std::move(t);
        token_transport = engine->token_transport_.get();
      }
      OAuth2Options oauth;
      oauth.token_path = endpoint->path;
      oauth.refresh_ahead = config.auth.refresh_ahead;
      oauth.failure_backoff = config.auth.failure_backoff;
      oauth.max_failure_backoff = config.auth.max_failure_backoff;
      oauth.min_token_lifetime = config.auth.min_token_lifetime;
      engine->tokens_ = std::make_unique<OAuth2TokenSource>(
          oauth, engine->credentials_.get(), token_transport, clock);
      break;
    }
  }

  if (!config.cache.rules.empty()) {
    ResponseCacheOptions cache;
    cache.max_bytes = config.cache.max_bytes;
    cache.max_entries = config.cache.max_entries;
    engine->cache_ = std::make_unique<ResponseCache>(cache, clock);
  }

  engine->methods_ =
      MethodTable::Compile(*engine->descriptors_, *engine->routes_,
                           config.cache, engine->metrics_.get());
  engine->in_flight_ =
      std::make_unique<CallsInFlight>(config.limits.max_calls_in_flight);

  PolicyStoreOptions policy;
  policy.file = config.policy.file;
  policy.inline_yaml = config.policy.inline_yaml;
  policy.methods = ServedMethodsOf(*engine->routes_);
  // A caller's own Formance client: its token source on the gateway's token endpoint. Runs
  // under the policy store's reload lock, so caller_token_transport_ is made once.
  OAuth2Options caller_oauth;
  caller_oauth.refresh_ahead = config.auth.refresh_ahead;
  caller_oauth.failure_backoff = config.auth.failure_backoff;
  caller_oauth.max_failure_backoff = config.auth.max_failure_backoff;
  caller_oauth.min_token_lifetime = config.auth.min_token_lifetime;
  GatewayEngine* e = engine.get();
  Transport* token_override = overrides.token_transport;
  policy.make_tokens = [e, config, caller_oauth, token_override,
                        clock](const FormanceClientSpec& client) mutable
      -> absl::StatusOr<std::shared_ptr<TokenSource>> {
    absl::StatusOr<TokenEndpoint> endpoint =
        ResolveTokenEndpoint(config.upstream.url, config.auth.token_url);
    if (!endpoint.ok()) return endpoint.status();
    caller_oauth.token_path = endpoint->path;
    Transport* transport = e->transport_.get();
    if (token_override != nullptr) {
      transport = token_override;
    } else if (endpoint->origin != config.upstream.url) {
      if (e->caller_token_transport_ == nullptr) {
        auto t = CpprestTransport::Create(
            TransportOptionsFrom(config.upstream, config.limits.upstream,
                                 endpoint->origin),
            clock);
        if (!t.ok()) return t.status();
        e->caller_token_transport_ = *std::move(t);
      }
      transport = e->caller_token_transport_.get();
    }
    return MakeCallerTokenSource(client, caller_oauth, transport, clock);
  };
  absl::StatusOr<std::unique_ptr<PolicyStore>> store =
      PolicyStore::Create(std::move(policy), clock);
  if (!store.ok()) return store.status();
  engine->policy_ = *std::move(store);

  UpstreamChain::Options chain;
  chain.retry.max_attempts = config.retry.max_attempts;
  chain.retry.initial_backoff = config.retry.initial_backoff;
  chain.retry.max_backoff = config.retry.max_backoff;
  chain.retry.multiplier = config.retry.multiplier;
  chain.budget.ratio = config.retry.budget_ratio;
  chain.budget.min_per_second = config.retry.budget_min_per_second;
  chain.attempt_timeout = config.upstream.request_timeout;
  engine->chain_ = std::make_unique<UpstreamChain>(
      chain, engine->transport_.get(), engine->tokens_.get(),
      engine->cache_.get(), engine->in_flight_.get(), clock, random,
      engine->policy_.get(), engine->metrics_.get());

  engine->handler_ = std::make_unique<TranscodingHandler>(
      engine->descriptors_.get(), engine->methods_.get(), engine->chain_.get(),
      clock, config.limits.upstream);
  absl::StatusOr<std::unique_ptr<const StreamMethods>> streams =
      StreamMethods::Compile(*engine->descriptors_, *engine->methods_);
  if (!streams.ok()) return streams.status();
  engine->streams_ = *std::move(streams);
  engine->stream_handler_ = std::make_unique<StreamHandler>(
      engine->descriptors_.get(), engine->streams_.get(), engine->chain_.get(),
      clock, config.limits.upstream);
  engine->reflection_ =
      std::make_unique<PoolReflectionSource>(engine->descriptors_->pool());
  engine->AddScrapeValues();
  spdlog::info(
      "route table loaded: {} operations and {} streams in {} services",
      engine->routes_->size(), engine->streams_->size(),
      engine->descriptors_->services().size());
  return engine;
}

UnaryCallHandler* GatewayEngine::handler() { return handler_.get(); }

StreamCallHandler* GatewayEngine::stream_handler() {
  return stream_handler_.get();
}

ReflectionSource* GatewayEngine::reflection() { return reflection_.get(); }

std::vector<std::string> GatewayEngine::service_names() const {
  std::vector<std::string> names;
  for (const auto* service : descriptors_->services())
    names.push_back(service->full_name());
  return names;
}

size_t GatewayEngine::route_count() const { return routes_->size(); }

void GatewayEngine::AddScrapeValues() {
  using Type = PrometheusMetrics::ValueType;
  PrometheusMetrics& m = *metrics_;
  CallsInFlight* in_flight = in_flight_.get();
  // Names are fixed and distinct: AddScrapeValue cannot fail here.
  m.AddScrapeValue("fgw_calls_in_flight",
                   "Formance calls being served (admitted, not answered).",
                   Type::kGauge, [in_flight] { return in_flight->current(); })
      .IgnoreError();
  m.AddScrapeValue("fgw_calls_in_flight_limit",
                   "limits.max_calls_in_flight: beyond it calls get "
                   "RESOURCE_EXHAUSTED.",
                   Type::kGauge, [in_flight] { return in_flight->max(); })
      .IgnoreError();
  if (auto* cpprest = dynamic_cast<CpprestTransport*>(transport_.get())) {
    m.AddScrapeValue("fgw_upstream_connections_open",
                     "Upstream HTTP connections in use (requests on the wire).",
                     Type::kGauge,
                     [cpprest] { return cpprest->connections_in_use(); })
        .IgnoreError();
    m.AddScrapeValue("fgw_upstream_connections_waiting",
                     "Upstream requests waiting for a connection slot "
                     "(limits.max_upstream_connections).",
                     Type::kGauge,
                     [cpprest] { return cpprest->connections_waiting(); })
        .IgnoreError();
  }
  if (auto* oauth = dynamic_cast<OAuth2TokenSource*>(tokens_.get())) {
    m.AddScrapeValue(
         "fgw_token_requests_total",
         "OAuth2 client-credentials token requests sent.", Type::kCounter,
         [oauth] { return static_cast<double>(oauth->token_requests()); })
        .IgnoreError();
    m.AddScrapeValue(
         "fgw_token_request_failures_total",
         "OAuth2 token requests that failed (unreachable, "
         "rejected, malformed answer).",
         Type::kCounter,
         [oauth] { return static_cast<double>(oauth->token_failures()); })
        .IgnoreError();
  }
}

absl::Status GatewayEngine::Ready() {
  if (routes_ == nullptr || routes_->size() == 0) {
    return absl::UnavailableError("route table not loaded");
  }
  if (tokens_ == nullptr ||
      readiness_->token_obtained.load(std::memory_order_acquire)) {
    return absl::OkStatus();
  }
  std::string why;
  {
    absl::MutexLock lock(&readiness_->mu);
    why = readiness_->last_error;
  }
  if (!readiness_->fetching.exchange(true)) {
    std::shared_ptr<Readiness> readiness = readiness_;
    tokens_->GetToken(
        {}, clock_->Now() + absl::Seconds(30),
        [readiness](absl::StatusOr<std::string> token) {
          if (token.ok()) {
            readiness->token_obtained.store(true, std::memory_order_release);
          } else {
            absl::MutexLock lock(&readiness->mu);
            // The token source's messages never hold a secret or a token.
            readiness->last_error = std::string(token.status().message());
          }
          readiness->fetching.store(false);
        });
    if (readiness_->token_obtained.load(std::memory_order_acquire)) {
      return absl::OkStatus();  // Answered inline (a cached or static token).
    }
  }
  return absl::UnavailableError(
      why.empty() ? "no access token obtained yet"
                  : absl::StrCat("no access token obtained yet (", why, ")"));
}

absl::Status GatewayEngine::ApplyReload(const GatewayConfig& config) {
  if (cache_ == nullptr && !config.cache.rules.empty()) {
    return absl::FailedPreconditionError(
        "cache.rules: the gateway started without a cache; restart to turn "
        "it on");
  }
  const int cached = methods_->ApplyCacheRules(config.cache);
  spdlog::info("reload: cache rules applied ({} methods cached)", cached);
  return absl::OkStatus();
}

PolicyStore* GatewayEngine::policy() { return policy_.get(); }

bool GatewayEngine::authenticates_callers() {
  return !policy_->current()->open();
}

void GatewayEngine::Shutdown() {
  // Stops background token refreshes and cancels token requests in flight; callers still
  // waiting for a token (none once the gRPC server has drained) get UNAVAILABLE.
  if (tokens_ != nullptr) tokens_->Shutdown();
  if (policy_ != nullptr)
    policy_->Shutdown();  // The callers' own token sources.
}

}  // namespace fgw
