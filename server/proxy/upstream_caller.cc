#include "server/proxy/upstream_caller.h"

#include <algorithm>
#include <utility>

#include "absl/base/thread_annotations.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "server/retry/idempotency_key.h"
#include "spdlog/spdlog.h"

namespace fgw {

using Result = absl::StatusOr<HttpResponse>;

// The state of one Call(), shared by the callbacks it schedules. Every path ends in Finish(),
// which runs once.
struct UpstreamCaller::CallState : std::enable_shared_from_this<CallState> {
  enum class CacheRole { kNone, kLeader, kFollower };

  UpstreamCaller* caller;
  UpstreamCallSpec spec;
  HttpRequest request;
  CallContext ctx;
  std::function<void(CallOutcome)> done;
  std::string idempotency_key;
  bool retry_safe = false;
  int max_attempts = 1;
  std::string cache_key;

  absl::Mutex mu;
  bool finished ABSL_GUARDED_BY(mu) = false;
  int attempts ABSL_GUARDED_BY(mu) = 0;
  int replays ABSL_GUARDED_BY(mu) =
      0;  // 401 replays, not counted against max_attempts.
  CacheRole cache_role ABSL_GUARDED_BY(mu) = CacheRole::kNone;
  uint64_t follower_id ABSL_GUARDED_BY(mu) = 0;
  Clock::TimerId deadline_timer ABSL_GUARDED_BY(mu) = 0;
  Clock::TimerId backoff_timer ABSL_GUARDED_BY(mu) = 0;
  Cancellation::Handle cancel_handle ABSL_GUARDED_BY(mu) = 0;
  // What the transport watches, instead of the caller's Cancellation: this call state outlives
  // every attempt (their callbacks hold it), while the caller's may be destroyed as soon as
  // `done` has run (the gRPC reactor goes away on a deadline). Cancelled by Finish().
  Cancellation attempts_cancellation;

  bool IsFinished() {
    absl::MutexLock lock(&mu);
    return finished;
  }

  void Start();
  void StartAttempt();
  void SendAttempt(std::string token);
  void OnAttemptDone(const std::string& token, Result result);
  void MaybeRetry(Result last, std::optional<absl::Duration> retry_after);
  void Finish(Result result, bool cache_hit = false);
};

UpstreamCaller::UpstreamCaller(Options options, Transport* transport,
                               TokenSource* tokens, ResponseCache* cache,
                               Clock* clock, Random* random)
    : options_(options),
      transport_(transport),
      tokens_(tokens),
      cache_(cache),
      clock_(clock),
      random_(random),
      policy_(options.retry, random),
      budget_(options.budget, clock) {}

UpstreamCaller::~UpstreamCaller() = default;

void UpstreamCaller::Call(const UpstreamCallSpec& spec, HttpRequest request,
                          const CallContext& ctx,
                          std::function<void(CallOutcome)> done) {
  auto state = std::make_shared<CallState>();
  state->caller = this;
  state->spec = spec;
  state->request = std::move(request);
  state->ctx = ctx;
  state->done = std::move(done);
  state->max_attempts = std::max(
      1, std::min(ctx.max_attempts.value_or(options_.retry.max_attempts),
                  options_.retry.max_attempts));
  if (const std::string* key =
          FindHeader(state->request.headers, kIdempotencyKeyHeader)) {
    state->idempotency_key = *key;  // The caller's: kept as is.
  } else if (spec.accepts_idempotency_key) {
    state->idempotency_key = GenerateIdempotencyKey(*random_);
    SetHeader(state->request.headers, kIdempotencyKeyHeader,
              state->idempotency_key);
  }
  state->retry_safe = spec.read_only || (spec.accepts_idempotency_key &&
                                         !state->idempotency_key.empty());
  state->Start();
}

void UpstreamCaller::CallState::Start() {
  auto self = shared_from_this();
  Clock* clock = caller->clock_;
  if (ctx.cancellation != nullptr) {
    Cancellation::Handle handle = ctx.cancellation->OnCancel(
        [self] { self->Finish(absl::CancelledError("call cancelled")); });
    absl::MutexLock lock(&mu);
    cancel_handle = handle;
  }
  if (IsFinished()) return;  // Already cancelled.
  const absl::Time now = clock->Now();
  if (now >= ctx.deadline) {
    Finish(absl::DeadlineExceededError(
        "deadline exceeded before the upstream call"));
    return;
  }
  if (ctx.deadline != absl::InfiniteFuture()) {
    Clock::TimerId timer = clock->RunAfter(ctx.deadline - now, [self] {
      self->Finish(absl::DeadlineExceededError(
          "deadline exceeded waiting for the upstream"));
    });
    absl::MutexLock lock(&mu);
    if (finished) {
      clock->Cancel(timer);
      return;
    }
    deadline_timer = timer;
  }

  ResponseCache* cache = caller->cache_;
  if (cache != nullptr && spec.read_only &&
      spec.cache_ttl > absl::ZeroDuration() && !ctx.bypass_cache) {
    std::string identity = (spec.needs_token && caller->tokens_ != nullptr)
                               ? caller->tokens_->Identity()
                               : "";
    cache_key = ResponseCache::MakeKey(identity, spec.method, request);
    {
      // Role set before the lookup: a follower callback may run as soon as we join.
      absl::MutexLock lock(&mu);
      cache_role = CacheRole::kFollower;
    }
    ResponseCache::Lookup lookup = cache->LookupOrJoin(
        cache_key, request.path_and_query,
        [self](std::optional<Result> shared) {
          {
            absl::MutexLock lock(&self->mu);
            if (self->finished) return;
            self->cache_role = CacheRole::kNone;
          }
          if (!shared.has_value()) {
            self->StartAttempt();  // The leader gave up: call upstream ourselves.
          } else {
            self->Finish(std::move(*shared));
          }
        });
    switch (lookup.kind) {
      case ResponseCache::Lookup::Kind::kHit: {
        {
          absl::MutexLock lock(&mu);
          cache_role = CacheRole::kNone;
        }
        Finish(std::move(lookup.response), /*cache_hit=*/true);
        return;
      }
      case ResponseCache::Lookup::Kind::kFollower: {
        bool done_already;
        {
          absl::MutexLock lock(&mu);
          follower_id = lookup.follower_id;
          done_already = finished;
        }
        // Finished meanwhile (cancelled, deadline): leave the flight.
        if (done_already) cache->Leave(cache_key, lookup.follower_id);
        return;
      }
      case ResponseCache::Lookup::Kind::kLeader: {
        bool done_already;
        {
          absl::MutexLock lock(&mu);
          cache_role = CacheRole::kLeader;
          done_already = finished;
        }
        if (done_already) {
          cache->Abandon(cache_key);
          return;
        }
        break;
      }
    }
  }
  StartAttempt();
}

void UpstreamCaller::CallState::StartAttempt() {
  const absl::Time now = caller->clock_->Now();
  bool first;
  {
    absl::MutexLock lock(&mu);
    if (finished) return;
    backoff_timer = 0;
    first = attempts == 0;
  }
  if (now >= ctx.deadline) {
    Finish(absl::DeadlineExceededError(
        "deadline exceeded before the next attempt"));
    return;
  }
  {
    absl::MutexLock lock(&mu);
    ++attempts;
  }
  if (first) caller->budget_.OnFirstAttempt();
  if (spec.needs_token && caller->tokens_ != nullptr) {
    auto self = shared_from_this();
    caller->tokens_->GetToken(spec.scopes, ctx.deadline,
                              [self](absl::StatusOr<std::string> token) {
                                if (!token.ok()) {
                                  self->Finish(token.status());
                                  return;
                                }
                                self->SendAttempt(std::move(token).value());
                              });
    return;
  }
  SendAttempt("");
}

void UpstreamCaller::CallState::SendAttempt(std::string token) {
  if (IsFinished()) return;
  HttpRequest attempt =
      request;  // Each attempt sends its own copy; the token is only here.
  if (!token.empty())
    SetHeader(attempt.headers, "Authorization", absl::StrCat("Bearer ", token));
  SendOptions options;
  options.deadline = std::min(
      ctx.deadline, caller->clock_->Now() + caller->options_.attempt_timeout);
  options.cancellation = &attempts_cancellation;
  auto self = shared_from_this();
  caller->transport_->Send(std::move(attempt), options,
                           [self, token = std::move(token)](Result result) {
                             self->OnAttemptDone(token, std::move(result));
                           });
}

void UpstreamCaller::CallState::OnAttemptDone(const std::string& token,
                                              Result result) {
  if (IsFinished()) return;
  if (result.ok()) {
    const int status = result->status;
    if (status == 401 && !token.empty()) {
      bool replay;
      {
        absl::MutexLock lock(&mu);
        replay = replays == 0;
        if (replay) ++replays;
      }
      if (replay) {
        spdlog::debug(
            "upstream {}: HTTP 401, refreshing the token and replaying once",
            spec.method);
        caller->tokens_->Invalidate(spec.scopes, token);
        StartAttempt();
        return;
      }
    }
    if (retry_safe && IsRetryableStatus(status)) {
      std::optional<absl::Duration> retry_after;
      if (const std::string* value =
              FindHeader(result->headers, "Retry-After")) {
        retry_after = ParseRetryAfter(*value, caller->clock_->Now());
      }
      MaybeRetry(std::move(result), retry_after);
      return;
    }
    Finish(std::move(result));
    return;
  }

  const absl::Status status = result.status();
  const absl::Time now = caller->clock_->Now();
  if (status.code() == absl::StatusCode::kCancelled) {
    Finish(std::move(result));
    return;
  }
  if (status.code() == absl::StatusCode::kDeadlineExceeded &&
      now >= ctx.deadline) {
    Finish(std::move(result));
    return;
  }
  const bool connection_failure =
      status.code() == absl::StatusCode::kUnavailable ||
      status.code() == absl::StatusCode::kDeadlineExceeded;
  if (!connection_failure) {
    Finish(std::move(
        result));  // INTERNAL and the like: not a transient condition.
    return;
  }
  if (retry_safe || !RequestMayHaveReachedServer(status)) {
    MaybeRetry(std::move(result), std::nullopt);
    return;
  }
  // A write without idempotency whose bytes may have reached the server: never retried.
  absl::Status final_status(
      status.code(),
      absl::StrCat("upstream failed after the request was sent (",
                   status.message(), "); ", kMayHaveBeenAppliedMessage));
  Finish(final_status);
}

void UpstreamCaller::CallState::MaybeRetry(
    Result last, std::optional<absl::Duration> retry_after) {
  const absl::Time now = caller->clock_->Now();
  int counted;
  {
    absl::MutexLock lock(&mu);
    if (finished) return;
    counted = attempts - replays;
  }
  std::optional<absl::Duration> delay = caller->policy_.NextDelay(
      counted, max_attempts, now, ctx.deadline, retry_after);
  if (!delay.has_value()) {
    Finish(std::move(last));
    return;
  }
  if (!caller->budget_.TryAcquireRetry()) {
    spdlog::debug("upstream {}: retry budget exhausted after attempt {}",
                  spec.method, counted);
    Finish(std::move(last));
    return;
  }
  spdlog::debug(
      "upstream {}: attempt {} failed ({}); retrying in {}", spec.method,
      counted,
      last.ok() ? absl::StrCat("HTTP ", last->status)
                : std::string(absl::StatusCodeToString(last.status().code())),
      absl::FormatDuration(*delay));
  auto self = shared_from_this();
  absl::MutexLock lock(&mu);
  if (finished) return;
  // RunAfter never runs the callback inline, so holding our lock here is safe.
  backoff_timer =
      caller->clock_->RunAfter(*delay, [self] { self->StartAttempt(); });
}

void UpstreamCaller::CallState::Finish(Result result, bool cache_hit) {
  Clock::TimerId timers[2];
  Cancellation::Handle handle;
  CacheRole role;
  uint64_t follower;
  int attempt_count;
  {
    absl::MutexLock lock(&mu);
    if (finished) return;
    finished = true;
    timers[0] = deadline_timer;
    timers[1] = backoff_timer;
    handle = cancel_handle;
    role = cache_role;
    follower = follower_id;
    attempt_count = attempts;
  }
  for (Clock::TimerId timer : timers) {
    if (timer != 0) caller->clock_->Cancel(timer);
  }
  if (ctx.cancellation != nullptr && handle != 0)
    ctx.cancellation->Remove(handle);
  attempts_cancellation
      .Cancel();  // Aborts an attempt still in flight; its answer is ignored.

  ResponseCache* cache = caller->cache_;
  if (cache != nullptr) {
    if (role == CacheRole::kLeader) {
      const bool gave_up =
          !result.ok() &&
          (result.status().code() == absl::StatusCode::kCancelled ||
           result.status().code() == absl::StatusCode::kDeadlineExceeded);
      if (gave_up) {
        cache->Abandon(cache_key);
      } else {
        cache->Complete(cache_key, result, spec.cache_ttl);
      }
    } else if (role == CacheRole::kFollower && follower != 0) {
      cache->Leave(cache_key, follower);
    }
    if (!spec.read_only && result.ok() && result->status >= 200 &&
        result->status < 300) {
      cache->InvalidateForWrite(request.path_and_query);
    }
  }
  if (!result.ok()) {
    spdlog::debug("upstream {} failed after {} attempt(s): {}", spec.method,
                  attempt_count, result.status().ToString());
  }
  CallOutcome outcome;
  outcome.response = std::move(result);
  outcome.attempts = attempt_count;
  outcome.cache_hit = cache_hit;
  outcome.idempotency_key = idempotency_key;
  auto done_fn = std::move(done);
  done_fn(std::move(outcome));
}

}  // namespace fgw
