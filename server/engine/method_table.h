// MethodTable: every served Formance method compiled once, when the engine is created, into an
// immutable MethodEntry the call path only reads: no lazy cache, no lock, no per-call lookup
// besides the one hash lookup of the method name.
//
// A MethodEntry holds the route (google.api.http: HTTP method, path template, body), the
// request plan (where each field goes: request_encoder.h), the compiled codec plan of the
// response (codec_plan.h: nested plans are linked, so no lookup while decoding), the request
// and response prototypes,
// and the upstream call spec the filters read (read-only or write, idempotency key, token and
// scopes, cache TTL from the cache rules).
//
// Metrics: with a Metrics, each entry's spec.metrics is its method's series
// (Metrics::ForMethod with the route's operation id), resolved here once.
//
// Thread safety: immutable after Compile(), except each read's cache TTL, which
// ApplyCacheRules() may change while calls run (ReloadableDuration). Entries point into the ApiDescriptors and RouteTable
// they were compiled from, which must outlive the table.
#ifndef FGW_SERVER_ENGINE_METHOD_TABLE_H_
#define FGW_SERVER_ENGINE_METHOD_TABLE_H_

#include <memory>
#include <string>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/string_view.h"
#include "google/protobuf/message.h"
#include "server/chain/exchange.h"
#include "server/config/gateway_config.h"
#include "server/metrics/metrics.h"
#include "server/routing/api_descriptors.h"
#include "server/routing/route_table.h"
#include "server/transcoding/codec_plan.h"
#include "server/transcoding/request_encoder.h"

namespace fgw {

struct MethodEntry {
  const Route* route = nullptr;
  std::unique_ptr<const RequestPlan> request_plan;
  const MessagePlan* response_plan = nullptr;  // In the table's CodecPlans.
  const google::protobuf::Message* request_prototype = nullptr;
  const google::protobuf::Message* response_prototype = nullptr;
  UpstreamCallSpec spec;
};

class MethodTable {
 public:
  static std::unique_ptr<const MethodTable> Compile(
      const ApiDescriptors& descriptors, const RouteTable& routes,
      const CacheConfig& cache, Metrics* metrics = nullptr);

  // Sets every read's cache TTL from `cache`'s rules (a reload); returns the number of methods
  // now cached. Calls in flight see the old or the new TTL.
  int ApplyCacheRules(const CacheConfig& cache) const;

  // The entry of "/pkg.Service/Method", or nullptr.
  const MethodEntry* Find(absl::string_view grpc_method) const;
  size_t size() const { return entries_.size(); }

 private:
  MethodTable() = default;
  // The codec plans of every request and response type and of what they hold.
  std::unique_ptr<const CodecPlans> plans_;
  absl::flat_hash_map<std::string, MethodEntry> entries_;
};

// The cache TTL configured for `grpc_method` ("/pkg.Service/Method"), zero when not cached.
// Rules match "pkg.Service/Method", "pkg.Service/*" or "pkg.*"; the first match wins.
absl::Duration CacheTtlFor(const CacheConfig& config,
                           absl::string_view grpc_method);

}  // namespace fgw

#endif  // FGW_SERVER_ENGINE_METHOD_TABLE_H_
