#include "server/chain/upstream_chain.h"

#include <utility>
#include <vector>

#include "server/chain/admission_filter.h"
#include "server/chain/attempt_filter.h"
#include "server/chain/cache_filter.h"
#include "server/chain/credentials_filter.h"
#include "server/chain/observe_filter.h"
#include "server/chain/retry_filter.h"
#include "server/chain/transport_filter.h"

namespace fgw {

UpstreamChain::UpstreamChain(Options options, Transport* transport,
                             TokenSource* tokens, ResponseCache* cache,
                             CallsInFlight* limit, Clock* clock, Random* random,
                             PolicyStore* policy, Metrics* metrics) {
  auto retry = std::make_unique<RetryFilter>(options.retry, options.budget,
                                             clock, random, metrics);
  retry_ = retry.get();
  std::vector<std::unique_ptr<Filter>> filters;
  if (limit != nullptr || policy != nullptr)
    filters.push_back(std::make_unique<AdmissionFilter>(limit, policy));
  filters.push_back(std::make_unique<ObserveFilter>(random));
  filters.push_back(std::make_unique<CacheFilter>(cache, tokens, metrics));
  filters.push_back(std::move(retry));
  filters.push_back(std::make_unique<CredentialsFilter>(tokens));
  filters.push_back(std::make_unique<AttemptFilter>(random, clock));
  filters.push_back(
      std::make_unique<TransportFilter>(transport, options.attempt_timeout));
  chain_ = std::make_unique<FilterChain>(std::move(filters), clock);
}

UpstreamChain::~UpstreamChain() = default;

RetryBudget& UpstreamChain::budget() { return retry_->budget(); }

}  // namespace fgw
