// CallerCredential: what a caller presented to prove who it is, as the gRPC layer extracts it
// (server/grpc/caller_credential_extractor.h) and the policy reads it (caller_policy.h). Plain
// data; the order of the fields is the order of precedence: a verified client certificate, then
// an API key in the request metadata, then the unix-socket peer ("local").
//
// `api_key` is a secret: it is hashed (api_key.h) and compared, never logged or copied into
// anything that outlives the call. Use Describe() for logs.
#ifndef FGW_SERVER_POLICY_CALLER_CREDENTIAL_H_
#define FGW_SERVER_POLICY_CALLER_CREDENTIAL_H_

#include <string>

namespace fgw {

struct CallerCredential {
  // The verified client certificate's identity: its SPIFFE URI SAN, else its first DNS SAN,
  // else its subject. Empty: no client certificate.
  std::string certificate_identity;
  // From `authorization: Bearer <key>` or `x-api-key: <key>`. Empty: none presented.
  std::string api_key;
  // The call came over a unix domain socket.
  bool local = false;
  // gRPC's peer string ("ipv4:10.0.0.7:53124", "unix:"), for audit lines.
  std::string peer;
};

}  // namespace fgw

#endif  // FGW_SERVER_POLICY_CALLER_CREDENTIAL_H_
