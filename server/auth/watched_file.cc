#include "server/auth/watched_file.h"

#include <sys/stat.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "spdlog/spdlog.h"

namespace fgw {
namespace {

absl::Status ErrnoStatus(int err, const std::string& path) {
  std::string message =
      absl::StrCat("cannot read ", path, ": ", std::strerror(err));
  if (err == ENOENT) return absl::NotFoundError(message);
  if (err == EACCES || err == EPERM)
    return absl::PermissionDeniedError(message);
  return absl::FailedPreconditionError(message);
}

}  // namespace

WatchedFile::WatchedFile(std::string path, Clock* clock,
                         absl::Duration recheck_interval)
    : path_(std::move(path)),
      clock_(clock),
      recheck_interval_(recheck_interval) {}

absl::StatusOr<WatchedFile::Content> WatchedFile::Read() {
  absl::MutexLock lock(&mu_);
  const absl::Time now = clock_->Now();
  if (loaded_ && now - last_check_ < recheck_interval_) return content_;
  last_check_ = now;

  struct stat st;
  if (::stat(path_.c_str(), &st) != 0) {
    absl::Status error = ErrnoStatus(errno, path_);
    if (!loaded_) return error;
    spdlog::warn("{}; keeping the previous value",
                 std::string(error.message()));
    return content_;
  }
  const int64_t mtime_ns =
      static_cast<int64_t>(st.st_mtim.tv_sec) * 1000000000 + st.st_mtim.tv_nsec;
  if (loaded_ && st.st_ino == inode_ && st.st_size == size_ &&
      mtime_ns == mtime_ns_) {
    return content_;
  }
  std::ifstream in(path_, std::ios::binary);
  if (!in) {
    absl::Status error = ErrnoStatus(errno != 0 ? errno : EIO, path_);
    if (!loaded_) return error;
    spdlog::warn("{}; keeping the previous value",
                 std::string(error.message()));
    return content_;
  }
  std::ostringstream data;
  data << in.rdbuf();
  std::string value = data.str();
  value.erase(value.find_last_not_of(" \t\r\n") + 1);
  inode_ = st.st_ino;
  size_ = st.st_size;
  mtime_ns_ = mtime_ns;
  if (!loaded_ || value != content_.value) {
    content_.value = std::move(value);
    ++content_.version;
    if (loaded_) spdlog::info("{} changed; reloaded", path_);
  }
  loaded_ = true;
  return content_;
}

}  // namespace fgw
