// WatchedFile: the content of a small file (a Kubernetes-mounted secret, a token file), re-read
// when its identity changes (inode, size or modification time, following symlinks, so the atomic
// symlink swap Kubernetes does on rotation is seen). The file is stat'ed at most once per
// `recheck_interval` on the injected clock. Trailing whitespace (the usual final newline) is
// stripped from the content.
//
// Errors: NOT_FOUND / PERMISSION_DENIED / FAILED_PRECONDITION with the path and the errno text
// (never the content). After one good read, a failing re-read keeps the last good content and
// logs a warning (a rotation in progress must not break calls).
//
// Thread safety: Read() may be called from any thread.
#ifndef FGW_SERVER_AUTH_WATCHED_FILE_H_
#define FGW_SERVER_AUTH_WATCHED_FILE_H_

#include <cstdint>
#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "server/util/clock.h"

namespace fgw {

class WatchedFile {
 public:
  WatchedFile(std::string path, Clock* clock,
              absl::Duration recheck_interval = absl::Seconds(1));

  struct Content {
    std::string value;
    uint64_t version =
        0;  // Bumped whenever the value read differs from the previous one.
  };
  absl::StatusOr<Content> Read();

  const std::string& path() const { return path_; }

 private:
  const std::string path_;
  Clock* const clock_;
  const absl::Duration recheck_interval_;

  absl::Mutex mu_;
  bool loaded_ ABSL_GUARDED_BY(mu_) = false;
  absl::Time last_check_ ABSL_GUARDED_BY(mu_) = absl::InfinitePast();
  // Identity of the file last read.
  uint64_t inode_ ABSL_GUARDED_BY(mu_) = 0;
  int64_t size_ ABSL_GUARDED_BY(mu_) = -1;
  int64_t mtime_ns_ ABSL_GUARDED_BY(mu_) = 0;
  Content content_ ABSL_GUARDED_BY(mu_);
};

}  // namespace fgw

#endif  // FGW_SERVER_AUTH_WATCHED_FILE_H_
