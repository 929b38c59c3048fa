#include "server/auth/static_token_source.h"

#include <cstdlib>
#include <utility>

#include "absl/strings/str_cat.h"

namespace fgw {
namespace {

std::string TokenFilePath(const StaticTokenOptions& options) {
  if (!options.token_file.empty()) return options.token_file;
  const char* env = std::getenv("FORMANCE_TOKEN_FILE");
  return env != nullptr ? env : "";
}

}  // namespace

StaticTokenSource::StaticTokenSource(StaticTokenOptions options, Clock* clock)
    : options_(std::move(options)),
      clock_(clock),
      file_path_(TokenFilePath(options_)) {
  if (!file_path_.empty()) {
    file_ = std::make_unique<WatchedFile>(file_path_, clock_,
                                          options_.recheck_interval);
    ++reloads_;
  }
}

absl::StatusOr<std::string> StaticTokenSource::Current() {
  absl::MutexLock lock(&mu_);
  if (file_ != nullptr) {
    auto content = file_->Read();
    if (!content.ok()) {
      return absl::UnauthenticatedError(absl::StrCat(
          "static token not available: ", content.status().message()));
    }
    if (content->value.empty()) {
      return absl::UnauthenticatedError(
          absl::StrCat("static token file ", file_path_, " is empty"));
    }
    version_ = content->version;
    return content->value;
  }
  const char* env = options_.token_env.empty()
                        ? nullptr
                        : std::getenv(options_.token_env.c_str());
  if (env == nullptr || *env == '\0') {
    return absl::UnauthenticatedError("no static token configured");
  }
  return std::string(env);
}

void StaticTokenSource::GetToken(const std::vector<std::string>& /*scopes*/,
                                 absl::Time deadline, Callback done) {
  if (clock_->Now() >= deadline) {
    done(absl::DeadlineExceededError(
        "deadline exceeded before a token was available"));
    return;
  }
  done(Current());
}

void StaticTokenSource::Invalidate(const std::vector<std::string>& /*scopes*/,
                                   const std::string& /*token*/) {
  absl::MutexLock lock(&mu_);
  if (file_ != nullptr) {
    // Forget the last check so the next read stats the file at once.
    file_ = std::make_unique<WatchedFile>(file_path_, clock_,
                                          options_.recheck_interval);
    ++reloads_;
  }
}

std::string StaticTokenSource::Identity() {
  absl::MutexLock lock(&mu_);
  return absl::StrCat("static#", reloads_, ".", version_);
}

}  // namespace fgw
