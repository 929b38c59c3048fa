// PolicyDocument: the caller policy as written in YAML (the `policy:` section of the gateway
// config, or the file `policy.file` names), parsed strictly but not yet checked against the
// served methods (caller_policy.h does that). The format (config/README.md has a worked
// example):
//
//   audit: false                # true: log what would be refused, refuse nothing
//   api_keys_file: /etc/fgw/api-keys   # optional, api_key.h; re-read when it changes
//   roles:                      # name -> method globs ("pkg.Service/Method", '*' any run)
//     ledger-reader: [formance.ledger.v2.LedgerService/Get*, formance.ledger.v2.LedgerService/List*]
//   callers:
//     billing:
//       certificates: [spiffe://example.org/ns/prod/sa/billing]   # certificate identities
//       api_keys_sha256: [<64 hex>]                               # SHA-256 of its keys
//       local: false            # true: calls over the unix socket are this caller
//       roles: [ledger-reader, read-only]
//       rate: {per_second: 50, burst: 100}   # token bucket; absent: unlimited
//       max_in_flight: 20                    # absent: only the gateway-wide cap
//       formance_client:        # optional: its own Formance OAuth2 client for its calls
//         client_id: billing-gw
//         client_secret_file: /etc/fgw/secrets/billing
//   deny:                       # beats every role
//     - callers: ["*"]          # caller names, or "*" for all
//       methods: [formance.auth.v1.AuthService/*]
//
// Built-in roles (caller_policy.h): `all` and `read-only`. Errors: INVALID_ARGUMENT with every
// problem's key path ("policy.callers.billing.roles: expected a list of role names, got ...")
// joined by "; ". Thread safety: pure functions.
#ifndef FGW_SERVER_POLICY_POLICY_DOCUMENT_H_
#define FGW_SERVER_POLICY_POLICY_DOCUMENT_H_

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace fgw {

struct CallerLimitsSpec {
  double rate_per_second = 0;  // 0: no rate limit.
  int burst = 0;               // 0 with a rate: max(1, ceil(rate)).
  int max_in_flight = 0;       // 0: no per-caller cap.
};

// The caller's own Formance OAuth2 client (least-privilege scopes per team); the secret stays
// in a file only the gateway reads.
struct FormanceClientSpec {
  std::string client_id;
  std::string client_secret_file;
  bool configured() const { return !client_id.empty(); }
};

struct CallerSpec {
  std::string name;
  std::vector<std::string> certificates;
  std::vector<std::string> api_keys_sha256;  // Lower-case hex.
  bool local = false;
  std::vector<std::string> roles;
  CallerLimitsSpec limits;
  FormanceClientSpec
      formance_client;  // Not configured: the gateway's own credentials.
};

struct RoleSpec {
  std::string name;
  std::vector<std::string> methods;  // Globs.
};

struct DenySpec {
  std::vector<std::string> callers;  // Names or "*".
  std::vector<std::string> methods;  // Globs.
};

struct PolicyDocument {
  bool audit = false;
  std::string api_keys_file;
  std::vector<RoleSpec> roles;      // In document order.
  std::vector<CallerSpec> callers;  // In document order.
  std::vector<DenySpec> deny;
};

// Parses `yaml_text`. `path` prefixes every key path in messages ("policy" for the section of
// the gateway config, "" for a policy file); `source` names the document (a file path) and
// prefixes the message when not empty.
absl::StatusOr<PolicyDocument> ParsePolicyDocument(absl::string_view yaml_text,
                                                   absl::string_view source,
                                                   absl::string_view path);

}  // namespace fgw

#endif  // FGW_SERVER_POLICY_POLICY_DOCUMENT_H_
