#include "server/chain/retry_filter.h"

#include <algorithm>
#include <memory>
#include <string>
#include <utility>

#include "absl/base/thread_annotations.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "server/retry/idempotency_key.h"
#include "server/upstream/transport.h"
#include "spdlog/spdlog.h"

namespace fgw {

RetryVerdict Classify(const Reply& reply, bool retry_safe, absl::Time now,
                      absl::Time deadline) {
  RetryVerdict verdict;
  if (reply.ok()) {
    if (retry_safe && IsRetryableStatus(reply->status)) {
      verdict.decision = RetryDecision::kRetry;
      if (const std::string* value =
              FindHeader(reply->headers, "Retry-After")) {
        verdict.retry_after = ParseRetryAfter(*value, now);
      }
    }
    return verdict;
  }
  const absl::StatusCode code = reply.status().code();
  if (code == absl::StatusCode::kCancelled || IsFinalError(reply.status())) {
    return verdict;
  }
  if (code == absl::StatusCode::kDeadlineExceeded && now >= deadline) {
    return verdict;  // The call's own deadline, not one attempt's.
  }
  const bool connection_failure = code == absl::StatusCode::kUnavailable ||
                                  code == absl::StatusCode::kDeadlineExceeded;
  if (!connection_failure)
    return verdict;  // INTERNAL and the like: not transient.
  if (retry_safe || !RequestMayHaveReachedServer(reply.status())) {
    verdict.decision = RetryDecision::kRetry;
  } else {
    verdict.decision = RetryDecision::kMayHaveApplied;
  }
  return verdict;
}

RetryReason RetryReasonOf(const Reply& reply) {
  if (reply.ok()) {
    switch (reply->status) {
      case 429:
        return RetryReason::kHttp429;
      case 502:
        return RetryReason::kHttp502;
      case 503:
        return RetryReason::kHttp503;
      case 504:
        return RetryReason::kHttp504;
      default:
        return RetryReason::kOtherStatus;
    }
  }
  return reply.status().code() == absl::StatusCode::kDeadlineExceeded
             ? RetryReason::kAttemptTimeout
             : RetryReason::kUnavailable;
}

namespace {

// The attempts of one call. One attempt is in flight at a time; `mu_` guards what the
// cancellation callback and the attempt/timer callbacks share.
class Attempts : public std::enable_shared_from_this<Attempts> {
 public:
  Attempts(RetryFilter* filter, std::shared_ptr<Exchange> x,
           HttpRequest request, Next next, ReplyCallback done, bool retry_safe,
           int max_attempts)
      : filter_(filter),
        x_(std::move(x)),
        request_(std::move(request)),
        next_(next),
        retry_safe_(retry_safe),
        max_attempts_(max_attempts),
        done_(std::move(done)) {}

  void Start() {
    auto self = shared_from_this();
    Cancellation::Handle handle = x_->cancellation().OnCancel(
        [self] { self->Answer(absl::CancelledError("call cancelled")); });
    {
      absl::MutexLock lock(&mu_);
      cancel_handle_ = handle;
    }
    filter_->budget().OnFirstAttempt();
    Attempt();
  }

 private:
  void Attempt() {
    {
      absl::MutexLock lock(&mu_);
      if (answered_) return;
      backoff_timer_ = 0;
    }
    if (filter_->clock()->Now() >= x_->deadline()) {
      Answer(absl::DeadlineExceededError(
          "deadline exceeded before the next attempt"));
      return;
    }
    {
      absl::MutexLock lock(&mu_);
      ++sent_;
    }
    x_->CountAttempt();
    auto self = shared_from_this();
    next_(x_, request_,
          [self](Reply reply) { self->OnReply(std::move(reply)); });
  }

  void OnReply(Reply reply) {
    const absl::Time now = filter_->clock()->Now();
    RetryVerdict verdict = Classify(reply, retry_safe_, now, x_->deadline());
    switch (verdict.decision) {
      case RetryDecision::kAnswer:
        Answer(std::move(reply));
        return;
      case RetryDecision::kMayHaveApplied:
        Answer(absl::Status(
            reply.status().code(),
            absl::StrCat("upstream failed after the request was sent (",
                         reply.status().message(), "); ",
                         kMayHaveBeenAppliedMessage)));
        return;
      case RetryDecision::kRetry:
        MaybeRetry(std::move(reply), verdict.retry_after, now);
        return;
    }
  }

  void MaybeRetry(Reply last, std::optional<absl::Duration> retry_after,
                  absl::Time now) {
    int sent;
    {
      absl::MutexLock lock(&mu_);
      if (answered_) return;
      sent = sent_;
    }
    std::optional<absl::Duration> delay = filter_->policy().NextDelay(
        sent, max_attempts_, now, x_->deadline(), retry_after);
    if (!delay.has_value()) {
      Answer(std::move(last));
      return;
    }
    if (!filter_->budget().TryAcquireRetry()) {
      filter_->metrics()->RetryBudgetExhausted();
      spdlog::debug("upstream {}: retry budget exhausted after attempt {}",
                    x_->spec().method, sent);
      Answer(std::move(last));
      return;
    }
    filter_->metrics()->Retry(RetryReasonOf(last));
    spdlog::debug(
        "upstream {}: attempt {} failed ({}); retrying in {}",
        x_->spec().method, sent,
        last.ok() ? absl::StrCat("HTTP ", last->status)
                  : std::string(absl::StatusCodeToString(last.status().code())),
        absl::FormatDuration(*delay));
    auto self = shared_from_this();
    absl::MutexLock lock(&mu_);
    if (answered_) return;
    // RunAfter never runs the callback inline, so holding the lock here is safe.
    backoff_timer_ =
        filter_->clock()->RunAfter(*delay, [self] { self->Attempt(); });
  }

  void Answer(Reply reply) {
    Clock::TimerId timer;
    Cancellation::Handle handle;
    {
      absl::MutexLock lock(&mu_);
      if (answered_) return;
      answered_ = true;
      timer = backoff_timer_;
      handle = cancel_handle_;
    }
    if (timer != 0) filter_->clock()->Cancel(timer);
    if (handle != 0) x_->cancellation().Remove(handle);
    ReplyCallback done = std::move(done_);
    done(std::move(reply));
  }

  RetryFilter* const filter_;
  const std::shared_ptr<Exchange> x_;
  const HttpRequest request_;  // Each attempt sends a copy.
  const Next next_;
  const bool retry_safe_;
  const int max_attempts_;
  ReplyCallback done_;  // Moved out by the one Answer().
  absl::Mutex mu_;
  bool answered_ ABSL_GUARDED_BY(mu_) = false;
  int sent_ ABSL_GUARDED_BY(mu_) = 0;
  Clock::TimerId backoff_timer_ ABSL_GUARDED_BY(mu_) = 0;
  Cancellation::Handle cancel_handle_ ABSL_GUARDED_BY(mu_) = 0;
};

}  // namespace

RetryFilter::RetryFilter(RetryOptions options, RetryBudgetOptions budget,
                         Clock* clock, Random* random, Metrics* metrics)
    : clock_(clock),
      random_(random),
      metrics_(metrics != nullptr ? metrics : NoMetrics()),
      policy_(options, random),
      budget_(budget, clock) {}

void RetryFilter::Send(const std::shared_ptr<Exchange>& x, HttpRequest request,
                       const Next& next, ReplyCallback done) {
  std::string key;
  if (const std::string* given =
          FindHeader(request.headers, kIdempotencyKeyHeader)) {
    key = *given;  // The caller's: kept as is.
  } else if (x->spec().accepts_idempotency_key) {
    key = GenerateIdempotencyKey(*random_);
    SetHeader(request.headers, kIdempotencyKeyHeader, key);
  }
  const bool retry_safe = x->spec().read_only ||
                          (x->spec().accepts_idempotency_key && !key.empty());
  if (!key.empty()) x->set_idempotency_key(std::move(key));
  const int cap = policy_.options().max_attempts;
  const int max_attempts =
      std::max(1, std::min(x->options().max_attempts.value_or(cap), cap));
  std::make_shared<Attempts>(this, x, std::move(request), next, std::move(done),
                             retry_safe, max_attempts)
      ->Start();
}

}  // namespace fgw
