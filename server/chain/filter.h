// Filter: one concern on the way from a transcoded REST request to Formance, behind one small
// interface (Envoy's filter chain is the model). The chain, in the order it runs:
//
//   admission (caller policy, calls in flight) -> observe (trace context) -> cache (hit,
//   singleflight, invalidation) -> retry (attempts, backoff, budget, idempotency key) ->
//   credentials (token, 401 replay) -> attempt (traceparent per attempt, upstream metrics) ->
//   transport
//
// (assembled in upstream_chain.cc, one line per filter).
//
// Contract of Send():
// - `done` runs exactly once, inline or later on any thread, and must not block; a filter never
//   holds a lock while it calls `next` or `done`.
// - A filter passes the request on by calling `next(x, request, done_for_next)` zero, one or
//   several times (the retry filter calls it once per attempt); the last filter answers itself.
// - Any HTTP status is an OK reply; errors are absl::Status (transport.h codes, plus what each
//   filter documents).
// - When x->cancellation() fires, a filter with pending work answers CANCELLED promptly and
//   starts nothing new; the chain has already answered the caller.
// - Per-call state lives in objects the filter creates for the call (and its callbacks hold),
//   never in fields of the filter shared by all calls, except thread-safe components (cache,
//   budget, token source, transport) the filter is given.
//
// Thread safety: Send() is called concurrently for different calls.
#ifndef FGW_SERVER_CHAIN_FILTER_H_
#define FGW_SERVER_CHAIN_FILTER_H_

#include <cstddef>
#include <memory>
#include <vector>

#include "absl/functional/any_invocable.h"
#include "absl/status/statusor.h"
#include "server/chain/exchange.h"
#include "server/upstream/http_message.h"

namespace fgw {

using Reply = absl::StatusOr<HttpResponse>;
// Move-only: a callback that captures no more than a shared_ptr is stored without allocating.
using ReplyCallback = absl::AnyInvocable<void(Reply)>;

class Filter;

// Marks an error a filter below the retry filter raised itself, which no retry can mend (a token
// the token source could not get: it already backs off on its own). The retry filter answers
// with it at once.
absl::Status FinalError(absl::Status status);
bool IsFinalError(const absl::Status& status);

// The rest of the chain after a filter. Cheap to copy.
class Next {
 public:
  Next(const std::vector<std::unique_ptr<Filter>>* filters, size_t index)
      : filters_(filters), index_(index) {}
  // Runs the next filter; INTERNAL when there is none (a chain must end in one that answers).
  void operator()(const std::shared_ptr<Exchange>& x, HttpRequest request,
                  ReplyCallback done) const;

 private:
  const std::vector<std::unique_ptr<Filter>>* filters_;
  size_t index_;
};

class Filter {
 public:
  virtual ~Filter() = default;
  virtual void Send(const std::shared_ptr<Exchange>& x, HttpRequest request,
                    const Next& next, ReplyCallback done) = 0;
};

}  // namespace fgw

#endif  // FGW_SERVER_CHAIN_FILTER_H_
