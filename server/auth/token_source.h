// TokenSource: where bearer tokens for upstream requests come from.
//
// Contract:
// - GetToken() calls `done` exactly once: inline when a usable token is cached, else later on a
//   transport or clock thread. `done` must not block. The token is the bare access token (the
//   caller writes "Authorization: Bearer <token>"). It is a secret: never log it.
// - `deadline` bounds the wait: past it, `done` gets DEADLINE_EXCEEDED.
// - Errors: UNAUTHENTICATED (credentials missing or rejected), UNAVAILABLE (token endpoint
//   unreachable or failing), DEADLINE_EXCEEDED. Messages never contain a secret, a token or a
//   response body.
// - Invalidate() drops `token` (the one that got a 401) so the next GetToken() fetches a new one;
//   a newer token already cached is kept.
// - Shutdown() stops background work for good (token refreshes, token requests in flight) and
//   answers every GetToken() still waiting with UNAVAILABLE; afterwards GetToken() answers from
//   what is cached, or UNAVAILABLE. Idempotent. Call it before tearing down what the callbacks of
//   pending GetToken() calls use.
//
// Thread safety: all methods may be called concurrently from any thread. A TokenSource must
// outlive the GetToken() calls it has not answered yet.
#ifndef FGW_SERVER_AUTH_TOKEN_SOURCE_H_
#define FGW_SERVER_AUTH_TOKEN_SOURCE_H_

#include <functional>
#include <string>
#include <vector>

#include "absl/functional/any_invocable.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"

namespace fgw {

class TokenSource {
 public:
  // Move-only: a callback that captures no more than a shared_ptr is stored without allocating.
  using Callback = absl::AnyInvocable<void(absl::StatusOr<std::string>)>;
  virtual ~TokenSource() = default;

  virtual void GetToken(const std::vector<std::string>& scopes,
                        absl::Time deadline, Callback done) = 0;
  virtual void Invalidate(const std::vector<std::string>& scopes,
                          const std::string& token) = 0;

  // A non-secret identity of the credentials behind the tokens (client id and a generation that
  // changes on rotation), for cache keys. Never a secret or a token.
  virtual std::string Identity() { return ""; }

  // See the contract above. The default does nothing (sources without background work).
  virtual void Shutdown() {}
};

}  // namespace fgw

#endif  // FGW_SERVER_AUTH_TOKEN_SOURCE_H_
