// Client credentials for the OAuth2 client-credentials grant, and the Secret type that keeps a
// secret from being printed by accident.
//
// Sources, in order:
//   client id:     options.client_id, else the file options.client_id_file, else the environment
//                  variable FORMANCE_CLIENT_ID;
//   client secret: the file options.client_secret_file (else FORMANCE_CLIENT_SECRET_FILE), else
//                  the environment variable named by options.client_secret_env
//                  (FORMANCE_CLIENT_SECRET).
// Files are re-read when they change (WatchedFile), so a rotated Kubernetes secret is picked up
// without a restart; ClientCredentials::generation changes whenever the id or the secret does.
//
// Errors (Get): UNAUTHENTICATED "client id/secret not configured" when a source is empty or
// missing, with the file path or variable name but never a value.
//
// Thread safety: Get() may be called from any thread.
#ifndef FGW_SERVER_AUTH_CREDENTIALS_H_
#define FGW_SERVER_AUTH_CREDENTIALS_H_

#include <cstdint>
#include <memory>
#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "server/auth/watched_file.h"
#include "server/util/clock.h"

namespace fgw {

// A secret value. Not printable: no operator<<, no implicit conversion, no AbslStringify; the only
// way to the bytes is reveal(), so every use is visible in review. Zeroed on destruction.
class Secret {
 public:
  Secret() = default;
  explicit Secret(std::string value) : value_(std::move(value)) {}
  Secret(const Secret&) = default;
  Secret& operator=(const Secret&) = default;
  Secret(Secret&& other) noexcept : value_(std::move(other.value_)) {}
  Secret& operator=(Secret&& other) noexcept;
  ~Secret();

  const std::string& reveal() const { return value_; }
  bool empty() const { return value_.empty(); }
  bool operator==(const Secret& other) const { return value_ == other.value_; }
  bool operator!=(const Secret& other) const { return !(*this == other); }

 private:
  std::string value_;
};

struct ClientCredentials {
  std::string client_id;
  Secret client_secret;
  uint64_t generation = 0;  // Changes when the id or the secret changes.
};

struct CredentialsOptions {
  std::string client_id;           // AuthConfig::client_id.
  std::string client_id_file;      // AuthConfig::client_id_file.
  std::string client_secret_file;  // AuthConfig::client_secret_file.
  std::string client_secret_env =
      "FORMANCE_CLIENT_SECRET";  // AuthConfig::client_secret_env.
  absl::Duration recheck_interval =
      absl::Seconds(1);  // How often files are stat'ed.
};

class CredentialsSource {
 public:
  CredentialsSource(CredentialsOptions options, Clock* clock);

  absl::StatusOr<ClientCredentials> Get();

 private:
  absl::StatusOr<std::string> ClientId();
  absl::StatusOr<Secret> ClientSecret();

  const CredentialsOptions options_;
  // Set by the constructor, then only read (WatchedFile is thread-safe).
  std::unique_ptr<WatchedFile> id_file_;
  std::unique_ptr<WatchedFile> secret_file_;

  absl::Mutex mu_;
  std::string last_id_ ABSL_GUARDED_BY(mu_);
  Secret last_secret_ ABSL_GUARDED_BY(mu_);
  uint64_t generation_ ABSL_GUARDED_BY(mu_) = 0;
};

}  // namespace fgw

#endif  // FGW_SERVER_AUTH_CREDENTIALS_H_
