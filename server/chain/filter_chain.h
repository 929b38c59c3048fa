// FilterChain: runs one upstream call through an ordered list of filters (filter.h) inside a
// call scope that owns the call's deadline and cancellation:
//
// - The caller's answer (`done`, a CallOutcome) is given exactly once, by whichever comes first:
//   the first filter's reply, the deadline (DEADLINE_EXCEEDED "deadline exceeded waiting for the
//   upstream"; "... before the upstream call" when it had already passed), or the caller's
//   Cancellation (CANCELLED "call cancelled"). Just before that answer the Exchange's
//   cancellation fires, so every filter still waiting (a backoff, a cache flight, a token, a
//   request on the wire) stops, and a filter's late answer is ignored.
// - The caller's Cancellation may be destroyed as soon as `done` has run: filters only ever
//   watch the Exchange's own cancellation.
//
// Lifetime: the filters, and what they use, must outlive every call; the clock runs the deadline
// timers. Thread safety: Call() may be called concurrently; `done` runs on a filter's, the
// clock's or the cancelling thread, or inline, and must not block.
#ifndef FGW_SERVER_CHAIN_FILTER_CHAIN_H_
#define FGW_SERVER_CHAIN_FILTER_CHAIN_H_

#include <functional>
#include <memory>
#include <vector>

#include "server/chain/exchange.h"
#include "server/chain/filter.h"
#include "server/util/clock.h"

namespace fgw {

class FilterChain {
 public:
  FilterChain(std::vector<std::unique_ptr<Filter>> filters, Clock* clock);
  FilterChain(const FilterChain&) = delete;
  FilterChain& operator=(const FilterChain&) = delete;

  // `spec` must outlive the call (method table entries live as long as the engine).
  void Call(const UpstreamCallSpec& spec, HttpRequest request,
            const CallContext& ctx, std::function<void(CallOutcome)> done);

  size_t size() const { return filters_.size(); }

 private:
  const std::vector<std::unique_ptr<Filter>> filters_;
  Clock* const clock_;
};

}  // namespace fgw

#endif  // FGW_SERVER_CHAIN_FILTER_CHAIN_H_
