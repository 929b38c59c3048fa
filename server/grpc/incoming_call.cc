#include "server/grpc/incoming_call.h"

#include <chrono>
#include <memory>
#include <string>

#include "absl/time/time.h"
#include "server/grpc/caller_credential_extractor.h"

namespace fgw {

IncomingCall ReadIncomingCall(grpc::GenericServerContext& ctx,
                              Cancellation* cancellation,
                              bool read_certificate) {
  IncomingCall incoming;
  incoming.method = ctx.method();
  const auto deadline = ctx.deadline();  // time_point::max() when none.
  incoming.deadline = deadline == std::chrono::system_clock::time_point::max()
                          ? absl::InfiniteFuture()
                          : absl::FromChrono(deadline);
  incoming.peer = ctx.peer();
  incoming.cancellation = cancellation;
  incoming.metadata.reserve(ctx.client_metadata().size());
  for (const auto& [key, value] : ctx.client_metadata()) {
    // gRPC delivers metadata keys lower-case already (HTTP/2).
    incoming.metadata.emplace_back(std::string(key.data(), key.size()),
                                   std::string(value.data(), value.size()));
  }
  std::shared_ptr<const grpc::AuthContext> auth;
  if (read_certificate) auth = ctx.auth_context();
  incoming.credential =
      ExtractCallerCredential(auth.get(), incoming.metadata, incoming.peer);
  RemoveCredentialMetadata(&incoming.metadata);
  return incoming;
}

}  // namespace fgw
