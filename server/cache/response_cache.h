// ResponseCache: bounded in-memory cache of upstream read responses, with singleflight.
//
// - Opt-in per method (the caller passes a TTL > 0); only 2xx responses are stored.
// - Bounded by max_bytes (key + headers + body + overhead) and max_entries; least recently used
//   entries are evicted first. TTLs run on the injected clock.
// - Key (MakeKey): credential identity, gRPC method, HTTP method, path_and_query, and the request
//   headers except per-call ones (Authorization, Idempotency-Key, User-Agent, X-Request-Id,
//   traceparent, tracestate), names lowercased and sorted.
// - Singleflight (LookupOrJoinShared / LookupOrJoin): a hit returns the stored response, shared
//   and immutable (only a pointer is copied under the cache's lock; LookupOrJoin also copies it
//   into Lookup::response, outside the lock); otherwise the first caller for a key becomes the
//   leader and MUST later call Complete() or Abandon(); identical calls arriving
//   meanwhile become followers, called back with the leader's result (success or error), or with
//   nullopt when the leader abandoned (then each follower calls upstream itself).
// - Invalidation (InvalidateForWrite, after a successful write): entries under the write's scope
//   and entries on its ancestor paths are dropped. Scope (WriteScope):
//     /api/ledger/v2/<ledger>/...  -> /api/ledger/v2/<ledger>   (that ledger only)
//     /api/ledger/<ledger>/...     -> /api/ledger/<ledger>      (ledger v1)
//     /api/<module>/...            -> /api/<module>             (whole module: payments,
//                                     wallets, orchestration, reconciliation, webhooks, auth, ...)
//     anything else                -> everything
//   "Under" is segment-aware (/api/ledger/v2/l1 does not cover /api/ledger/v2/l10); ancestors are
//   exact paths (/api/ledger/v2, the ledger list). A leader that started before an invalidation
//   does not store its (possibly stale) response. Cross-module effects are bounded by the TTL.
//   Entries are indexed by request path, so an invalidation visits the scope's subtree and its
//   ancestors only, not every entry.
//
// Thread safety: all methods may be called concurrently. Callbacks (followers) run on the thread
// that calls Complete()/Abandon(), never under the cache's lock.
#ifndef FGW_SERVER_CACHE_RESPONSE_CACHE_H_
#define FGW_SERVER_CACHE_RESPONSE_CACHE_H_

#include <cstdint>
#include <functional>
#include <list>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "server/upstream/http_message.h"
#include "server/util/clock.h"

namespace fgw {

struct ResponseCacheOptions {
  int64_t max_bytes = 64LL << 20;  // CacheConfig::max_bytes.
  int max_entries = 10000;         // CacheConfig::max_entries.
};

class ResponseCache {
 public:
  using Result = absl::StatusOr<HttpResponse>;
  // The leader's result, or nullopt when the leader abandoned.
  using FollowerCallback = std::function<void(std::optional<Result>)>;

  ResponseCache(ResponseCacheOptions options, Clock* clock);

  static std::string MakeKey(absl::string_view identity,
                             absl::string_view grpc_method,
                             const HttpRequest& request);
  // The invalidation scope of a write to `path` (query ignored), see above; "" = everything.
  static std::string WriteScope(absl::string_view path);

  struct Lookup {
    enum class Kind { kHit, kLeader, kFollower };
    Kind kind = Kind::kLeader;
    // kHit only: the stored response. Immutable; stays valid after eviction or invalidation.
    std::shared_ptr<const HttpResponse> cached;
    HttpResponse response;  // kHit from LookupOrJoin() only: a copy of *cached.
    uint64_t follower_id = 0;  // kFollower only, for Leave().
  };
  // `path_and_query` is the request's (used for invalidation). `on_result` is kept only when the
  // caller becomes a follower. A hit copies only a pointer (Lookup::cached).
  Lookup LookupOrJoinShared(const std::string& key,
                            absl::string_view path_and_query,
                            FollowerCallback on_result);
  // LookupOrJoinShared(), and on a hit also a copy of the response in Lookup::response, made
  // outside the cache's lock (for callers that need a value).
  Lookup LookupOrJoin(const std::string& key, absl::string_view path_and_query,
                      FollowerCallback on_result);
  // The leader's result: stored when 2xx and ttl > 0 (and no invalidation since the lookup);
  // followers are called back with it.
  void Complete(const std::string& key, const Result& result,
                absl::Duration ttl);
  // The leader gave up (cancelled, deadline): followers are called back with nullopt.
  void Abandon(const std::string& key);
  // A follower stops waiting; its callback will not run (unless it is already running).
  void Leave(const std::string& key, uint64_t follower_id);

  void InvalidateForWrite(absl::string_view path_and_query);
  void Clear();

  int entries();
  int64_t bytes();
  int64_t hits();
  int64_t misses();
  // Entries InvalidateForWrite() has looked at so far (with the path index: those it dropped).
  int64_t invalidation_visits();

 private:
  // Request path -> keys of the entries stored for it (pointers to the keys of entries_, stable
  // until the entry is erased). Ordered, so the paths under a scope are one range.
  using PathIndex =
      std::map<std::string, std::unordered_set<const std::string*>,
               std::less<>>;
  using Released = std::vector<std::shared_ptr<const HttpResponse>>;
  struct Entry {
    std::shared_ptr<const HttpResponse> response;
    PathIndex::iterator path;
    absl::Time expires;
    int64_t bytes = 0;
    std::list<std::string>::iterator lru;
  };
  struct Inflight {
    std::string path;
    uint64_t epoch = 0;
    uint64_t next_follower = 1;
    std::map<uint64_t, FollowerCallback> followers;
  };

  // Erases an entry; its response goes to `released`, to be freed once the lock is released.
  void EraseLocked(std::unordered_map<std::string, Entry>::iterator it,
                   Released* released) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Empties the cache; the responses go to `released`, freed after the lock.
  void ClearLocked(Released* released) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Adds the keys stored for `path` (if any) to `keys`.
  void CollectPathLocked(absl::string_view path,
                         std::vector<const std::string*>* keys)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Takes the in-flight record for `key` (empty if none).
  std::map<uint64_t, FollowerCallback> TakeFollowersLocked(
      const std::string& key, uint64_t* epoch)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  const ResponseCacheOptions options_;
  Clock* const clock_;

  absl::Mutex mu_;
  std::unordered_map<std::string, Entry> entries_ ABSL_GUARDED_BY(mu_);
  PathIndex by_path_ ABSL_GUARDED_BY(mu_);
  std::list<std::string> lru_
      ABSL_GUARDED_BY(mu_);  // Front: most recently used.
  std::unordered_map<std::string, Inflight> inflight_ ABSL_GUARDED_BY(mu_);
  int64_t bytes_ ABSL_GUARDED_BY(mu_) = 0;
  uint64_t epoch_ ABSL_GUARDED_BY(mu_) = 0;  // Bumped by every invalidation.
  int64_t hits_ ABSL_GUARDED_BY(mu_) = 0;
  int64_t misses_ ABSL_GUARDED_BY(mu_) = 0;
  int64_t invalidation_visits_ ABSL_GUARDED_BY(mu_) = 0;
};

}  // namespace fgw

#endif  // FGW_SERVER_CACHE_RESPONSE_CACHE_H_
