// StreamReactor: serves one server-streaming call by handing it to a StreamCallHandler.
//
// Protocol: as UnaryReactor: exactly one request message, then the client's half-close (zero or
// two messages finish the call with INVALID_ARGUMENT); then HandleStream() with an IncomingCall
// (method, deadline, lower-case metadata, peer, the caller's credential exactly as UnaryReactor
// extracts it (caller_credential_extractor.h; its metadata removed), a Cancellation that fires
// when the client cancels or the deadline passes) and a StreamSink over the call
// (stream_call_handler.h).
//
// Lifetime: the sink keeps the call alive (a ServerCall::Hold) while the handler holds it, so it
// may be used from any thread and never touches freed memory; once the call is over its writes
// are dropped. A sink destroyed without Finish() ends the call with INTERNAL (unless already
// over). With a null handler every call finishes UNIMPLEMENTED.
#ifndef FGW_SERVER_GRPC_STREAM_REACTOR_H_
#define FGW_SERVER_GRPC_STREAM_REACTOR_H_

#include <string>

#include "server/grpc/server_call.h"
#include "server/grpc/stream_call_handler.h"
#include "server/util/cancellation.h"

namespace fgw {

class StreamReactor final : public CallReactor {
 public:
  // `handler` (may be null) must outlive the call. `read_certificate`: as UnaryReactor (the
  // listener is TLS: the caller's certificate identifies it).
  explicit StreamReactor(StreamCallHandler* handler,
                         bool read_certificate = false)
      : handler_(handler), read_certificate_(read_certificate) {}

  void OnMessage(ServerCall* call, std::string message) override;
  void OnHalfClose(ServerCall* call) override;
  void OnCancel(ServerCall* call) override;

 private:
  void Dispatch(ServerCall* call);

  StreamCallHandler* const handler_;
  const bool read_certificate_;
  Cancellation cancellation_;
  std::string request_;
  int messages_read_ = 0;
};

}  // namespace fgw

#endif  // FGW_SERVER_GRPC_STREAM_REACTOR_H_
