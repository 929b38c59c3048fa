// Exchange: one upstream call as the filters of the chain see it (filter.h). FilterChain::Call
// creates it; every filter's pending work holds it (shared_ptr), so it outlives them all.
//
// What it holds:
// - the call's immutable facts: its UpstreamCallSpec (from the compiled method table), deadline,
//   per-call options (CallOptions), the caller's credential (checked by the admission filter)
//   and the clock;
// - cancellation(): fires once when the call is over for the caller (answered, deadline passed,
//   caller cancelled). A filter with pending work (a timer, a wait, a request on the wire)
//   registers on it and answers CANCELLED promptly; that answer is ignored.
// - caller_tokens(): the caller's own Formance credentials (policy: formance_client), set by the
//   admission filter before anything below it runs; null: the gateway's token source. The
//   admission filter keeps the source alive until the call's reply.
// - the outcome record the filters write and the chain reports (CallOutcome): attempts, whether
//   the cache answered, the idempotency key sent, the trace id;
// - the trace context: the caller's raw traceparent/tracestate (from CallContext) and the
//   validated or new TraceContext the observe filter sets, which the attempt filter reads.
//
// Thread safety: every method may be called from any thread.
#ifndef FGW_SERVER_CHAIN_EXCHANGE_H_
#define FGW_SERVER_CHAIN_EXCHANGE_H_

#include <atomic>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "server/auth/token_source.h"
#include "server/metrics/metrics.h"
#include "server/policy/caller_credential.h"
#include "server/upstream/http_message.h"
#include "server/upstream/transport.h"
#include "server/util/cancellation.h"
#include "server/util/clock.h"
#include "server/util/reloadable_duration.h"
#include "server/util/trace_context.h"

namespace fgw {

// What a method needs from the chain, compiled once per method (engine/method_table.h).
struct UpstreamCallSpec {
  std::string method;      // Full gRPC method, for cache keys and logs.
  bool read_only = false;  // GET/HEAD: cacheable, always safe to retry.
  bool accepts_idempotency_key =
      false;  // The gateway sends Idempotency-Key and may retry writes.
  bool needs_token = true;          // False for operations without security.
  std::vector<std::string> scopes;  // OAuth2 scopes of the operation.
  // > 0: cache 2xx responses of this read. A reload of the cache rules may change it while
  // calls read it (MethodTable::ApplyCacheRules).
  ReloadableDuration cache_ttl = absl::ZeroDuration();
  // This method's series (not owned; outlives the spec). Null: nothing recorded.
  MethodMetrics* metrics = nullptr;
};

// Per-call settings from the caller's metadata.
struct CallOptions {
  std::optional<int> max_attempts;  // Capped by retry.max_attempts.
  bool bypass_cache = false;
  // Not from metadata: a Stream rpc that takes the body as it arrives (transport.h BodySink).
  // The transport filter hands it to the transport, which keeps it until the request is over.
  std::shared_ptr<BodySink> body_sink;
};

// What the caller hands the chain besides the request.
struct CallContext {
  absl::Time deadline = absl::InfiniteFuture();
  Cancellation* cancellation = nullptr;  // The caller's; may be null.
  CallOptions options;
  // The caller's W3C trace context metadata, raw (the observe filter validates it).
  std::string traceparent;
  std::string tracestate;
  // What the caller presented (server/grpc extracts it); the admission filter identifies the
  // caller from it and applies the policy. Holds a secret (the API key): never logged.
  CallerCredential caller;
};

struct CallOutcome {
  // Any HTTP status is OK here; errors are admission, transport, token, deadline, cancel.
  absl::StatusOr<HttpResponse> response;
  int attempts = 0;
  bool cache_hit = false;
  std::string idempotency_key;  // The key sent, if any.
  std::string trace_id;  // The call's trace, when the observe filter ran.
  std::string
      caller;  // The caller the policy identified; empty for an open policy.
};

class Exchange {
 public:
  Exchange(const UpstreamCallSpec* spec, absl::Time deadline,
           CallOptions options, Clock* clock, CallerCredential caller = {})
      : spec_(spec),
        deadline_(deadline),
        options_(options),
        clock_(clock),
        caller_(std::move(caller)) {}
  Exchange(const Exchange&) = delete;
  Exchange& operator=(const Exchange&) = delete;

  const UpstreamCallSpec& spec() const { return *spec_; }
  absl::Time deadline() const { return deadline_; }
  const CallOptions& options() const { return options_; }
  const CallerCredential& caller() const { return caller_; }
  void set_caller_tokens(TokenSource* tokens) {
    caller_tokens_.store(tokens, std::memory_order_release);
  }
  TokenSource* caller_tokens() const {
    return caller_tokens_.load(std::memory_order_acquire);
  }
  Clock* clock() const { return clock_; }
  Cancellation& cancellation() { return cancellation_; }
  bool over() const { return cancellation_.IsCancelled(); }

  void CountAttempt() { attempts_.fetch_add(1, std::memory_order_relaxed); }
  int attempts() const { return attempts_.load(std::memory_order_relaxed); }
  void MarkCacheHit() { cache_hit_.store(true, std::memory_order_relaxed); }
  bool cache_hit() const { return cache_hit_.load(std::memory_order_relaxed); }
  void set_idempotency_key(std::string key) {
    absl::MutexLock lock(&mu_);
    idempotency_key_ = std::move(key);
  }
  std::string idempotency_key() {
    absl::MutexLock lock(&mu_);
    return idempotency_key_;
  }
  // The identity the admission filter established (a policy caller name, never a secret).
  void set_caller_identity(std::string identity) {
    absl::MutexLock lock(&mu_);
    caller_identity_ = std::move(identity);
  }
  std::string caller_identity() {
    absl::MutexLock lock(&mu_);
    return caller_identity_;
  }
  void set_incoming_trace(std::string traceparent, std::string tracestate) {
    absl::MutexLock lock(&mu_);
    incoming_traceparent_ = std::move(traceparent);
    incoming_tracestate_ = std::move(tracestate);
  }
  std::pair<std::string, std::string> incoming_trace() {
    absl::MutexLock lock(&mu_);
    return {incoming_traceparent_, incoming_tracestate_};
  }
  void set_trace(TraceContext trace) {
    auto shared = std::make_shared<const TraceContext>(std::move(trace));
    absl::MutexLock lock(&mu_);
    trace_ = std::move(shared);
  }
  // Null until the observe filter has run.
  std::shared_ptr<const TraceContext> trace() {
    absl::MutexLock lock(&mu_);
    return trace_;
  }

 private:
  const UpstreamCallSpec* const spec_;  // Immutable; outlives the call.
  const absl::Time deadline_;
  const CallOptions options_;
  Clock* const clock_;
  const CallerCredential caller_;
  Cancellation cancellation_;  // Thread-safe itself.
  std::atomic<TokenSource*> caller_tokens_{nullptr};
  std::atomic<int> attempts_{0};
  std::atomic<bool> cache_hit_{false};
  absl::Mutex mu_;
  std::string idempotency_key_ ABSL_GUARDED_BY(mu_);
  std::string caller_identity_ ABSL_GUARDED_BY(mu_);
  std::string incoming_traceparent_ ABSL_GUARDED_BY(mu_);
  std::string incoming_tracestate_ ABSL_GUARDED_BY(mu_);
  std::shared_ptr<const TraceContext> trace_ ABSL_GUARDED_BY(mu_);
};

}  // namespace fgw

#endif  // FGW_SERVER_CHAIN_EXCHANGE_H_
