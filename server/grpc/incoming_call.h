// ReadIncomingCall: what a reactor hands its handler about a call (IncomingCall, in
// call_handler.h), read from gRPC's server context in one place for unary and stream reactors:
// method, deadline (InfiniteFuture when the caller set none), peer, client metadata (keys
// lower-case, as HTTP/2 delivers them), and the caller's credential (client certificate when
// `read_certificate`, else the authorization / x-api-key metadata, else a unix-socket peer),
// with the credential headers removed from the metadata passed on.
//
// Thread safety: call it on the call's gRPC thread, while `ctx` is alive. `cancellation` is
// not owned and is stored in the result as given.
#ifndef FGW_SERVER_GRPC_INCOMING_CALL_H_
#define FGW_SERVER_GRPC_INCOMING_CALL_H_

#include "grpcpp/generic/async_generic_service.h"
#include "server/grpc/call_handler.h"
#include "server/util/cancellation.h"

namespace fgw {

IncomingCall ReadIncomingCall(grpc::GenericServerContext& ctx,
                              Cancellation* cancellation,
                              bool read_certificate);

}  // namespace fgw

#endif  // FGW_SERVER_GRPC_INCOMING_CALL_H_
