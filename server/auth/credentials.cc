#include "server/auth/credentials.h"

#include <cstdlib>
#include <cstring>
#include <utility>

#include "absl/strings/str_cat.h"

namespace fgw {
namespace {

std::string GetEnv(const std::string& name) {
  if (name.empty()) return "";
  const char* value = std::getenv(name.c_str());
  return value == nullptr ? "" : value;
}

void Wipe(std::string& s) {
  volatile char* p = s.empty() ? nullptr : &s[0];
  for (size_t i = 0; i < s.size(); ++i) p[i] = 0;
  s.clear();
}

}  // namespace

Secret& Secret::operator=(Secret&& other) noexcept {
  if (this != &other) {
    Wipe(value_);
    value_ = std::move(other.value_);
  }
  return *this;
}

Secret::~Secret() { Wipe(value_); }

CredentialsSource::CredentialsSource(CredentialsOptions options, Clock* clock)
    : options_(std::move(options)) {
  if (options_.client_id.empty()) {
    std::string id_file = options_.client_id_file;
    if (!id_file.empty()) {
      id_file_ = std::make_unique<WatchedFile>(id_file, clock,
                                               options_.recheck_interval);
    }
  }
  std::string secret_file = options_.client_secret_file;
  if (secret_file.empty()) secret_file = GetEnv("FORMANCE_CLIENT_SECRET_FILE");
  if (!secret_file.empty()) {
    secret_file_ = std::make_unique<WatchedFile>(secret_file, clock,
                                                 options_.recheck_interval);
  }
}

absl::StatusOr<std::string> CredentialsSource::ClientId() {
  if (!options_.client_id.empty()) return options_.client_id;
  if (id_file_ != nullptr) {
    auto content = id_file_->Read();
    if (!content.ok()) {
      return absl::UnauthenticatedError(absl::StrCat(
          "client id not available: ", content.status().message()));
    }
    if (content->value.empty()) {
      return absl::UnauthenticatedError(
          absl::StrCat("client id file ", id_file_->path(), " is empty"));
    }
    return content->value;
  }
  std::string id = GetEnv("FORMANCE_CLIENT_ID");
  if (id.empty()) return absl::UnauthenticatedError("client id not configured");
  return id;
}

absl::StatusOr<Secret> CredentialsSource::ClientSecret() {
  if (secret_file_ != nullptr) {
    auto content = secret_file_->Read();
    if (!content.ok()) {
      return absl::UnauthenticatedError(absl::StrCat(
          "client secret not available: ", content.status().message()));
    }
    if (content->value.empty()) {
      return absl::UnauthenticatedError(absl::StrCat(
          "client secret file ", secret_file_->path(), " is empty"));
    }
    return Secret(content->value);
  }
  Secret secret(GetEnv(options_.client_secret_env));
  if (secret.empty()) {
    return absl::UnauthenticatedError(absl::StrCat(
        "client secret not configured (no file, environment variable ",
        options_.client_secret_env, " empty)"));
  }
  return secret;
}

absl::StatusOr<ClientCredentials> CredentialsSource::Get() {
  absl::StatusOr<std::string> id = ClientId();
  if (!id.ok()) return id.status();
  absl::StatusOr<Secret> secret = ClientSecret();
  if (!secret.ok()) return secret.status();
  absl::MutexLock lock(&mu_);
  if (generation_ == 0 || *id != last_id_ || *secret != last_secret_) {
    last_id_ = *id;
    last_secret_ = *secret;
    ++generation_;
  }
  ClientCredentials out;
  out.client_id = std::move(id).value();
  out.client_secret = std::move(secret).value();
  out.generation = generation_;
  return out;
}

}  // namespace fgw
