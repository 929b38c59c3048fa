// AdmissionFilter: the first filter. A call beyond limits.max_calls_in_flight is answered
// RESOURCE_EXHAUSTED at once (CallsInFlight) and nothing after this filter runs: no cache
// lookup, no token, no upstream request. An admitted call holds its place until its reply.
// (Caller identity and per-caller policy will be checked here too.)
//
// Thread safety: as Filter. `limit` is not owned and must outlive the filter.
#ifndef FGW_SERVER_CHAIN_ADMISSION_FILTER_H_
#define FGW_SERVER_CHAIN_ADMISSION_FILTER_H_

#include "server/admission/calls_in_flight.h"
#include "server/chain/filter.h"

namespace fgw {

class AdmissionFilter : public Filter {
 public:
  explicit AdmissionFilter(CallsInFlight* limit) : limit_(limit) {}
  void Send(const std::shared_ptr<Exchange>& x, HttpRequest request,
            const Next& next, ReplyCallback done) override;

 private:
  CallsInFlight* const limit_;
};

}  // namespace fgw

#endif  // FGW_SERVER_CHAIN_ADMISSION_FILTER_H_
