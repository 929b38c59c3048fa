// UnaryCallHandler: what the generic gRPC service hands every unary call to. The gRPC layer
// owns the reactor, metadata and status encoding; the handler owns the meaning of the call.
//
// Contract: HandleUnary() must not block; `done` runs exactly once, from any thread. The
// handler may answer with the reply already made, or with CallResult::build: work that makes
// it (decoding the upstream's answer into the response message), which the gRPC layer runs
// where the thread model below says, then sends. A non-OK status may carry details
// (server/util/status_details.h) that the gRPC layer sends as grpc-status-details-bin.
// Trailers (formance-http-status included) are the handler's, in
// CallResult::trailing_metadata, on success and error alike; the gRPC layer drops any it cannot
// send (outgoing_metadata.h) rather than let gRPC core abort.
//
// THREAD MODEL of a Formance call (the one place it is stated; the rest of the code follows it):
// 1. gRPC thread (`grpc.threads` completion queues, default 1, each drained by one thread that
//    also polls gRPC's sockets): accepts the call, reads the request, and runs HandleUnary
//    inline: request parsing, encoding to REST, the admission and cache filters and, when
//    nothing waits, the first attempt's hand-off to the HTTP client. Why: the events of a call
//    arrive there; moving them elsewhere costs a thread switch each (PERF_LOG section 10).
// 2. HTTP I/O thread (cpprestsdk's asio pool, `upstream.io_threads`, default 1): the request
//    and response bytes. The transport's callback and whatever the filters continue from it
//    run there: retry decisions, the 401 replay, cache completion and followers, the answer of
//    the chain. Nothing there blocks.
// 3. Clock thread (one, RealClock): deadlines, backoffs and token refresh timers fire there and
//    what they continue starts there (a retry's next attempt, a DEADLINE_EXCEEDED answer).
// 4. The reply (CallResult::build, then the gRPC write) runs on the call's gRPC thread while
//    that thread keeps up (fewer than ServerCall's kMaxPendingResumes = 2 builds waiting), and
//    otherwise on the thread that delivered the answer (2 or 3). Why: at low load one thread
//    does the whole call (GetAccount at c=1: 159-207 us CPU per call against 292-350 with
//    replies built on the I/O thread); under load the I/O thread shares the decoding of big
//    pages instead of queueing behind one thread (pages of 100 at c=16: 2.4k calls/s against
//    1.6k). Only the gRPC layer (ServerCall::Resume) knows this; the handler never does.
// A Stream rpc (stream_call_handler.h) runs each page as such a call; its next page starts from
// the write completion of the previous page's messages, on the call's gRPC thread (item 1).
// No lock is held across a callback anywhere on this path.
#ifndef FGW_SERVER_GRPC_CALL_HANDLER_H_
#define FGW_SERVER_GRPC_CALL_HANDLER_H_

#include <functional>
#include <string>
#include <utility>
#include <vector>

#include "absl/functional/any_invocable.h"
#include "absl/status/status.h"
#include "absl/time/time.h"
#include "server/policy/caller_credential.h"
#include "server/util/cancellation.h"

namespace fgw {

struct IncomingCall {
  std::string method;  // "/formance.ledger.v2.LedgerService/CreateTransaction".
  absl::Time deadline = absl::InfiniteFuture();
  // Client metadata, keys lower-case; binary (-bin) values decoded. Without the credential
  // headers (authorization, x-api-key): those are in `credential` only.
  std::vector<std::pair<std::string, std::string>> metadata;
  std::string peer;
  // What the caller presented (caller_credential_extractor.h); the chain's admission filter
  // checks it against the caller policy. Holds a secret: never log it.
  CallerCredential credential;
  Cancellation* cancellation =
      nullptr;  // Fires when the caller cancels; owned by the gRPC layer.
};

struct CallResult {
  absl::Status status;
  std::string response;  // Serialized response message, when status is OK.
  std::vector<std::pair<std::string, std::string>> initial_metadata;
  std::vector<std::pair<std::string, std::string>> trailing_metadata;
  // When set, run by the gRPC layer (where the thread model says) before anything is sent; it
  // may fill in every field above.
  absl::AnyInvocable<void(CallResult&)> build;
};

class UnaryCallHandler {
 public:
  virtual ~UnaryCallHandler() = default;
  virtual void HandleUnary(const IncomingCall& call, std::string request,
                           std::function<void(CallResult)> done) = 0;
};

}  // namespace fgw

#endif  // FGW_SERVER_GRPC_CALL_HANDLER_H_
