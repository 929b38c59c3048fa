// AdmissionFilter: the first filter; what a call must pass before anything else is done for it.
// In order:
//   1. the caller policy (PolicyStore::Admit, policy_store.h): who is calling, may it call this
//      method, is it within its own rate and in-flight cap: UNAUTHENTICATED, PERMISSION_DENIED
//      or RESOURCE_EXHAUSTED, with one audit log line per refusal;
//      A caller with its own Formance client gets its token source set on the Exchange
//      (Exchange::caller_tokens), which the cache and credentials filters then use;
//   2. the gateway-wide cap (limits.max_calls_in_flight, CallsInFlight): RESOURCE_EXHAUSTED.
// A refused call is answered at once and nothing after this filter runs: no cache lookup, no
// token, no upstream request. An admitted call holds its places (the caller's and the
// gateway's) until its reply.
//
// Thread safety: as Filter. `limit` and `policy` (either may be null: no check) are not owned
// and must outlive the filter.
#ifndef FGW_SERVER_CHAIN_ADMISSION_FILTER_H_
#define FGW_SERVER_CHAIN_ADMISSION_FILTER_H_

#include "server/admission/calls_in_flight.h"
#include "server/chain/filter.h"
#include "server/policy/policy_store.h"

namespace fgw {

class AdmissionFilter : public Filter {
 public:
  AdmissionFilter(CallsInFlight* limit, PolicyStore* policy)
      : limit_(limit), policy_(policy) {}
  explicit AdmissionFilter(CallsInFlight* limit)
      : AdmissionFilter(limit, nullptr) {}
  void Send(const std::shared_ptr<Exchange>& x, HttpRequest request,
            const Next& next, ReplyCallback done) override;

 private:
  CallsInFlight* const limit_;
  PolicyStore* const policy_;
};

}  // namespace fgw

#endif  // FGW_SERVER_CHAIN_ADMISSION_FILTER_H_
