#include "server/grpc/unary_reactor.h"

#include <chrono>
#include <memory>
#include <utility>

#include "absl/time/time.h"
#include "server/grpc/status_conversion.h"
#include "server/util/status_details.h"
#include "spdlog/spdlog.h"

namespace fgw {

UnaryReactor::UnaryReactor(grpc::GenericCallbackServerContext* ctx,
                           UnaryCallHandler* handler)
    : ctx_(ctx), handler_(handler) {
  StartRead(&read_buffer_);
}

void UnaryReactor::OnReadDone(bool ok) {
  if (ok) {
    if (++messages_read_ == 1) {
      request_ = ByteBufferToString(read_buffer_);
      read_buffer_.Clear();
      StartRead(&read_buffer_);  // Expect the half-close.
      return;
    }
    FinishWithStatus(
        absl::InvalidArgumentError("a unary method takes exactly one request "
                                   "message; the client sent more"));
    return;
  }
  // No more messages: the client half-closed, or the call is cancelled (OnCancel finishes).
  if (ctx_->IsCancelled()) return;
  if (messages_read_ == 0) {
    FinishWithStatus(
        absl::InvalidArgumentError("a unary method takes exactly one request "
                                   "message; the client sent none"));
    return;
  }
  Dispatch();
}

void UnaryReactor::Dispatch() {
  {
    absl::MutexLock lock(&mu_);
    if (finishing_) return;  // Cancelled meanwhile.
  }
  IncomingCall call;
  call.method = ctx_->method();
  const auto deadline = ctx_->deadline();  // time_point::max() when none.
  call.deadline = deadline == std::chrono::system_clock::time_point::max()
                      ? absl::InfiniteFuture()
                      : absl::FromChrono(deadline);
  call.peer = ctx_->peer();
  call.cancellation = &cancellation_;
  for (const auto& [key, value] : ctx_->client_metadata()) {
    // gRPC delivers metadata keys lower-case already (HTTP/2).
    call.metadata.emplace_back(std::string(key.data(), key.size()),
                               std::string(value.data(), value.size()));
  }
  // The handler's reference lives as long as any copy of `done`: if the handler drops it
  // without calling it, the call still finishes (INTERNAL) and the reactor is still freed.
  struct HandlerRef {
    explicit HandlerRef(UnaryReactor* r) : reactor(r) {}
    ~HandlerRef() {
      if (reactor->ClaimFinish()) {
        spdlog::error(
            "grpc: {}: the handler dropped the call without answering",
            reactor->ctx_->method());
        reactor->Finish(
            grpc::Status(grpc::StatusCode::INTERNAL, "the call was dropped"));
      }
      reactor->Unref();
    }
    UnaryReactor* const reactor;
  };
  refs_.fetch_add(1, std::memory_order_relaxed);
  auto ref = std::make_shared<HandlerRef>(this);
  handler_->HandleUnary(call, std::move(request_), [ref](CallResult result) {
    ref->reactor->OnHandlerDone(std::move(result));
  });
}

void UnaryReactor::OnHandlerDone(CallResult result) {
  if (ClaimFinish()) {
    for (const auto& [key, value] : result.initial_metadata) {
      ctx_->AddInitialMetadata(key, value);
    }
    for (const auto& [key, value] : result.trailing_metadata) {
      ctx_->AddTrailingMetadata(key, value);
    }
    if (result.status.ok()) {
      response_buffer_ = StringToByteBuffer(std::move(result.response));
      StartWriteAndFinish(&response_buffer_, grpc::WriteOptions(),
                          grpc::Status::OK);
    } else {
      Finish(ToGrpcStatus(result.status));
    }
  }
}

void UnaryReactor::OnWriteDone(bool /*ok*/) {}

void UnaryReactor::OnCancel() {
  // Callbacks registered by the handler may call `done` inline: no lock held here.
  cancellation_.Cancel();
  if (ClaimFinish())
    Finish(grpc::Status(grpc::StatusCode::CANCELLED, "call cancelled"));
}

void UnaryReactor::OnDone() { Unref(); }

bool UnaryReactor::ClaimFinish() {
  absl::MutexLock lock(&mu_);
  if (finishing_) return false;
  finishing_ = true;
  return true;
}

void UnaryReactor::FinishWithStatus(const absl::Status& status) {
  if (!ClaimFinish()) return;
  spdlog::debug("grpc: {} from {}: {}", ctx_->method(), ctx_->peer(),
                status.ToString());
  Finish(ToGrpcStatus(status));
}

void UnaryReactor::Unref() {
  if (refs_.fetch_sub(1, std::memory_order_acq_rel) == 1) delete this;
}

}  // namespace fgw
