#include "server/grpc/caller_credential_extractor.h"

#include <algorithm>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "grpc/grpc_security_constants.h"

namespace fgw {
namespace {

std::string FirstProperty(const grpc::AuthContext& auth, const char* name) {
  for (const grpc::string_ref& value : auth.FindPropertyValues(name)) {
    if (value.size() > 0) return std::string(value.data(), value.size());
  }
  return "";
}

std::string CertificateIdentity(const grpc::AuthContext& auth) {
  // Only a certificate the TLS handshake verified: gRPC sets these properties then.
  if (FirstProperty(auth, GRPC_X509_PEM_CERT_PROPERTY_NAME).empty()) return "";
  std::string id = FirstProperty(auth, GRPC_PEER_SPIFFE_ID_PROPERTY_NAME);
  if (id.empty()) id = FirstProperty(auth, GRPC_PEER_DNS_PROPERTY_NAME);
  if (id.empty()) id = FirstProperty(auth, GRPC_X509_SUBJECT_PROPERTY_NAME);
  return id;
}

}  // namespace

CallerCredential ExtractCallerCredential(
    const grpc::AuthContext* auth,
    const std::vector<std::pair<std::string, std::string>>& metadata,
    absl::string_view peer) {
  CallerCredential out;
  out.peer = std::string(peer.substr(0, 256));
  out.local = absl::StartsWith(peer, "unix:");
  if (auth != nullptr) out.certificate_identity = CertificateIdentity(*auth);
  const std::string* bearer = nullptr;
  const std::string* api_key = nullptr;
  for (const auto& [key, value] : metadata) {
    if (key == "authorization" && bearer == nullptr) {
      bearer = &value;
    } else if (key == "x-api-key" && api_key == nullptr) {
      api_key = &value;
    }
  }
  if (bearer != nullptr && bearer->size() > 7 &&
      absl::EqualsIgnoreCase(absl::string_view(*bearer).substr(0, 7),
                             "bearer ")) {
    out.api_key = std::string(
        absl::StripAsciiWhitespace(absl::string_view(*bearer).substr(7)));
  } else if (api_key != nullptr) {
    out.api_key = std::string(absl::StripAsciiWhitespace(*api_key));
  }
  return out;
}

void RemoveCredentialMetadata(
    std::vector<std::pair<std::string, std::string>>* metadata) {
  metadata->erase(
      std::remove_if(metadata->begin(), metadata->end(),
                     [](const std::pair<std::string, std::string>& kv) {
                       return kv.first == "authorization" ||
                              kv.first == "x-api-key";
                     }),
      metadata->end());
}

}  // namespace fgw
