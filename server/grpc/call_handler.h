// UnaryCallHandler: what the generic gRPC service hands every unary call to. The gRPC layer
// owns the reactor, metadata and status encoding; the handler owns the meaning of the call.
//
// Contract: HandleUnary() must not block; `done` runs exactly once, from any thread. A
// non-OK status may carry details (server/util/status_details.h) that the gRPC layer sends
// as grpc-status-details-bin. Trailers (formance-http-status included) are the handler's,
// in CallResult::trailing_metadata, on success and error alike.
#ifndef FGW_SERVER_GRPC_CALL_HANDLER_H_
#define FGW_SERVER_GRPC_CALL_HANDLER_H_

#include <functional>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "server/util/cancellation.h"

namespace fgw {

struct IncomingCall {
  std::string method;  // "/formance.ledger.v2.LedgerService/CreateTransaction".
  absl::Time deadline = absl::InfiniteFuture();
  // Client metadata, keys lower-case; binary (-bin) values decoded.
  std::vector<std::pair<std::string, std::string>> metadata;
  std::string peer;
  Cancellation* cancellation =
      nullptr;  // Fires when the caller cancels; owned by the gRPC layer.
};

struct CallResult {
  absl::Status status;
  std::string response;  // Serialized response message, when status is OK.
  std::vector<std::pair<std::string, std::string>> initial_metadata;
  std::vector<std::pair<std::string, std::string>> trailing_metadata;
};

class UnaryCallHandler {
 public:
  virtual ~UnaryCallHandler() = default;
  virtual void HandleUnary(const IncomingCall& call, std::string request,
                           std::function<void(CallResult)> done) = 0;
};

}  // namespace fgw

#endif  // FGW_SERVER_GRPC_CALL_HANDLER_H_
