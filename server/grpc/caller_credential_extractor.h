// ExtractCallerCredential: what a caller presented to prove who it is (CallerCredential,
// server/policy/caller_credential.h), read from the call's transport and metadata:
//   - a verified client certificate (TLS listener): its SPIFFE ID (the one spiffe:// URI SAN
//     gRPC validated), else its first DNS SAN, else its subject ("CN=billing,O=Example");
//   - an API key: `authorization: Bearer <key>` (scheme case-insensitive), else `x-api-key`;
//   - `local`: the peer is a unix-domain socket ("unix:" peer).
// The policy decides what they are worth (caller_policy.h); nothing is refused here.
//
// RemoveCredentialMetadata() drops `authorization` and `x-api-key` from metadata handed on,
// so no later code can log or forward a key.
//
// Thread safety: pure functions.
#ifndef FGW_SERVER_GRPC_CALLER_CREDENTIAL_EXTRACTOR_H_
#define FGW_SERVER_GRPC_CALLER_CREDENTIAL_EXTRACTOR_H_

#include <string>
#include <utility>
#include <vector>

#include "absl/strings/string_view.h"
#include "grpcpp/security/auth_context.h"
#include "server/policy/caller_credential.h"

namespace fgw {

// `auth` may be null (plaintext listener). `metadata` keys are lower-case.
CallerCredential ExtractCallerCredential(
    const grpc::AuthContext* auth,
    const std::vector<std::pair<std::string, std::string>>& metadata,
    absl::string_view peer);

void RemoveCredentialMetadata(
    std::vector<std::pair<std::string, std::string>>* metadata);

}  // namespace fgw

#endif  // FGW_SERVER_GRPC_CALLER_CREDENTIAL_EXTRACTOR_H_
