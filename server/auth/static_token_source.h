// StaticTokenSource: a fixed bearer token (a contract-test or personal token), from a file that
// is re-read when it changes (options.token_file, else FORMANCE_TOKEN_FILE) or from the
// environment variable options.token_env (FORMANCE_TOKEN). Scopes are ignored.
//
// GetToken() answers inline: the token, or UNAUTHENTICATED when none is configured. Invalidate()
// makes the next GetToken() re-check the file at once (it cannot fetch a new token).
//
// Thread safety: all methods may be called concurrently.
#ifndef FGW_SERVER_AUTH_STATIC_TOKEN_SOURCE_H_
#define FGW_SERVER_AUTH_STATIC_TOKEN_SOURCE_H_

#include <memory>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "server/auth/token_source.h"
#include "server/auth/watched_file.h"
#include "server/util/clock.h"

namespace fgw {

struct StaticTokenOptions {
  std::string token_file;  // AuthConfig::static_token_file.
  std::string token_env = "FORMANCE_TOKEN";
  absl::Duration recheck_interval = absl::Seconds(1);
};

class StaticTokenSource : public TokenSource {
 public:
  StaticTokenSource(StaticTokenOptions options, Clock* clock);

  void GetToken(const std::vector<std::string>& scopes, absl::Time deadline,
                Callback done) override;
  void Invalidate(const std::vector<std::string>& scopes,
                  const std::string& token) override;
  std::string Identity() override;

 private:
  absl::StatusOr<std::string> Current();

  const StaticTokenOptions options_;
  Clock* const clock_;
  absl::Mutex mu_;
  std::unique_ptr<WatchedFile> file_ ABSL_GUARDED_BY(mu_);
  // options_.token_file, else $FORMANCE_TOKEN_FILE; set by the constructor.
  const std::string file_path_;
  uint64_t version_ ABSL_GUARDED_BY(mu_) = 0;
  uint64_t reloads_ ABSL_GUARDED_BY(mu_) = 0;
};

}  // namespace fgw

#endif  // FGW_SERVER_AUTH_STATIC_TOKEN_SOURCE_H_
