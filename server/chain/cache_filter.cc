#include "server/chain/cache_filter.h"

#include <memory>
#include <optional>
#include <string>
#include <utility>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"

namespace fgw {
namespace {

bool IsSuccess(const Reply& reply) {
  return reply.ok() && reply->status >= 200 && reply->status < 300;
}

bool GaveUp(const Reply& reply) {
  return !reply.ok() &&
         (reply.status().code() == absl::StatusCode::kCancelled ||
          reply.status().code() == absl::StatusCode::kDeadlineExceeded);
}

// A call that joined an identical one in flight, waiting for its result.
class Follower : public std::enable_shared_from_this<Follower> {
 public:
  enum class State { kJoining, kWaiting, kAnswered };

  Follower(ResponseCache* cache, std::string key, std::shared_ptr<Exchange> x,
           HttpRequest request, Next next, ReplyCallback done)
      : cache_(cache),
        key_(std::move(key)),
        x_(std::move(x)),
        request_(std::move(request)),
        next_(next),
        done_(std::move(done)) {}

  // The leader's result, or nullopt when it gave up: then this call goes on by itself.
  void OnShared(std::optional<Reply> shared) {
    ReplyCallback done;
    {
      absl::MutexLock lock(&mu_);
      if (state_ == State::kAnswered) return;
      state_ = State::kAnswered;
      done = std::move(done_);
    }
    Unwatch();
    if (!shared.has_value()) {
      next_(x_, std::move(request_), std::move(done));
    } else {
      done(std::move(*shared));
    }
  }

  // Takes the answer back when LookupOrJoin did not make this call a follower (a hit, or the
  // leader): then nothing else ever calls this object.
  ReplyCallback Release() {
    absl::MutexLock lock(&mu_);
    state_ = State::kAnswered;
    return std::move(done_);
  }

  // After LookupOrJoin made this call a follower with `id`.
  void Joined(uint64_t id) {
    {
      // Recorded first: a cancellation that fires at once (the call already over) must leave
      // the flight with this id.
      absl::MutexLock lock(&mu_);
      follower_id_ = id;
      if (state_ == State::kAnswered) return;  // The leader answered meanwhile.
      state_ = State::kWaiting;
    }
    auto self = shared_from_this();
    Cancellation::Handle handle =
        x_->cancellation().OnCancel([self] { self->GiveUp(); });
    bool answered;
    {
      absl::MutexLock lock(&mu_);
      answered = state_ == State::kAnswered;
      if (!answered) cancel_handle_ = handle;
    }
    if (answered && handle != 0) x_->cancellation().Remove(handle);
  }

 private:
  void GiveUp() {
    ReplyCallback done;
    uint64_t id;
    {
      absl::MutexLock lock(&mu_);
      if (state_ == State::kAnswered) return;
      state_ = State::kAnswered;
      done = std::move(done_);
      id = follower_id_;
    }
    if (id != 0) cache_->Leave(key_, id);
    done(absl::CancelledError("call cancelled"));
  }

  void Unwatch() {
    Cancellation::Handle handle;
    {
      absl::MutexLock lock(&mu_);
      handle = cancel_handle_;
      cancel_handle_ = 0;
    }
    if (handle != 0) x_->cancellation().Remove(handle);
  }

  ResponseCache* const cache_;
  const std::string key_;
  const std::shared_ptr<Exchange> x_;
  HttpRequest request_;  // Moved on only by the one answer.
  const Next next_;
  absl::Mutex mu_;
  State state_ ABSL_GUARDED_BY(mu_) = State::kJoining;
  ReplyCallback done_ ABSL_GUARDED_BY(mu_);
  uint64_t follower_id_ ABSL_GUARDED_BY(mu_) = 0;
  Cancellation::Handle cancel_handle_ ABSL_GUARDED_BY(mu_) = 0;
};

}  // namespace

void CacheFilter::Send(const std::shared_ptr<Exchange>& x, HttpRequest request,
                       const Next& next, ReplyCallback done) {
  const UpstreamCallSpec& spec = x->spec();
  if (cache_ == nullptr) {
    next(x, std::move(request), std::move(done));
    return;
  }
  if (!spec.read_only) {
    SendWrite(x, std::move(request), next, std::move(done));
    return;
  }
  if (spec.cache_ttl.get() <= absl::ZeroDuration() ||
      x->options().bypass_cache) {
    next(x, std::move(request), std::move(done));
    return;
  }
  // Entries are separate per Formance identity: a caller's own client, or the gateway's.
  TokenSource* tokens =
      x->caller_tokens() != nullptr ? x->caller_tokens() : tokens_;
  const std::string identity =
      (spec.needs_token && tokens != nullptr) ? tokens->Identity() : "";
  std::string key = ResponseCache::MakeKey(identity, spec.method, request);
  const std::string path = request.path_and_query;
  // Created before the lookup: the leader may answer it as soon as it has joined.
  auto follower = std::make_shared<Follower>(cache_, key, x, request, next,
                                             std::move(done));
  ResponseCache::Lookup lookup = cache_->LookupOrJoin(
      key, path, [follower](std::optional<ResponseCache::Result> shared) {
        follower->OnShared(std::move(shared));
      });
  switch (lookup.kind) {
    case ResponseCache::Lookup::Kind::kHit:
      metrics_->Cache(CacheResult::kHit);
      x->MarkCacheHit();
      follower->Release()(std::move(lookup.response));
      return;
    case ResponseCache::Lookup::Kind::kFollower:
      metrics_->Cache(CacheResult::kCoalesced);
      follower->Joined(lookup.follower_id);
      return;
    case ResponseCache::Lookup::Kind::kLeader:
      metrics_->Cache(CacheResult::kMiss);
      break;
  }
  ReplyCallback done_as_leader = follower->Release();
  follower.reset();
  ResponseCache* cache = cache_;
  const absl::Duration ttl = spec.cache_ttl.get();
  next(x, std::move(request),
       [cache, key = std::move(key), ttl,
        done = std::move(done_as_leader)](Reply reply) mutable {
         if (GaveUp(reply)) {
           cache->Abandon(key);
         } else {
           cache->Complete(key, reply, ttl);
         }
         done(std::move(reply));
       });
}

void CacheFilter::SendWrite(const std::shared_ptr<Exchange>& x,
                            HttpRequest request, const Next& next,
                            ReplyCallback done) {
  ResponseCache* cache = cache_;
  std::string path = request.path_and_query;
  next(x, std::move(request),
       [cache, path = std::move(path),
        done = std::move(done)](Reply reply) mutable {
         if (IsSuccess(reply)) cache->InvalidateForWrite(path);
         done(std::move(reply));
       });
}

}  // namespace fgw
