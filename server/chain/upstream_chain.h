// UpstreamChain: the gateway's filter chain, assembled in one place (one line per filter in
// upstream_chain.cc), in the order a call meets them:
//
//   AdmissionFilter   caller policy, calls in flight         (admission_filter.h)
//   ObserveFilter     the call's trace context               (observe_filter.h)
//   CacheFilter       hits, singleflight, write invalidation (cache_filter.h)
//   RetryFilter       idempotency key, attempts, backoff     (retry_filter.h)
//   CredentialsFilter bearer token, 401 replay               (credentials_filter.h)
//   AttemptFilter     traceparent per attempt, upstream metrics (attempt_filter.h)
//   TransportFilter   the HTTP request                       (transport_filter.h)
//
// inside FilterChain's call scope (deadline, cancellation: filter_chain.h). Adding a concern is
// adding a filter and one line in the assembly.
//
// Semantics of Call(): as each filter documents; in short, `done` gets a CallOutcome whose
// response is OK for any HTTP status, and whose errors are admission (UNAUTHENTICATED,
// PERMISSION_DENIED, RESOURCE_EXHAUSTED),
// transport, token, deadline or cancellation statuses; attempts, cache_hit and the idempotency
// key sent are recorded.
//
// Thread safety: Call() may be called concurrently. The transport, token source, cache, limit,
// policy, clock, random and metrics (tokens and cache may be null; a null limit or policy
// admits everything; null metrics record nothing) are not owned and must outlive every call.
#ifndef FGW_SERVER_CHAIN_UPSTREAM_CHAIN_H_
#define FGW_SERVER_CHAIN_UPSTREAM_CHAIN_H_

#include <functional>
#include <memory>

#include "absl/time/time.h"
#include "server/admission/calls_in_flight.h"
#include "server/auth/token_source.h"
#include "server/cache/response_cache.h"
#include "server/chain/exchange.h"
#include "server/chain/filter_chain.h"
#include "server/metrics/metrics.h"
#include "server/policy/policy_store.h"
#include "server/retry/retry_budget.h"
#include "server/retry/retry_policy.h"
#include "server/upstream/transport.h"
#include "server/util/clock.h"
#include "server/util/random.h"

namespace fgw {

struct UpstreamChainOptions {
  RetryOptions retry;         // From RetryConfig.
  RetryBudgetOptions budget;  // From RetryConfig.
  // Per attempt, never past the call's deadline. The engine sets it from
  // UpstreamConfig::request_timeout (whose default is the transport's); unbounded here.
  absl::Duration attempt_timeout = absl::InfiniteDuration();
};

class RetryFilter;

class UpstreamChain {
 public:
  using Options = UpstreamChainOptions;

  UpstreamChain(Options options, Transport* transport, TokenSource* tokens,
                ResponseCache* cache, CallsInFlight* limit, Clock* clock,
                Random* random, PolicyStore* policy = nullptr,
                Metrics* metrics = nullptr);
  ~UpstreamChain();

  void Call(const UpstreamCallSpec& spec, HttpRequest request,
            const CallContext& ctx, std::function<void(CallOutcome)> done) {
    chain_->Call(spec, std::move(request), ctx, std::move(done));
  }

  RetryBudget& budget();

 private:
  RetryFilter* retry_ = nullptr;  // Owned by chain_.
  std::unique_ptr<FilterChain> chain_;
};

}  // namespace fgw

#endif  // FGW_SERVER_CHAIN_UPSTREAM_CHAIN_H_
