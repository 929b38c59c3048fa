// UnaryCallHandler: what the generic gRPC service hands every unary call to. The gRPC layer
// owns the reactor, metadata and status encoding; the handler owns the meaning of the call.
//
// Contract: HandleUnary() must not block; `done` runs exactly once, from any thread.
// IncomingCall::resume (when set) moves work back onto the thread that serves the call's gRPC
// events: a handler whose answer arrives on another thread (the upstream's I/O threads)
// resumes there to build the reply, so those threads only do I/O and the reply is written
// from inside gRPC's own event loop. A
// non-OK status may carry details (server/util/status_details.h) that the gRPC layer sends
// as grpc-status-details-bin. Trailers (formance-http-status included) are the handler's,
// in CallResult::trailing_metadata, on success and error alike.
#ifndef FGW_SERVER_GRPC_CALL_HANDLER_H_
#define FGW_SERVER_GRPC_CALL_HANDLER_H_

#include <functional>
#include <string>
#include <utility>
#include <vector>

#include "absl/functional/any_invocable.h"
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
  // Runs `fn` on the call's gRPC thread, soon (inline when called there). Only while the
  // handler holds `done` and has not called it; at most one outstanding at a time. Null when
  // the caller has no such thread (tests): run `fn` inline then.
  std::function<void(absl::AnyInvocable<void()>)> resume;
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
