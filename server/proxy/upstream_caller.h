// UpstreamCaller: the pipeline from one transcoded REST request to its upstream response:
//   cache -> retry + idempotency -> token -> transport.
//
// Semantics of Call():
// - Cache: a read_only call with cache_ttl > 0 (and a cache, and !bypass_cache) looks up
//   ResponseCache: a hit answers at once (cache_hit, attempts 0); an identical call in flight is
//   joined (singleflight) and its result shared; otherwise this call leads and its 2xx result is
//   stored. A successful (2xx) write invalidates the cache scope of its path.
// - Idempotency-Key: a key already in request.headers (the caller's) is kept; else, when
//   spec.accepts_idempotency_key, one is generated (UUIDv4). The same key goes on every attempt.
// - Retries: a read_only call, or a write that accepts an Idempotency-Key, is retried on
//   UNAVAILABLE from the transport, an attempt timeout, and HTTP 429, 502, 503, 504. Any other
//   write is retried ONLY when the transport says the request never reached the server
//   (!RequestMayHaveReachedServer); when it may have, the call ends with UNAVAILABLE "... the
//   request may have been applied; check before retrying" (DEADLINE_EXCEEDED for an attempt
//   timeout, same message). HTTP responses (503 included) are never retried for such writes.
//   Backoff is RetryPolicy's (full jitter, Retry-After, never past the deadline), waited on a
//   Clock timer (no thread blocks); each retry takes a RetryBudget token; max attempts is
//   ctx.max_attempts capped by options.retry.max_attempts.
// - Deadline: each attempt's transport deadline is min(ctx.deadline, now + attempt_timeout); no
//   attempt starts after ctx.deadline; at ctx.deadline the call ends with DEADLINE_EXCEEDED
//   whatever it is waiting for.
// - Cancellation: ctx.cancellation ends the call with CANCELLED at once and aborts the in-flight
//   attempt (the transport gets the same Cancellation).
// - Tokens: when spec.needs_token and a TokenSource is set, each attempt gets a token for
//   spec.scopes and sends "Authorization: Bearer <token>" on its own copy of the request (never
//   logged). A token error ends the call with the TokenSource's status. An HTTP 401 with a token:
//   that token is invalidated, a new one fetched, and the request replayed once (a 401 means not
//   applied; the replay does not count against max_attempts).
// - Outcome: `response` is OK for any HTTP status; errors are transport/token/deadline/cancel.
//
// Threading: `done` runs exactly once, on a transport, clock or cancelling thread, or inline
// (cache hit, immediate failure); it must not block. Call() may be called concurrently. The
// transport, token source, cache, clock and random must outlive every call; ctx.cancellation
// must outlive the call.
#ifndef FGW_SERVER_PROXY_UPSTREAM_CALLER_H_
#define FGW_SERVER_PROXY_UPSTREAM_CALLER_H_

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "server/auth/token_source.h"
#include "server/cache/response_cache.h"
#include "server/retry/retry_budget.h"
#include "server/retry/retry_policy.h"
#include "server/upstream/http_message.h"
#include "server/upstream/transport.h"
#include "server/util/cancellation.h"
#include "server/util/clock.h"
#include "server/util/random.h"

namespace fgw {

struct UpstreamCallSpec {
  std::string method;      // Full gRPC method, for cache rules and logs.
  bool read_only = false;  // GET/HEAD: cacheable, always safe to retry.
  bool accepts_idempotency_key =
      false;  // The gateway sends Idempotency-Key and may retry writes.
  bool needs_token = true;          // False for operations without security.
  std::vector<std::string> scopes;  // OAuth2 scopes of the operation.
  absl::Duration cache_ttl =
      absl::ZeroDuration();  // > 0: cache 2xx responses of this read.
};

struct CallContext {
  absl::Time deadline = absl::InfiniteFuture();
  Cancellation* cancellation = nullptr;
  std::optional<int>
      max_attempts;  // Per-call override from request metadata (capped by config).
  bool bypass_cache = false;
};

struct CallOutcome {
  absl::StatusOr<HttpResponse>
      response;  // Any HTTP status is OK here; errors are
                 // transport/token/deadline.
  int attempts = 0;
  bool cache_hit = false;
  std::string idempotency_key;  // The key sent, if any.
};

struct UpstreamCallerOptions {
  RetryOptions retry;         // From RetryConfig.
  RetryBudgetOptions budget;  // From RetryConfig.
  absl::Duration attempt_timeout =
      absl::Seconds(30);  // UpstreamConfig::request_timeout.
};

inline constexpr char kMayHaveBeenAppliedMessage[] =
    "the request may have been applied; check before retrying";

class UpstreamCaller {
 public:
  using Options = UpstreamCallerOptions;

  // `tokens` may be null (no auth); `cache` may be null (no caching). None are owned.
  UpstreamCaller(Options options, Transport* transport, TokenSource* tokens,
                 ResponseCache* cache, Clock* clock, Random* random);
  ~UpstreamCaller();

  void Call(const UpstreamCallSpec& spec, HttpRequest request,
            const CallContext& ctx, std::function<void(CallOutcome)> done);

  RetryBudget& budget() { return budget_; }

 private:
  struct CallState;
  friend struct CallState;

  const Options options_;
  Transport* const transport_;
  TokenSource* const tokens_;
  ResponseCache* const cache_;
  Clock* const clock_;
  Random* const random_;
  RetryPolicy policy_;
  RetryBudget budget_;
};

}  // namespace fgw

#endif  // FGW_SERVER_PROXY_UPSTREAM_CALLER_H_
