// StreamCallHandler: what the generic gRPC service hands every server-streaming call to (the
// Stream rpcs beside the paginated lists). The gRPC layer owns the reactor, the writes and the
// status encoding; the handler owns the meaning of the call and its pace.
//
// Contract: HandleStream() must not block. The handler writes through the StreamSink it is
// given and finishes it exactly once; a sink destroyed unfinished ends the call with INTERNAL.
// Threads: as call_handler.h's thread model. HandleStream runs on the call's gRPC thread; a
// StreamSink's `drained` callback runs there too (it is a write completion of that thread);
// Resume() runs its work where item 4 says. Write() and Finish() may be called from any thread,
// one at a time.
#ifndef FGW_SERVER_GRPC_STREAM_CALL_HANDLER_H_
#define FGW_SERVER_GRPC_STREAM_CALL_HANDLER_H_

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/functional/any_invocable.h"
#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "server/grpc/call_handler.h"

namespace fgw {

// One server-streaming call as its handler sees it.
class StreamSink {
 public:
  using Metadata = std::vector<std::pair<std::string, std::string>>;

  virtual ~StreamSink() = default;
  // Queues `messages` (serialized responses), sent in order. `drained` runs once all of them
  // (and every message queued before) have been taken by gRPC's transport, which takes more
  // only as the client's flow-control window allows; it is the handler's cue to produce more.
  // After the call was cancelled or finished, nothing is sent and `drained` is destroyed unrun.
  virtual void Write(std::vector<std::string> messages,
                     absl::AnyInvocable<void()> drained) = 0;
  // Ends the call with `status` (details as status_details.h) and `trailing` metadata (unsafe
  // entries dropped: outgoing_metadata.h). Only the first call counts.
  virtual void Finish(absl::Status status, Metadata trailing) = 0;
  // Runs `fn` where call_handler.h's thread model (item 4) runs a reply's build. One at a time.
  virtual void Resume(absl::AnyInvocable<void()> fn) = 0;
};

class StreamCallHandler {
 public:
  virtual ~StreamCallHandler() = default;
  // Whether "/pkg.Service/Method" is a server-streaming method served here. Thread-safe.
  virtual bool IsStream(absl::string_view method) const = 0;
  // `call.cancellation` stays valid while `sink` lives.
  virtual void HandleStream(const IncomingCall& call, std::string request,
                            std::shared_ptr<StreamSink> sink) = 0;
};

}  // namespace fgw

#endif  // FGW_SERVER_GRPC_STREAM_CALL_HANDLER_H_
