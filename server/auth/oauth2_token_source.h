// OAuth2TokenSource: OAuth2 client credentials exactly as the Formance SDK does it, centrally.
//
// - Token request: POST <token_path> on the given Transport, Content-Type
//   application/x-www-form-urlencoded, body
//   grant_type=client_credentials&client_id=..&client_secret=..&scope=<scopes space-joined>
//   (WHATWG form encoding: space as '+'; scope omitted when the operation has none). Credentials
//   go in the body, not Basic auth.
// - The response must be a JSON object with an access_token that is an RFC 6750 b64token
//   (1*( ALPHA / DIGIT / "-" / "." / "_" / "~" / "+" / "/" ) *"=", 1 to 8192 bytes: nothing
//   that could change the Authorization header it is sent in) and a token_type of "Bearer"
//   (any case). expires_in is optional: absent or null, the token never expires; otherwise a
//   JSON number or a string holding a finite decimal number of seconds. Anything else is a
//   malformed answer (see Errors).
// - Lifetime: the declared expires_in, but at least `min_token_lifetime` (at least 1 s): a
//   token declaring less (0, negative, tiny) is used as if it declared that floor, with a
//   warning logged (once per token request, without the token).
// - One token per sorted scope set; a cached token whose scope set is a superset is reused.
// - Refresh: let expiry = when the answer arrived + lifetime, and ahead = `refresh_ahead`
//   clamped to [0, lifetime / 2]. From expiry - ahead, callers still get the cached token at
//   once while ONE background request fetches the next; the token is handed out until
//   expiry - min(5 s, ahead / 2) and never later (then callers wait for the new one). A token is
//   thus served with no new request for at least half its lifetime, and a failed background
//   refresh is retried only after the failure backoff below.
// - Exactly one token request is in flight per scope set, however many callers wait.
// - Credentials rotation: when CredentialsSource reports a new generation, cached tokens are
//   dropped and the next call fetches with the new secret. A call answered from the cache does
//   not consult CredentialsSource: the credentials are re-read on every token request and at
//   most once per `credentials_recheck` otherwise, so a rotation is seen within that interval
//   (plus the credentials' own file recheck interval).
// - Errors: UNAVAILABLE (endpoint unreachable, timed out, 5xx, 429, another non-2xx, malformed
//   answer; or the source is shut down), UNAUTHENTICATED (credentials missing; 4xx such as
//   400/401 invalid_client, with the OAuth `error` code when it is one RFC 6749 defines),
//   DEADLINE_EXCEEDED (the caller's deadline passed before or while waiting for a request in
//   flight). Messages never contain the secret, a token or the response body.
// - Failure backoff: a token request that fails (any UNAVAILABLE or UNAUTHENTICATED cause above
//   but missing credentials and shutdown) is remembered per scope set, and no token request is
//   sent for that scope set until its backoff has passed: `failure_backoff` after the first
//   failure, doubling with each failure in a row up to `max_failure_backoff`. Until then a call
//   that no cached token answers (the exact set or a superset) gets the remembered code at once,
//   whatever its deadline, with the message "no access token: <reason>; the token endpoint is
//   asked again in <time> (<n> failed requests in a row)" ("(1 failed request)" for the first);
//   the callers waiting for the failed request get the same. The first call after the backoff sends one request, which the calls
//   meanwhile join; the background refresh obeys the same backoff. A success for the scope set,
//   or a credentials rotation, forgets its failures. A failed request sent with credentials
//   since rotated starts no backoff.
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
  // The wait after a failed token request before the next one for the same scope set; it
  // doubles with each failure in a row up to max_failure_backoff. At least 10 ms.
  absl::Duration failure_backoff = absl::Seconds(1);
  // Cap of the failure backoff; at least failure_backoff.
  absl::Duration max_failure_backoff = absl::Seconds(30);
  // A token is used for at least this long, whatever expires_in it declares. At least 1 s.
  absl::Duration min_token_lifetime = absl::Seconds(10);
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

  // Token requests sent so far, and those that failed (any error, shutdown included), for
  // metrics and tests.
  int64_t token_requests();
  int64_t token_failures();

 private:
  // Everything mutable, shared with transport callbacks and timers through weak references.
  class Core;
  const std::shared_ptr<Core> core_;
};

}  // namespace fgw

#endif  // FGW_SERVER_AUTH_OAUTH2_TOKEN_SOURCE_H_
