// API keys as the policy stores them: only their SHA-256, as 64 lower-case hex digits, compared
// in constant time; and the API-key file (policy.api_keys_file), one key hash per line:
//
//   # comment
//   <caller name> <sha256 hex of the key>
//
// A caller may have several lines (key rotation: old and new key both valid). Make a hash with
// `printf %s "$KEY" | sha256sum`.
//
// Thread safety: pure functions.
#ifndef FGW_SERVER_POLICY_API_KEY_H_
#define FGW_SERVER_POLICY_API_KEY_H_

#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace fgw {

// SHA-256 of `key`, lower-case hex.
std::string Sha256Hex(absl::string_view key);

// 64 hex digits (either case).
bool IsSha256Hex(absl::string_view text);

// Equal lengths and bytes; the time taken depends only on the lengths.
bool ConstantTimeEquals(absl::string_view a, absl::string_view b);

struct ApiKeyEntry {
  std::string caller;
  std::string sha256;  // Lower-case hex.
};

// The lines of an API-key file. INVALID_ARGUMENT "<source>:<line>: ..." for a line that is not
// "<caller> <64 hex digits>" (the line's content is never quoted: it may hold a raw key).
absl::StatusOr<std::vector<ApiKeyEntry>> ParseApiKeyFile(
    absl::string_view text, absl::string_view source);

}  // namespace fgw

#endif  // FGW_SERVER_POLICY_API_KEY_H_
