// CacheFilter: the response cache on the call path (ResponseCache: TTL, LRU, singleflight).
//
// - A read with cache_ttl > 0 (and !CallOptions::bypass_cache) looks the request up under the
//   key ResponseCache::MakeKey(identity, method, request), where identity is the credentials'
//   (tokens and cache entries stay apart per Formance identity):
//     hit      -> answered at once from the cache (the Exchange records a cache hit, 0 attempts);
//     follower -> an identical call is in flight: its result is shared; if it gives up
//                 (cancelled, deadline) this call goes on down the chain itself;
//     leader   -> goes on down the chain; a 2xx result is stored, any result shared with the
//                 followers; CANCELLED or DEADLINE_EXCEEDED abandons the flight instead.
// - A write answered 2xx invalidates the cache scope of its path (ResponseCache::WriteScope).
// - No cache (null) or an uncached method: passes through.
// - Metrics: each lookup of a cached method is counted as a hit, a miss (leader) or coalesced
//   (follower).
//
// Thread safety: as Filter. `cache`, `tokens` (either may be null) and `metrics` (null:
// NoMetrics()) are not owned and must outlive every call.
#ifndef FGW_SERVER_CHAIN_CACHE_FILTER_H_
#define FGW_SERVER_CHAIN_CACHE_FILTER_H_

#include "server/auth/token_source.h"
#include "server/cache/response_cache.h"
#include "server/chain/filter.h"
#include "server/metrics/metrics.h"

namespace fgw {

class CacheFilter : public Filter {
 public:
  CacheFilter(ResponseCache* cache, TokenSource* tokens,
              Metrics* metrics = nullptr)
      : cache_(cache),
        tokens_(tokens),
        metrics_(metrics != nullptr ? metrics : NoMetrics()) {}
  void Send(const std::shared_ptr<Exchange>& x, HttpRequest request,
            const Next& next, ReplyCallback done) override;

 private:
  void SendWrite(const std::shared_ptr<Exchange>& x, HttpRequest request,
                 const Next& next, ReplyCallback done);

  ResponseCache* const cache_;
  TokenSource* const tokens_;
  Metrics* const metrics_;
};

}  // namespace fgw

#endif  // FGW_SERVER_CHAIN_CACHE_FILTER_H_
