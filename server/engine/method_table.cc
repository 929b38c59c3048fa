#include "server/engine/method_table.h"

#include <utility>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/strip.h"

namespace fgw {
namespace {

bool MatchesRule(absl::string_view rule, absl::string_view method) {
  if (absl::EndsWith(rule, "*")) {
    return absl::StartsWith(method, absl::StripSuffix(rule, "*"));
  }
  return rule == method;
}

}  // namespace

absl::Duration CacheTtlFor(const CacheConfig& config,
                           absl::string_view grpc_method) {
  absl::string_view method = absl::StripPrefix(grpc_method, "/");
  for (const CacheRule& rule : config.rules) {
    if (MatchesRule(rule.method, method)) return rule.ttl;
  }
  return absl::ZeroDuration();
}

std::unique_ptr<const MethodTable> MethodTable::Compile(
    const ApiDescriptors& descriptors, const RouteTable& routes,
    const CacheConfig& cache, Metrics* metrics) {
  std::unique_ptr<MethodTable> table(new MethodTable());
  std::vector<const google::protobuf::Descriptor*> roots;
  for (const Route& route : routes.routes()) {
    roots.push_back(route.method->input_type());
    roots.push_back(route.method->output_type());
  }
  table->plans_ = CodecPlans::Compile(roots);
  table->entries_.reserve(routes.size());
  for (const Route& route : routes.routes()) {
    MethodEntry entry;
    entry.route = &route;
    entry.request_plan = RequestPlan::Compile(
        route, *table->plans_->Find(route.method->input_type()));
    entry.response_plan = table->plans_->Find(route.method->output_type());
    entry.request_prototype = descriptors.Prototype(route.method->input_type());
    entry.response_prototype =
        descriptors.Prototype(route.method->output_type());
    UpstreamCallSpec& spec = entry.spec;
    spec.method = route.grpc_method;
    spec.read_only = route.read_only;
    spec.accepts_idempotency_key = route.idempotency_key_field != nullptr;
    spec.needs_token = !route.rules.no_security();
    spec.scopes.assign(route.rules.oauth2_scopes().begin(),
                       route.rules.oauth2_scopes().end());
    if (route.read_only) spec.cache_ttl = CacheTtlFor(cache, route.grpc_method);
    if (metrics != nullptr) {
      spec.metrics =
          metrics->ForMethod(route.grpc_method, route.rules.operation_id());
    }
    table->entries_.emplace(route.grpc_method, std::move(entry));
  }
  return table;
}

int MethodTable::ApplyCacheRules(const CacheConfig& cache) const {
  int cached = 0;
  for (const auto& [name, entry] : entries_) {
    const absl::Duration ttl =
        entry.spec.read_only ? CacheTtlFor(cache, name) : absl::ZeroDuration();
    entry.spec.cache_ttl.Set(ttl);
    if (ttl > absl::ZeroDuration()) ++cached;
  }
  return cached;
}

const MethodEntry* MethodTable::Find(absl::string_view grpc_method) const {
  auto it = entries_.find(grpc_method);
  return it == entries_.end() ? nullptr : &it->second;
}

}  // namespace fgw
