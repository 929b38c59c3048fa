// TransportFilter: the last filter. Sends the request on the Transport with a deadline of
// min(call deadline, now + attempt_timeout) and the Exchange's cancellation, and answers with
// the transport's result (transport.h: any HTTP status is OK; errors say whether the request
// may have reached the server).
//
// Thread safety: as Filter. `transport` is not owned and must outlive every call.
#ifndef FGW_SERVER_CHAIN_TRANSPORT_FILTER_H_
#define FGW_SERVER_CHAIN_TRANSPORT_FILTER_H_

#include "absl/time/time.h"
#include "server/chain/filter.h"
#include "server/upstream/transport.h"

namespace fgw {

class TransportFilter : public Filter {
 public:
  TransportFilter(Transport* transport, absl::Duration attempt_timeout)
      : transport_(transport), attempt_timeout_(attempt_timeout) {}
  void Send(const std::shared_ptr<Exchange>& x, HttpRequest request,
            const Next& next, ReplyCallback done) override;

 private:
  Transport* const transport_;
  const absl::Duration attempt_timeout_;
};

}  // namespace fgw

#endif  // FGW_SERVER_CHAIN_TRANSPORT_FILTER_H_
