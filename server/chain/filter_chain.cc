#include "server/chain/filter_chain.h"

#include <utility>

#include "absl/base/thread_annotations.h"
#include "absl/strings/cord.h"
#include "absl/synchronization/mutex.h"

namespace fgw {
namespace {
constexpr char kFinalPayload[] = "fgw/final-error";
}  // namespace

absl::Status FinalError(absl::Status status) {
  status.SetPayload(kFinalPayload, absl::Cord("1"));
  return status;
}

bool IsFinalError(const absl::Status& status) {
  return status.GetPayload(kFinalPayload).has_value();
}

void Next::operator()(const std::shared_ptr<Exchange>& x, HttpRequest request,
                      ReplyCallback done) const {
  if (index_ >= filters_->size()) {
    done(absl::InternalError("the filter chain ended without an answer"));
    return;
  }
  (*filters_)[index_]->Send(x, std::move(request), Next(filters_, index_ + 1),
                            std::move(done));
}

namespace {

// The call scope: answers the caller once, whoever comes first. It holds the call's Exchange,
// so one allocation carries both; the filters get an aliasing shared_ptr to the Exchange.
class CallScope {
 public:
  CallScope(const UpstreamCallSpec* spec, const CallContext& ctx, Clock* clock,
            std::function<void(CallOutcome)> done)
      : x_(spec, ctx.deadline, ctx.options, clock, ctx.caller),
        caller_cancellation_(ctx.cancellation),
        done_(std::move(done)) {}

  Exchange& exchange() { return x_; }

  // Records the timer and the caller-cancellation handle; false when already finished (then
  // the caller must drop them itself).
  bool Arm(Clock::TimerId timer, Cancellation::Handle handle) {
    absl::MutexLock lock(&mu_);
    if (finished_) return false;
    if (timer != 0) timer_ = timer;
    if (handle != 0) handle_ = handle;
    return true;
  }

  void Finish(Reply reply) {
    Clock::TimerId timer;
    Cancellation::Handle handle;
    {
      absl::MutexLock lock(&mu_);
      if (finished_) return;
      finished_ = true;
      timer = timer_;
      handle = handle_;
    }
    if (timer != 0) x_.clock()->Cancel(timer);
    if (caller_cancellation_ != nullptr && handle != 0) {
      caller_cancellation_->Remove(handle);
    }
    x_.cancellation()
        .Cancel();  // Filters still waiting stop; their answers are ignored.
    CallOutcome outcome;
    outcome.response = std::move(reply);
    outcome.attempts = x_.attempts();
    outcome.cache_hit = x_.cache_hit();
    outcome.idempotency_key = x_.idempotency_key();
    if (std::shared_ptr<const TraceContext> trace = x_.trace()) {
      outcome.trace_id = trace->trace_id;
    }
    outcome.caller = x_.caller_identity();
    std::function<void(CallOutcome)> done = std::move(done_);
    done(std::move(outcome));
  }

 private:
  Exchange x_;
  Cancellation* const caller_cancellation_;
  std::function<void(CallOutcome)> done_;  // Moved out by the one Finish().
  absl::Mutex mu_;
  bool finished_ ABSL_GUARDED_BY(mu_) = false;
  Clock::TimerId timer_ ABSL_GUARDED_BY(mu_) = 0;
  Cancellation::Handle handle_ ABSL_GUARDED_BY(mu_) = 0;
};

}  // namespace

FilterChain::FilterChain(std::vector<std::unique_ptr<Filter>> filters,
                         Clock* clock)
    : filters_(std::move(filters)), clock_(clock) {}

void FilterChain::Call(const UpstreamCallSpec& spec, HttpRequest request,
                       const CallContext& ctx,
                       std::function<void(CallOutcome)> done) {
  auto scope = std::make_shared<CallScope>(&spec, ctx, clock_, std::move(done));
  std::shared_ptr<Exchange> x(scope, &scope->exchange());
  if (!ctx.traceparent.empty() || !ctx.tracestate.empty()) {
    x->set_incoming_trace(ctx.traceparent, ctx.tracestate);
  }
  if (ctx.cancellation != nullptr) {
    Cancellation::Handle handle = ctx.cancellation->OnCancel(
        [scope] { scope->Finish(absl::CancelledError("call cancelled")); });
    if (!scope->Arm(0, handle)) {
      ctx.cancellation->Remove(handle);
      return;  // Already cancelled: answered inline.
    }
  }
  const absl::Time now = clock_->Now();
  if (now >= ctx.deadline) {
    scope->Finish(absl::DeadlineExceededError(
        "deadline exceeded before the upstream call"));
    return;
  }
  if (ctx.deadline != absl::InfiniteFuture()) {
    Clock::TimerId timer = clock_->RunAfter(ctx.deadline - now, [scope] {
      scope->Finish(absl::DeadlineExceededError(
          "deadline exceeded waiting for the upstream"));
    });
    if (!scope->Arm(timer, 0)) {
      clock_->Cancel(timer);
      return;
    }
  }
  Next(&filters_, 0)(x, std::move(request),
                     [scope](Reply reply) { scope->Finish(std::move(reply)); });
}

}  // namespace fgw
