// GatewayEngine: owns everything behind the gRPC server: the Formance API descriptors, the
// route table built from their google.api.http rules, the method table compiled from it, the
// upstream transport, the token source, the response cache, the calls-in-flight limit, the
// caller policy (policy_store.h, compiled against the served methods) and the upstream filter
// chain; exposes them as the UnaryCallHandler the generic gRPC service calls, the
// StreamCallHandler of the Stream rpcs and the ReflectionSource server reflection reads.
//
// Metrics: the engine owns the PrometheusMetrics every component records into (metrics());
// besides the per-call series it exposes, read at scrape time: fgw_calls_in_flight,
// fgw_calls_in_flight_limit, fgw_upstream_connections_open, fgw_upstream_connections_waiting
// (the cpprestsdk transport), fgw_token_requests_total, fgw_token_request_failures_total
// (client credentials).
//
// Readiness (Ready(), for /readyz and the admin listener's "readiness" health): the route table
// is loaded (always, once Create() succeeded) and, when the gateway gets tokens (client
// credentials or a static token), one token has been obtained. Until then each Ready() call
// that finds no token request of its own in flight starts one (scopes: none), so a probe, not a
// timer, drives it; the token source's failure backoff bounds how often the endpoint is asked.
//
// Reload (ApplyReload): what can change while calls run: the cache rules' TTLs (when the
// gateway started with a cache; turning the cache on needs a restart). Everything else in the
// config is read once at Create().
//
// Shutdown() stops background work (token refreshes, token requests in flight) so the process
// can exit in order; it is idempotent and the destructor runs it too.
//
// Thread safety: after Create() every accessor may be called from any thread. Shutdown() is
// called after the gRPC server has drained.
#ifndef FGW_SERVER_ENGINE_GATEWAY_ENGINE_H_
#define FGW_SERVER_ENGINE_GATEWAY_ENGINE_H_

#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "server/config/gateway_config.h"
#include "server/grpc/call_handler.h"
#include "server/grpc/reflection_service.h"
#include "server/grpc/stream_call_handler.h"
#include "server/metrics/prometheus_metrics.h"
#include "server/upstream/transport.h"
#include "server/util/clock.h"
#include "server/util/random.h"

namespace fgw {

class ApiDescriptors;
class RouteTable;
class TokenSource;
class CredentialsSource;
class ResponseCache;
class CallsInFlight;
class PolicyStore;
class MethodTable;
class UpstreamChain;
class TranscodingHandler;
class PoolReflectionSource;
class StreamMethods;
class StreamHandler;

class GatewayEngine {
 public:
  // What tests may replace. Null members get the production implementation.
  struct Overrides {
    std::unique_ptr<Transport> transport;
    // The token endpoint's transport when it is not the upstream's (not owned).
    Transport* token_transport = nullptr;
    Clock* clock = nullptr;
    Random* random = nullptr;
  };

  static absl::StatusOr<std::unique_ptr<GatewayEngine>> Create(
      const GatewayConfig& config);
  static absl::StatusOr<std::unique_ptr<GatewayEngine>> Create(
      const GatewayConfig& config, Overrides overrides);
  ~GatewayEngine();

  UnaryCallHandler* handler();
  // The Stream rpcs beside the paginated lists (stream_handler.h).
  StreamCallHandler* stream_handler();
  ReflectionSource* reflection();
  // Fully qualified names of the Formance services ("formance.ledger.v2.LedgerService").
  std::vector<std::string> service_names() const;
  size_t route_count() const;
  PrometheusMetrics* metrics() { return metrics_.get(); }
  absl::Status Ready();
  // Applies what a reloaded (already validated) config may change; errors name the key and
  // leave everything as it was.
  absl::Status ApplyReload(const GatewayConfig& config);
  // The caller policy. Its Reload() re-reads the policy and API-key files (the SIGHUP handler
  // calls it); they are also reloaded when they change.
  PolicyStore* policy();
  // The policy in force has callers (so calls are authenticated).
  bool authenticates_callers();
  void Shutdown();

 private:
  struct Readiness;
  GatewayEngine();
  void AddScrapeValues();

  // First: every component below records into it, so it is destroyed last.
  std::unique_ptr<PrometheusMetrics> metrics_;
  std::shared_ptr<Readiness> readiness_;
  Clock* clock_ = nullptr;
  std::unique_ptr<ApiDescriptors> descriptors_;
  std::unique_ptr<RouteTable> routes_;
  std::unique_ptr<Transport> transport_;
  std::unique_ptr<Transport> token_transport_;
  // The token endpoint's transport for callers' own Formance clients, when it is not the
  // upstream's; made on first use (policy reloads).
  std::unique_ptr<Transport> caller_token_transport_;
  std::unique_ptr<CredentialsSource> credentials_;
  std::unique_ptr<TokenSource> tokens_;
  std::unique_ptr<ResponseCache> cache_;
  std::unique_ptr<const MethodTable> methods_;
  std::unique_ptr<CallsInFlight> in_flight_;
  std::unique_ptr<PolicyStore> policy_;
  std::unique_ptr<UpstreamChain> chain_;
  std::unique_ptr<TranscodingHandler> handler_;
  std::unique_ptr<PoolReflectionSource> reflection_;
  std::unique_ptr<const StreamMethods> streams_;
  std::unique_ptr<StreamHandler> stream_handler_;
};

}  // namespace fgw

#endif  // FGW_SERVER_ENGINE_GATEWAY_ENGINE_H_
