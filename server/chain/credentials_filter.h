// CredentialsFilter: puts "Authorization: Bearer <token>" on each request of an operation that
// needs one (UpstreamCallSpec::needs_token), with a token for the operation's scopes from the
// TokenSource; operations without security, or a gateway without credentials (null source),
// pass through untouched.
//
// - The token goes on this filter's own copy of the request: nothing above it ever sees it, and
//   it is never logged.
// - A token error ends the call with the TokenSource's status (UNAUTHENTICATED, UNAVAILABLE,
//   DEADLINE_EXCEEDED), marked FinalError so the retry filter does not repeat it (the token
//   source backs off on its own).
// - HTTP 401 with a token: that token is invalidated, a new one fetched and the request replayed
//   once (a 401 means not applied). The replay counts in the Exchange's attempts but not against
//   the retry filter's limit (the retry filter above sees one attempt). A second 401 is the
//   answer.
//
// Thread safety: as Filter. `tokens` (may be null) is not owned and must outlive every call.
#ifndef FGW_SERVER_CHAIN_CREDENTIALS_FILTER_H_
#define FGW_SERVER_CHAIN_CREDENTIALS_FILTER_H_

#include "server/auth/token_source.h"
#include "server/chain/filter.h"

namespace fgw {

class CredentialsFilter : public Filter {
 public:
  explicit CredentialsFilter(TokenSource* tokens) : tokens_(tokens) {}
  void Send(const std::shared_ptr<Exchange>& x, HttpRequest request,
            const Next& next, ReplyCallback done) override;

 private:
  TokenSource* const tokens_;
};

}  // namespace fgw

#endif  // FGW_SERVER_CHAIN_CREDENTIALS_FILTER_H_
