// OAuth2TokenSource: OAuth2 client credentials exactly as the Formance SDK does it, centrally.
//
// - Token request: POST <token_path> on the given Transport, Content-Type
//   application/x-www-form-urlencoded, body
//   grant_type=client_credentials&client_id=..&client_secret=..&scope=<scopes space-joined>
//   (WHATWG form encoding: space as '+'; scope omitted when the operation has none). Credentials
//   go in the body, not Basic auth.
// - The response must carry access_token and token_type; expires_in is optional (absent: the
//   token never expires).
// - One token per sorted scope set; a cached token whose scope set is a superset is reused.
// - Refresh: from `refresh_ahead` before expiry (half the lifetime when that is shorter), callers
//   still get the cached token at once while ONE background request fetches the next; a token is
//   never handed out after expiry - 5 s (then callers wait for the new one).
// - Exactly one token request is in flight per scope set, however many callers wait.
// - Credentials rotation: when CredentialsSource reports a new generation, cached tokens are
//   dropped and the next call fetches with the new secret. A call answered from the cache does
//   not consult CredentialsSource: the credentials are re-read on every token request and at
//   most once per `credentials_recheck` otherwise, so a rotation is seen within that interval
//   (plus the credentials' own file recheck interval).
// - Errors: UNAVAILABLE (endpoint unreachable, timed out, 5xx, 429, malformed answer; or the
//   source is shut down), UNAUTHENTICATED (credentials missing; 4xx such as 400/401
//   invalid_client, with the OAuth `error` code when it is a plain token), DEADLINE_EXCEEDED (the
//   caller's deadline passed while waiting). Messages never contain the secret, a token or the
//   response body.
// - Cost of a call answered from the cache: one clock read, one shared (reader) lock, one hash
//   lookup of the scope list as given (scope lists are interned: the sorted key is built once
//   per distinct list) and one map lookup; no allocation besides the copy of the token handed
//   to `done`.
// - Shutdown() (also run by the destructor): waiting callers get UNAVAILABLE, their deadline
//   timers are cancelled, token requests in flight are cancelled and no refresh starts again;
//   cached tokens are still handed out until they expire.
//
// Lifetime: transport callbacks and clock timers hold only a weak reference to the state, so a
// token request or timer that completes after destruction does nothing. `credentials` and
// `transport` are not owned and must outlive this object; `clock` (not owned) must also outlive
// the token requests and timers this object started.
//
// Thread safety: all methods may be called concurrently.
#ifndef FGW_SERVER_AUTH_OAUTH2_TOKEN_SOURCE_H_
#define FGW_SERVER_AUTH_OAUTH2_TOKEN_SOURCE_H_

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "server/auth/credentials.h"
#include "server/auth/token_source.h"
#include "server/upstream/transport.h"
#include "server/util/clock.h"

namespace fgw {

struct OAuth2Options {
  // path_and_query of the token endpoint on the transport given to the token source.
  std::string token_path = "/api/auth/oauth/token";
  absl::Duration refresh_ahead =
      absl::Seconds(60);  // AuthConfig::refresh_ahead.
  absl::Duration request_timeout = absl::Seconds(30);  // Of one token request.
  absl::Duration failure_backoff =
      absl::Seconds(1);  // Between background refreshes that fail.
  // How long a call answered from the cache goes without re-reading the credentials (to see a
  // rotation). Token requests always read them.
  absl::Duration credentials_recheck = absl::Seconds(1);
};

// Splits AuthConfig::token_url against the upstream base URL, as the SDK resolves it:
// "" -> the upstream origin + "/api/auth/oauth/token"; "/path" -> the upstream origin + path;
// "https://other/path" -> that origin + path. `origin` is a base URL for a transport
// ("https://host:port"); reuse the upstream transport when it equals the upstream base URL.
struct TokenEndpoint {
  std::string origin;
  std::string path;
};
absl::StatusOr<TokenEndpoint> ResolveTokenEndpoint(
    const std::string& upstream_url, const std::string& token_url);

// The exact form body of a token request (exposed for tests).
std::string TokenRequestBody(const ClientCredentials& credentials,
                             const std::string& scope);

class OAuth2TokenSource : public TokenSource {
 public:
  OAuth2TokenSource(OAuth2Options options, CredentialsSource* credentials,
                    Transport* transport, Clock* clock);
  // Runs Shutdown(); a token request still in flight may complete later, harmlessly.
  ~OAuth2TokenSource() override;
  OAuth2TokenSource(const OAuth2TokenSource&) = delete;
  OAuth2TokenSource& operator=(const OAuth2TokenSource&) = delete;

  void GetToken(const std::vector<std::string>& scopes, absl::Time deadline,
                Callback done) override;
  void Invalidate(const std::vector<std::string>& scopes,
                  const std::string& token) override;
  std::string Identity() override;
  void Shutdown() override;

  // Token requests sent so far (for metrics and tests).
  int64_t token_requests();

 private:
  // Everything mutable, shared with transport callbacks and timers through weak references.
  class Core;
  const std::shared_ptr<Core> core_;
};

}  // namespace fgw

#endif  // FGW_SERVER_AUTH_OAUTH2_TOKEN_SOURCE_H_
