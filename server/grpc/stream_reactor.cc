#include "server/grpc/stream_reactor.h"

#include <atomic>
#include <memory>
#include <utility>
#include <vector>

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

class CallSink final : public StreamSink {
 public:
  explicit CallSink(ServerCall* call) : hold_(call) {}
  ~CallSink() override {
    if (finished_.load(std::memory_order_acquire)) return;
    if (hold_.call()->Finish(grpc::Status(grpc::StatusCode::INTERNAL,
                                          "the stream was dropped"))) {
      spdlog::error(
          "grpc: {}: the handler dropped the stream without finishing",
          hold_.call()->context().method());
    }
  }

  void Write(std::vector<std::string> messages,
             absl::AnyInvocable<void()> drained) override {
    ServerCall* call = hold_.call();
    for (std::string& message : messages) call->Write(std::move(message));
    if (drained) call->NotifyWhenDrained(std::move(drained));
  }

  void Finish(absl::Status status, Metadata trailing) override {
    if (finished_.exchange(true, std::memory_order_acq_rel)) return;
    ServerCall* call = hold_.call();
    // Checked first: gRPC core aborts the process on an invalid key or value.
    for (auto& [key, value] : SafeMetadata(std::move(trailing), "trailing")) {
      call->context().AddTrailingMetadata(key, value);
    }
    call->Finish(ToGrpcStatus(status));
  }

  void Resume(absl::AnyInvocable<void()> fn) override {
    hold_.call()->Resume(std::move(fn));
  }

 private:
  ServerCall::Hold hold_;
  std::atomic<bool> finished_{false};
};

}  // namespace

void StreamReactor::OnMessage(ServerCall* call, std::string message) {
  if (++messages_read_ == 1) {
    request_ = std::move(message);
    return;  // Expect the half-close.
  }
  FinishWithStatus(call, absl::InvalidArgumentError(
                             "a server-streaming method takes exactly one "
                             "request message; the client sent more"));
}

void StreamReactor::OnHalfClose(ServerCall* call) {
  if (messages_read_ == 0) {
    FinishWithStatus(call, absl::InvalidArgumentError(
                               "a server-streaming method takes exactly one "
                               "request message; the client sent none"));
  } else if (messages_read_ == 1) {
    Dispatch(call);
  }
}

void StreamReactor::OnCancel(ServerCall* /*call*/) { cancellation_.Cancel(); }

void StreamReactor::Dispatch(ServerCall* call) {
  grpc::GenericServerContext& ctx = call->context();
  if (handler_ == nullptr) {
    FinishWithStatus(call, absl::UnimplementedError(
                               absl::StrCat("unknown method ", ctx.method())));
    return;
  }
  if (cancellation_.IsCancelled()) return;
  IncomingCall incoming =
      ReadIncomingCall(ctx, &cancellation_, read_certificate_);
  handler_->HandleStream(incoming, std::move(request_),
                         std::make_shared<CallSink>(call));
}

}  // namespace fgw
