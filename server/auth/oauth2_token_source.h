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
//   dropped and the next call fetches with the new secret.
// - Errors: UNAVAILABLE (endpoint unreachable, timed out, 5xx, 429, malformed answer),
//   UNAUTHENTICATED (credentials missing; 4xx such as 400/401 invalid_client, with the OAuth
//   `error` code when it is a plain token), DEADLINE_EXCEEDED (the caller's deadline passed while
//   waiting). Messages never contain the secret, a token or the response body.
//
// Thread safety: all methods may be called concurrently. `credentials`, `transport` and `clock`
// are not owned and must outlive this object; the destructor cancels waiters' timers, but a
// token request still in flight must complete before destruction.
#ifndef FGW_SERVER_AUTH_OAUTH2_TOKEN_SOURCE_H_
#define FGW_SERVER_AUTH_OAUTH2_TOKEN_SOURCE_H_

#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
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
  ~OAuth2TokenSource() override;

  void GetToken(const std::vector<std::string>& scopes, absl::Time deadline,
                Callback done) override;
  void Invalidate(const std::vector<std::string>& scopes,
                  const std::string& token) override;
  std::string Identity() override;

  // Token requests sent so far (for metrics and tests).
  int64_t token_requests();

 private:
  struct Token {
    std::string access_token;
    std::set<std::string> scopes;
    absl::Time refresh_at;
    absl::Time usable_until;
  };
  struct Waiter {
    Callback done;
    Clock::TimerId timer = 0;
  };
  struct Fetch {
    uint64_t generation = 0;
    uint64_t next_waiter = 1;
    std::map<uint64_t, Waiter> waiters;
  };

  // Starts a token request for `key`; must be called without mu_ held.
  void StartFetch(const std::string& key, std::set<std::string> scopes,
                  const ClientCredentials& credentials,
                  std::shared_ptr<Fetch> fetch);
  void FinishFetch(const std::string& key, std::set<std::string> scopes,
                   const std::shared_ptr<Fetch>& fetch,
                   absl::StatusOr<HttpResponse> result);
  // A usable cached token for `scopes` (exact set first, else a superset), or nullptr.
  const Token* FindLocked(const std::string& key,
                          const std::set<std::string>& scopes, absl::Time now)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  absl::StatusOr<Token> ParseTokenResponse(
      const std::set<std::string>& scopes,
      const absl::StatusOr<HttpResponse>& result, absl::Time now);

  const OAuth2Options options_;
  CredentialsSource* const credentials_;
  Transport* const transport_;
  Clock* const clock_;

  absl::Mutex mu_;
  uint64_t generation_ ABSL_GUARDED_BY(mu_) = 0;
  std::string client_id_ ABSL_GUARDED_BY(mu_);
  std::map<std::string, Token> tokens_ ABSL_GUARDED_BY(mu_);  // By scope key.
  std::map<std::string, std::shared_ptr<Fetch>> fetches_ ABSL_GUARDED_BY(mu_);
  std::map<std::string, absl::Time> last_failure_ ABSL_GUARDED_BY(mu_);
  int64_t token_requests_ ABSL_GUARDED_BY(mu_) = 0;
};

}  // namespace fgw

#endif  // FGW_SERVER_AUTH_OAUTH2_TOKEN_SOURCE_H_
