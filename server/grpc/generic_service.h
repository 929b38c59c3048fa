// GenericService: the one gRPC service of the daemon. Every method that no registered service
// claims (gRPC's own health service is registered and takes precedence) arrives here:
//   kReflectionMethod  -> the ReflectionService stream (when one is given)
//   anything else      -> a UnaryReactor handing the call to the UnaryCallHandler, which
//                         answers UNIMPLEMENTED for methods it does not know
// With a null handler every call answers UNIMPLEMENTED.
//
// Thread safety: CreateReactor is called concurrently by gRPC; the service holds no mutable
// state. The handler and reflection service must outlive the server.
#ifndef FGW_SERVER_GRPC_GENERIC_SERVICE_H_
#define FGW_SERVER_GRPC_GENERIC_SERVICE_H_

#include "grpcpp/generic/async_generic_service.h"
#include "server/grpc/call_handler.h"
#include "server/grpc/reflection_service.h"

namespace fgw {

class GenericService final : public grpc::CallbackGenericService {
 public:
  // Either may be null.
  GenericService(UnaryCallHandler* handler, const ReflectionService* reflection)
      : handler_(handler), reflection_(reflection) {}

  grpc::ServerGenericBidiReactor* CreateReactor(
      grpc::GenericCallbackServerContext* ctx) override;

 private:
  UnaryCallHandler* const handler_;
  const ReflectionService* const reflection_;
};

}  // namespace fgw

#endif  // FGW_SERVER_GRPC_GENERIC_SERVICE_H_
