// MakeCallerTokenSource: the token source of a caller's own Formance OAuth2 client (policy:
// callers.<name>.formance_client): an OAuth2TokenSource over its own CredentialsSource (client
// id, secret file re-read when it changes), on the gateway's token endpoint and transport, with
// the gateway's auth timings. Its Identity() is "caller-client:<client id>" plus the OAuth2
// source's identity (client id and credentials generation; empty before the first token), so
// its cache entries are its own from the first call on.
//
// Errors: FAILED_PRECONDITION when the secret file cannot be read (checked once, at load; the
// file is re-read at run time like the gateway's own).
//
// Thread safety: the returned source is thread-safe (TokenSource). `transport` and `clock` are
// not owned and must outlive it.
#ifndef FGW_SERVER_ENGINE_CALLER_TOKENS_H_
#define FGW_SERVER_ENGINE_CALLER_TOKENS_H_

#include <memory>

#include "absl/status/statusor.h"
#include "server/auth/oauth2_token_source.h"
#include "server/auth/token_source.h"
#include "server/policy/policy_document.h"
#include "server/upstream/transport.h"
#include "server/util/clock.h"

namespace fgw {

absl::StatusOr<std::shared_ptr<TokenSource>> MakeCallerTokenSource(
    const FormanceClientSpec& client, const OAuth2Options& oauth,
    Transport* transport, Clock* clock);

}  // namespace fgw

#endif  // FGW_SERVER_ENGINE_CALLER_TOKENS_H_
