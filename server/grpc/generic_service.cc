#include "server/grpc/generic_service.h"

#include <string>

#include "absl/strings/str_cat.h"
#include "server/grpc/unary_reactor.h"

namespace fgw {
namespace {

// Finishes at once with a fixed status.
class StatusReactor final : public grpc::ServerGenericBidiReactor {
 public:
  explicit StatusReactor(grpc::Status status) { Finish(status); }
  void OnDone() override { delete this; }
};

}  // namespace

grpc::ServerGenericBidiReactor* GenericService::CreateReactor(
    grpc::GenericCallbackServerContext* ctx) {
  if (ctx->method() == kReflectionMethod && reflection_ != nullptr) {
    return reflection_->CreateReactor(ctx);
  }
  if (handler_ == nullptr) {
    return new StatusReactor(
        grpc::Status(grpc::StatusCode::UNIMPLEMENTED,
                     absl::StrCat("unknown method ", ctx->method())));
  }
  return new UnaryReactor(ctx, handler_);
}

}  // namespace fgw
