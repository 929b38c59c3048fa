#include "server/grpc/unary_reactor.h"

#include <memory>
#include <utility>

#include "absl/strings/str_cat.h"
#include "server/grpc/incoming_call.h"
#include "server/grpc/outgoing_metadata.h"
#include "server/grpc/status_conversion.h"
#include "spdlog/spdlog.h"

namespace fgw {
namespace {

void FinishWithStatus(ServerCall* call, const absl::Status& status) {
  spdlog::debug("grpc: {} from {}: {}", call->context().method(),
                call->context().peer(), status.ToString());
  call->Finish(ToGrpcStatus(status));
}

}  // namespace

// Shared by every copy of the handler's `done`: keeps the call alive until the handler
// answers, and finishes it with INTERNAL if the handler drops `done` without calling it.
struct UnaryReactor::HandlerRef {
  explicit HandlerRef(ServerCall* call)
      : hold(std::make_unique<ServerCall::Hold>(call)) {}
  ~HandlerRef() {
    if (answered) return;
    if (hold->call()->Finish(
            grpc::Status(grpc::StatusCode::INTERNAL, "the call was dropped"))) {
      spdlog::error("grpc: {}: the handler dropped the call without answering",
                    hold->call()->context().method());
    }
  }
  std::atomic<bool> answered{false};
  // Released by the answer: a copy of `done` kept after it was called holds nothing.
  std::unique_ptr<ServerCall::Hold> hold;
};

void UnaryReactor::OnMessage(ServerCall* call, std::string message) {
  if (++messages_read_ == 1) {
    request_ = std::move(message);
    return;  // Expect the half-close.
  }
  FinishWithStatus(call,
                   absl::InvalidArgumentError(
                       "a unary method takes exactly one request message; the "
                       "client sent more"));
}

void UnaryReactor::OnHalfClose(ServerCall* call) {
  if (messages_read_ == 0) {
    // Half-closed without a message, or the call died (then finishing does nothing).
    FinishWithStatus(call,
                     absl::InvalidArgumentError(
                         "a unary method takes exactly one request message; "
                         "the client sent none"));
  } else if (messages_read_ == 1) {
    Dispatch(call);
  }
}

void UnaryReactor::OnCancel(ServerCall* /*call*/) {
  // Callbacks registered by the handler may call `done` inline: it is dropped.
  cancellation_.Cancel();
}

void UnaryReactor::Dispatch(ServerCall* call) {
  grpc::GenericServerContext& ctx = call->context();
  if (handler_ == nullptr) {
    FinishWithStatus(call, absl::UnimplementedError(
                               absl::StrCat("unknown method ", ctx.method())));
    return;
  }
  if (cancellation_.IsCancelled()) return;
  IncomingCall incoming =
      ReadIncomingCall(ctx, &cancellation_, read_certificate_);
  auto ref = std::make_shared<HandlerRef>(call);
  handler_->HandleUnary(
      incoming, std::move(request_), [ref](CallResult result) {
        if (ref->answered.exchange(true)) return;
        if (!result.build) {
          Send(ref, std::move(result));
          return;
        }
        // The thread model of call_handler.h, item 4: ServerCall::Resume decides where.
        ServerCall* call = ref->hold->call();
        call->Resume([ref, result = std::move(result)]() mutable {
          auto build = std::move(result.build);
          build(result);
          Send(ref, std::move(result));
        });
      });
}

void UnaryReactor::Send(const std::shared_ptr<HandlerRef>& ref,
                        CallResult result) {
  ServerCall* call = ref->hold->call();
  grpc::GenericServerContext& ctx = call->context();
  // Checked first: gRPC core aborts the process on an invalid key or value.
  for (auto& [key, value] :
       SafeMetadata(std::move(result.initial_metadata), "initial")) {
    ctx.AddInitialMetadata(key, value);
  }
  for (auto& [key, value] :
       SafeMetadata(std::move(result.trailing_metadata), "trailing")) {
    ctx.AddTrailingMetadata(key, value);
  }
  if (result.status.ok()) {
    call->Finish(grpc::Status::OK, &result.response);
  } else {
    call->Finish(ToGrpcStatus(result.status));
  }
  ref->hold.reset();
}

}  // namespace fgw
