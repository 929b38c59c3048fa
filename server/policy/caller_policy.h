// CallerPolicy: a PolicyDocument compiled against the methods the gateway serves, immutable,
// answering the two questions of every call: who is calling (Identify) and may it call this
// method (Allows).
//
// Compilation (Compile): every method glob of a role or deny rule is expanded against the
// served methods ("pkg.Service/Method"; '*' matches any run of characters, '/' and '.'
// included); a glob that matches nothing, an unknown role, a certificate identity, API key
// hash or `local: true` claimed by two callers, and an API-key file line naming an unknown
// caller are INVALID_ARGUMENT naming the key path. Built-in roles:
//   all        every served method;
//   read-only  every GET/HEAD method whose reply holds no secret (ServedMethod).
// A caller's allowed set is the union of its roles minus every deny rule naming it (or "*").
//
// Identity precedence (Identify): a client certificate, then an API key, then `local`; the
// first credential presented decides. UNAUTHENTICATED when it matches no caller or nothing is
// presented. open() policies (no callers) allow every call and identify nobody.
//
// Thread safety: immutable after Compile(); any thread.
#ifndef FGW_SERVER_POLICY_CALLER_POLICY_H_
#define FGW_SERVER_POLICY_CALLER_POLICY_H_

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "server/policy/api_key.h"
#include "server/policy/caller_credential.h"
#include "server/policy/policy_document.h"

namespace fgw {

// One method the gateway serves, as the policy sees it.
struct ServedMethod {
  std::string name;        // "formance.ledger.v2.LedgerService/GetAccount".
  bool read_only = false;  // GET or HEAD.
  bool secret_bearing = false;  // Its reply holds secrets or personal data.
};

// '*' matches any run of characters (none included); everything else matches itself.
bool GlobMatches(absl::string_view glob, absl::string_view name);

class CallerPolicy {
 public:
  struct Caller {
    std::string name;
    absl::flat_hash_set<std::string> allowed;  // Method names, no leading '/'.
    CallerLimitsSpec limits;
    FormanceClientSpec formance_client;
  };

  struct Identification {
    const Caller* caller = nullptr;  // Null when status is not OK.
    // For logs, never a secret: "cert:<identity>", "api-key:<caller>",
    // "api-key:unrecognised", "local", "anonymous".
    std::string identity;
    absl::Status status;  // OK or UNAUTHENTICATED.
  };

  // `path` prefixes key paths in messages ("policy" or a file name).
  static absl::StatusOr<std::unique_ptr<const CallerPolicy>> Compile(
      const PolicyDocument& doc, const std::vector<ApiKeyEntry>& file_keys,
      const std::vector<ServedMethod>& methods, absl::string_view path);

  // No callers configured: every call is allowed, as before policies existed.
  bool open() const { return callers_.empty(); }
  bool audit() const { return audit_; }
  const std::vector<std::unique_ptr<Caller>>& callers() const {
    return callers_;
  }

  Identification Identify(const CallerCredential& credential) const;
  // `method` with or without the leading '/'.
  bool Allows(const Caller& caller, absl::string_view method) const;

 private:
  CallerPolicy() = default;

  bool audit_ = false;
  std::vector<std::unique_ptr<Caller>> callers_;
  absl::flat_hash_map<std::string, const Caller*> by_certificate_;
  std::vector<std::pair<std::string, const Caller*>> by_key_hash_;
  const Caller* local_ = nullptr;
};

}  // namespace fgw

#endif  // FGW_SERVER_POLICY_CALLER_POLICY_H_
