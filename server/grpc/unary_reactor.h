// UnaryReactor: serves one unary call by handing it to a UnaryCallHandler (the Formance
// methods; health and reflection have reactors of their own).
//
// Protocol: reads exactly one request message and waits for the client's half-close; zero
// messages, or a second message, finish the call with INVALID_ARGUMENT. Then it calls
// HandleUnary() with an IncomingCall (method, deadline, lower-case metadata, peer, a
// Cancellation that fires when the client cancels or the deadline passes) and, when the
// handler's `done` runs, runs CallResult::build where call_handler.h's thread model says
// (ServerCall::Resume), then sends the initial metadata, the response (or the status converted
// by ToGrpcStatus) and the trailing metadata, and finishes. With a null handler every call finishes UNIMPLEMENTED.
//
// Lifetime: every copy of the handler's `done` keeps the call alive (a ServerCall::Hold), so
// `done` may run on any thread, before or after cancellation, and never touches freed memory;
// a `done` after the call ended is dropped. A handler that drops `done` without calling it
// breaks its contract: the call then finishes with INTERNAL (unless already finished).
#ifndef FGW_SERVER_GRPC_UNARY_REACTOR_H_
#define FGW_SERVER_GRPC_UNARY_REACTOR_H_

#include <memory>
#include <string>

#include "server/grpc/call_handler.h"
#include "server/grpc/server_call.h"
#include "server/util/cancellation.h"

namespace fgw {

class UnaryReactor final : public CallReactor {
 public:
  // `handler` (may be null) must outlive the call. `read_certificate`: the listener is TLS,
  // so the caller's client certificate (if any) is read for its identity.
  explicit UnaryReactor(UnaryCallHandler* handler,
                        bool read_certificate = false)
      : handler_(handler), read_certificate_(read_certificate) {}

  void OnMessage(ServerCall* call, std::string message) override;
  void OnHalfClose(ServerCall* call) override;
  void OnCancel(ServerCall* call) override;

 private:
  struct HandlerRef;

  void Dispatch(ServerCall* call);
  static void Send(const std::shared_ptr<HandlerRef>& ref, CallResult result);

  UnaryCallHandler* const handler_;
  const bool read_certificate_;
  Cancellation cancellation_;
  std::string request_;
  int messages_read_ = 0;
};

}  // namespace fgw

#endif  // FGW_SERVER_GRPC_UNARY_REACTOR_H_
