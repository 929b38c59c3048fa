#include "server/engine/caller_tokens.h"

#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "server/auth/credentials.h"

namespace fgw {
namespace {

// An OAuth2TokenSource that owns its credentials.
class CallerTokenSource final : public TokenSource {
 public:
  CallerTokenSource(const FormanceClientSpec& client,
                    const OAuth2Options& oauth, Transport* transport,
                    Clock* clock)
      : prefix_(absl::StrCat("caller-client:", client.client_id, "\n")),
        credentials_(Options(client), clock),
        tokens_(oauth, &credentials_, transport, clock) {}

  void GetToken(const std::vector<std::string>& scopes, absl::Time deadline,
                Callback done) override {
    tokens_.GetToken(scopes, deadline, std::move(done));
  }
  void Invalidate(const std::vector<std::string>& scopes,
                  const std::string& token) override {
    tokens_.Invalidate(scopes, token);
  }
  // Never empty, never the gateway's: OAuth2TokenSource's identity is "" until its first
  // token, which would let two sources share cache entries.
  std::string Identity() override {
    return absl::StrCat(prefix_, tokens_.Identity());
  }
  void Shutdown() override { tokens_.Shutdown(); }

 private:
  static CredentialsOptions Options(const FormanceClientSpec& client) {
    CredentialsOptions options;
    options.client_id = client.client_id;
    options.client_secret_file = client.client_secret_file;
    return options;
  }

  const std::string prefix_;
  CredentialsSource credentials_;  // Before tokens_, which uses it.
  OAuth2TokenSource tokens_;
};

}  // namespace

absl::StatusOr<std::shared_ptr<TokenSource>> MakeCallerTokenSource(
    const FormanceClientSpec& client, const OAuth2Options& oauth,
    Transport* transport, Clock* clock) {
  if (access(client.client_secret_file.c_str(), R_OK) != 0) {
    return absl::FailedPreconditionError(
        absl::StrCat("client_secret_file: cannot read ",
                     client.client_secret_file, ": ", std::strerror(errno)));
  }
  return std::shared_ptr<TokenSource>(
      std::make_shared<CallerTokenSource>(client, oauth, transport, clock));
}

}  // namespace fgw
