#include "server/grpc/caller_credential_extractor.h"

#include <map>
#include <string>
#include <utility>
#include <vector>

#include "gtest/gtest.h"

namespace fgw {
namespace {

// AuthPropertyIterator's default constructor is protected: an empty iterator.
struct EmptyIterator : grpc::AuthPropertyIterator {
  EmptyIterator() = default;
};

// An AuthContext holding the properties a TLS handshake would have set.
class FakeAuthContext : public grpc::AuthContext {
 public:
  explicit FakeAuthContext(std::multimap<std::string, std::string> props)
      : props_(std::move(props)) {}
  bool IsPeerAuthenticated() const override { return !props_.empty(); }
  std::vector<grpc::string_ref> GetPeerIdentity() const override { return {}; }
  std::string GetPeerIdentityPropertyName() const override { return ""; }
  std::vector<grpc::string_ref> FindPropertyValues(
      const std::string& name) const override {
    std::vector<grpc::string_ref> out;
    auto [lo, hi] = props_.equal_range(name);
    for (auto it = lo; it != hi; ++it) out.emplace_back(it->second);
    return out;
  }
  grpc::AuthPropertyIterator begin() const override { return EmptyIterator(); }
  grpc::AuthPropertyIterator end() const override { return EmptyIterator(); }
  void AddProperty(const std::string&, const grpc::string_ref&) override {}
  bool SetPeerIdentityPropertyName(const std::string&) override {
    return false;
  }

 private:
  std::multimap<std::string, std::string> props_;
};

using Metadata = std::vector<std::pair<std::string, std::string>>;

TEST(ExtractCallerCredentialTest, SpiffeIdThenDnsSanThenSubject) {
  FakeAuthContext spiffe({{"x509_pem_cert", "PEM"},
                          {"peer_spiffe_id", "spiffe://t/billing"},
                          {"peer_dns", "billing.t"},
                          {"x509_subject", "CN=billing"}});
  EXPECT_EQ(ExtractCallerCredential(&spiffe, {}, "ipv4:1.2.3.4:5")
                .certificate_identity,
            "spiffe://t/billing");
  FakeAuthContext dns({{"x509_pem_cert", "PEM"},
                       {"peer_dns", "a.t"},
                       {"peer_dns", "b.t"},
                       {"x509_subject", "CN=a"}});
  EXPECT_EQ(ExtractCallerCredential(&dns, {}, "").certificate_identity, "a.t");
  FakeAuthContext subject(
      {{"x509_pem_cert", "PEM"}, {"x509_subject", "CN=x,O=Example"}});
  EXPECT_EQ(ExtractCallerCredential(&subject, {}, "").certificate_identity,
            "CN=x,O=Example");
}

TEST(ExtractCallerCredentialTest, NoCertificateNoIdentity) {
  FakeAuthContext tls_only(std::multimap<std::string, std::string>{
      {"transport_security_type", "ssl"}});
  EXPECT_EQ(ExtractCallerCredential(&tls_only, {}, "").certificate_identity,
            "");
  EXPECT_EQ(ExtractCallerCredential(nullptr, {}, "").certificate_identity, "");
}

TEST(ExtractCallerCredentialTest, ApiKeyFromBearerThenXApiKey) {
  EXPECT_EQ(ExtractCallerCredential(
                nullptr, Metadata{{"authorization", "Bearer k1 "}}, "")
                .api_key,
            "k1");
  EXPECT_EQ(ExtractCallerCredential(
                nullptr, Metadata{{"authorization", "bearer k1"}}, "")
                .api_key,
            "k1");
  EXPECT_EQ(
      ExtractCallerCredential(
          nullptr,
          Metadata{{"x-api-key", "k2"}, {"authorization", "Bearer k1"}}, "")
          .api_key,
      "k1");
  EXPECT_EQ(
      ExtractCallerCredential(
          nullptr,
          Metadata{{"authorization", "Basic dXNlcg=="}, {"x-api-key", "k2"}},
          "")
          .api_key,
      "k2");
  EXPECT_EQ(ExtractCallerCredential(
                nullptr, Metadata{{"authorization", "Basic dXNlcg=="}}, "")
                .api_key,
            "");
}

TEST(ExtractCallerCredentialTest, UnixPeerIsLocal) {
  EXPECT_TRUE(ExtractCallerCredential(nullptr, {}, "unix:").local);
  EXPECT_TRUE(ExtractCallerCredential(nullptr, {}, "unix:/run/fgw.sock").local);
  auto tcp = ExtractCallerCredential(nullptr, {}, "ipv4:127.0.0.1:4000");
  EXPECT_FALSE(tcp.local);
  EXPECT_EQ(tcp.peer, "ipv4:127.0.0.1:4000");
}

TEST(RemoveCredentialMetadataTest, DropsOnlyTheCredentialHeaders) {
  Metadata md = {{"authorization", "Bearer k"},
                 {"x-formance-cache", "no-cache"},
                 {"x-api-key", "k"},
                 {"idempotency-key", "i"}};
  RemoveCredentialMetadata(&md);
  EXPECT_EQ(md, (Metadata{{"x-formance-cache", "no-cache"},
                          {"idempotency-key", "i"}}));
}

}  // namespace
}  // namespace fgw
