// UnaryReactor: serves one unary call of the generic service by handing it to a
// UnaryCallHandler, without a thread per call.
//
// Protocol: reads exactly one request message and waits for the client's half-close; zero
// messages, or a second message, finish the call with INVALID_ARGUMENT. Then it calls
// HandleUnary() with an IncomingCall (method, deadline, lower-case metadata, peer, a
// Cancellation that fires when the client cancels or the deadline passes) and, when the
// handler's `done` runs, sends the initial metadata, the response (or the status converted by
// ToGrpcStatus) and the trailing metadata, then finishes.
//
// Lifetime and threading: the reactor deletes itself once BOTH gRPC has called OnDone and the
// last copy of the handler's `done` is gone (a reference count), so `done` may run on any
// thread, before or after cancellation, and never touches freed memory. A handler that drops
// `done` without calling it breaks its contract: the call then finishes with INTERNAL (unless
// already finished) and nothing leaks. Exactly one of {handler done, OnCancel,
// protocol error} finishes the call (state guarded by mu_); a `done` after the call was
// finished is dropped. No lock is held while calling into gRPC or the handler.
#ifndef FGW_SERVER_GRPC_UNARY_REACTOR_H_
#define FGW_SERVER_GRPC_UNARY_REACTOR_H_

#include <atomic>
#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "grpcpp/generic/async_generic_service.h"
#include "grpcpp/support/byte_buffer.h"
#include "server/grpc/call_handler.h"
#include "server/util/cancellation.h"

namespace fgw {

class UnaryReactor final : public grpc::ServerGenericBidiReactor {
 public:
  // `ctx` and `handler` must outlive the call (gRPC owns ctx until OnDone; the server owns
  // the handler). Starts reading at once.
  UnaryReactor(grpc::GenericCallbackServerContext* ctx,
               UnaryCallHandler* handler);

  void OnReadDone(bool ok) override;
  void OnWriteDone(bool ok) override;
  void OnCancel() override;
  void OnDone() override;

 private:
  ~UnaryReactor() override = default;

  void Dispatch();
  void OnHandlerDone(CallResult result);
  // Claims the right to finish the call; false if it was already claimed.
  bool ClaimFinish();
  void FinishWithStatus(const absl::Status& status);
  void Unref();

  grpc::GenericCallbackServerContext* const ctx_;
  UnaryCallHandler* const handler_;
  Cancellation cancellation_;
  grpc::ByteBuffer read_buffer_;
  grpc::ByteBuffer response_buffer_;
  std::string request_;
  int messages_read_ = 0;  // Only touched by the sequential read callbacks.
  // One for gRPC (released in OnDone), one while any copy of the handler's `done` exists.
  std::atomic<int> refs_{1};

  absl::Mutex mu_;
  bool finishing_ ABSL_GUARDED_BY(mu_) = false;
};

}  // namespace fgw

#endif  // FGW_SERVER_GRPC_UNARY_REACTOR_H_
