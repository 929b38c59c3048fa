#include "server/auth/oauth2_token_source.h"

#include <algorithm>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "rapidjson/document.h"
#include "spdlog/spdlog.h"

namespace fgw {
namespace {

constexpr absl::Duration kMaxExpirySafety = absl::Seconds(5);

// application/x-www-form-urlencoded as WHATWG URLSearchParams writes it (what the SDK sends).
std::string FormEncode(absl::string_view s) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  out.reserve(s.size() + 8);
  for (unsigned char c : s) {
    if (absl::ascii_isalnum(c) || c == '*' || c == '-' || c == '.' ||
        c == '_') {
      out.push_back(static_cast<char>(c));
    } else if (c == ' ') {
      out.push_back('+');
    } else {
      out.push_back('%');
      out.push_back(kHex[c >> 4]);
      out.push_back(kHex[c & 15]);
    }
  }
  return out;
}

// An OAuth `error` code is echoed only when it is a plain token (never free text from a body).
// The OAuth2 `error` code of a token error response, only when it is one of the codes RFC 6749
// (section 5.2) defines: any other value is never repeated, since a server may echo what it was
// sent (the client secret) there.
std::string SafeErrorCode(const std::string& body) {
  static constexpr absl::string_view kStandardCodes[] = {
      "invalid_request",     "invalid_client",         "invalid_grant",
      "unauthorized_client", "unsupported_grant_type", "invalid_scope"};
  rapidjson::Document doc;
  doc.Parse(body.data(), body.size());
  if (doc.HasParseError() || !doc.IsObject()) return "";
  auto it = doc.FindMember("error");
  if (it == doc.MemberEnd() || !it->value.IsString()) return "";
  absl::string_view code(it->value.GetString(), it->value.GetStringLength());
  for (absl::string_view standard : kStandardCodes) {
    if (code == standard) return std::string(code);
  }
  return "non-standard error code";
}

// RFC 6750 b64token characters plus the rest of visible ASCII: nothing that could break a header.
bool IsHeaderSafe(absl::string_view token) {
  if (token.empty()) return false;
  for (char c : token) {
    if (c < 0x21 || c > 0x7e) return false;
  }
  return true;
}

// Splits "scheme://authority/path" into origin and path ("/" when absent). False if not a URL.
bool SplitUrl(const std::string& url, std::string* origin, std::string* path) {
  size_t scheme_end = url.find("://");
  if (scheme_end == std::string::npos || scheme_end == 0) return false;
  size_t path_start = url.find('/', scheme_end + 3);
  if (path_start == scheme_end + 3) return false;  // No authority.
  *origin = url.substr(0, path_start);
  *path = path_start == std::string::npos ? "/" : url.substr(path_start);
  return true;
}

}  // namespace

absl::StatusOr<TokenEndpoint> ResolveTokenEndpoint(
    const std::string& upstream_url, const std::string& token_url) {
  TokenEndpoint endpoint;
  std::string upstream_path;
  if (absl::StrContains(token_url, "://")) {
    if (!SplitUrl(token_url, &endpoint.origin, &endpoint.path)) {
      return absl::InvalidArgumentError("invalid token_url");
    }
    return endpoint;
  }
  if (!SplitUrl(upstream_url, &endpoint.origin, &upstream_path)) {
    return absl::InvalidArgumentError("invalid upstream url");
  }
  if (token_url.empty()) {
    endpoint.path = "/api/auth/oauth/token";
  } else if (token_url[0] == '/') {
    endpoint.path = token_url;
  } else {
    endpoint.path = "/" + token_url;
  }
  return endpoint;
}

std::string TokenRequestBody(const ClientCredentials& credentials,
                             const std::string& scope) {
  std::string body = absl::StrCat(
      "grant_type=client_credentials&client_id=",
      FormEncode(credentials.client_id),
      "&client_secret=", FormEncode(credentials.client_secret.reveal()));
  if (!scope.empty()) absl::StrAppend(&body, "&scope=", FormEncode(scope));
  return body;
}

OAuth2TokenSource::OAuth2TokenSource(OAuth2Options options,
                                     CredentialsSource* credentials,
                                     Transport* transport, Clock* clock)
    : options_(std::move(options)),
      credentials_(credentials),
      transport_(transport),
      clock_(clock) {}

OAuth2TokenSource::~OAuth2TokenSource() {
  absl::MutexLock lock(&mu_);
  for (auto& [key, fetch] : fetches_) {
    for (auto& [id, waiter] : fetch->waiters) {
      if (waiter.timer != 0) clock_->Cancel(waiter.timer);
    }
  }
}

int64_t OAuth2TokenSource::token_requests() {
  absl::MutexLock lock(&mu_);
  return token_requests_;
}

std::string OAuth2TokenSource::Identity() {
  absl::MutexLock lock(&mu_);
  return absl::StrCat(client_id_, "#", generation_);
}

const OAuth2TokenSource::Token* OAuth2TokenSource::FindLocked(
    const std::string& key, const std::set<std::string>& scopes,
    absl::Time now) {
  auto exact = tokens_.find(key);
  if (exact != tokens_.end() && now < exact->second.usable_until)
    return &exact->second;
  for (const auto& [other_key, token] : tokens_) {
    if (now < token.usable_until &&
        std::includes(token.scopes.begin(), token.scopes.end(), scopes.begin(),
                      scopes.end())) {
      return &token;
    }
  }
  return nullptr;
}

void OAuth2TokenSource::GetToken(const std::vector<std::string>& scopes,
                                 absl::Time deadline, Callback done) {
  absl::StatusOr<ClientCredentials> credentials = credentials_->Get();
  if (!credentials.ok()) {
    done(credentials.status());
    return;
  }
  const absl::Time now = clock_->Now();
  if (now >= deadline) {
    done(absl::DeadlineExceededError(
        "deadline exceeded before an access token was available"));
    return;
  }
  std::set<std::string> scope_set(scopes.begin(), scopes.end());
  const std::string key = absl::StrJoin(scope_set, " ");

  std::string cached;
  std::shared_ptr<Fetch> fetch;
  bool start_fetch = false;
  uint64_t waiter_id = 0;
  {
    absl::MutexLock lock(&mu_);
    if (credentials->generation != generation_) {
      // New or rotated credentials: nothing fetched with the old ones is reused.
      generation_ = credentials->generation;
      client_id_ = credentials->client_id;
      tokens_.clear();
      fetches_.clear();
      last_failure_.clear();
    }
    const Token* token = FindLocked(key, scope_set, now);
    if (token != nullptr) {
      cached = token->access_token;
      auto failed = last_failure_.find(key);
      if (now >= token->refresh_at && fetches_.find(key) == fetches_.end() &&
          (failed == last_failure_.end() ||
           now - failed->second >= options_.failure_backoff)) {
        fetch = std::make_shared<Fetch>();
        fetch->generation = generation_;
        fetches_[key] = fetch;
        start_fetch = true;  // Background refresh: nobody waits for it.
      }
    } else {
      std::shared_ptr<Fetch>& slot = fetches_[key];
      if (slot == nullptr) {
        slot = std::make_shared<Fetch>();
        slot->generation = generation_;
        start_fetch = true;
      }
      fetch = slot;
      waiter_id = fetch->next_waiter++;
      fetch->waiters[waiter_id].done = std::move(done);
    }
  }
  if (waiter_id == 0) done(std::move(cached));

  if (waiter_id != 0 && deadline != absl::InfiniteFuture()) {
    Clock::TimerId timer =
        clock_->RunAfter(deadline - now, [this, fetch, waiter_id] {
          Callback expired;
          {
            absl::MutexLock lock(&mu_);
            auto it = fetch->waiters.find(waiter_id);
            if (it == fetch->waiters.end()) return;
            expired = std::move(it->second.done);
            fetch->waiters.erase(it);
          }
          expired(absl::DeadlineExceededError(
              "deadline exceeded while waiting for an access token"));
        });
    bool answered;
    {
      absl::MutexLock lock(&mu_);
      auto it = fetch->waiters.find(waiter_id);
      answered = it == fetch->waiters.end();
      if (!answered) it->second.timer = timer;
    }
    if (answered) clock_->Cancel(timer);
  }
  if (start_fetch) StartFetch(key, std::move(scope_set), *credentials, fetch);
}

void OAuth2TokenSource::StartFetch(const std::string& key,
                                   std::set<std::string> scopes,
                                   const ClientCredentials& credentials,
                                   std::shared_ptr<Fetch> fetch) {
  HttpRequest request;
  request.method = "POST";
  request.path_and_query = options_.token_path;
  request.headers = {{"Content-Type", "application/x-www-form-urlencoded"},
                     {"Accept", "application/json"}};
  request.body = TokenRequestBody(credentials, key);
  {
    absl::MutexLock lock(&mu_);
    ++token_requests_;
  }
  spdlog::debug("requesting an access token for scopes [{}]", key);
  SendOptions send_options;
  send_options.deadline = clock_->Now() + options_.request_timeout;
  transport_->Send(std::move(request), send_options,
                   [this, key, scopes = std::move(scopes),
                    fetch](absl::StatusOr<HttpResponse> r) {
                     FinishFetch(key, scopes, fetch, std::move(r));
                   });
}

void OAuth2TokenSource::FinishFetch(const std::string& key,
                                    std::set<std::string> scopes,
                                    const std::shared_ptr<Fetch>& fetch,
                                    absl::StatusOr<HttpResponse> result) {
  const absl::Time now = clock_->Now();
  absl::StatusOr<Token> token = ParseTokenResponse(scopes, result, now);
  std::map<uint64_t, Waiter> waiters;
  {
    absl::MutexLock lock(&mu_);
    auto it = fetches_.find(key);
    if (it != fetches_.end() && it->second == fetch) fetches_.erase(it);
    if (token.ok()) {
      if (fetch->generation == generation_) {
        tokens_[key] = *token;
        last_failure_.erase(key);
      }
    } else {
      last_failure_[key] = now;
    }
    waiters.swap(fetch->waiters);
  }
  if (!token.ok()) {
    spdlog::warn("access token request for scopes [{}] failed: {}", key,
                 token.status().ToString());
  }
  for (auto& [id, waiter] : waiters) {
    if (waiter.timer != 0) clock_->Cancel(waiter.timer);
    if (token.ok()) {
      waiter.done(token->access_token);
    } else {
      waiter.done(token.status());
    }
  }
}

absl::StatusOr<OAuth2TokenSource::Token> OAuth2TokenSource::ParseTokenResponse(
    const std::set<std::string>& scopes,
    const absl::StatusOr<HttpResponse>& result, absl::Time now) {
  if (!result.ok()) {
    if (result.status().code() == absl::StatusCode::kDeadlineExceeded) {
      return absl::UnavailableError("token endpoint timed out");
    }
    return absl::UnavailableError(absl::StrCat("token endpoint unreachable: ",
                                               result.status().message()));
  }
  const int status = result->status;
  if (status >= 500 || status == 429) {
    return absl::UnavailableError(
        absl::StrCat("token endpoint answered HTTP ", status));
  }
  if (status >= 400) {
    std::string code = SafeErrorCode(result->body);
    return absl::UnauthenticatedError(
        absl::StrCat("token request rejected: HTTP ", status,
                     code.empty() ? "" : absl::StrCat(" (", code, ")"),
                     "; check the client id, client secret and token URL"));
  }
  if (status < 200 || status >= 300) {
    return absl::UnavailableError(
        absl::StrCat("token endpoint answered HTTP ", status));
  }
  rapidjson::Document doc;
  doc.Parse(result->body.data(), result->body.size());
  if (doc.HasParseError() || !doc.IsObject()) {
    return absl::UnavailableError(
        "token endpoint answered with a body that is not a JSON object");
  }
  auto access = doc.FindMember("access_token");
  if (access == doc.MemberEnd() || !access->value.IsString() ||
      !IsHeaderSafe(absl::string_view(access->value.GetString(),
                                      access->value.GetStringLength()))) {
    return absl::UnavailableError("token response has no valid access_token");
  }
  auto type = doc.FindMember("token_type");
  if (type == doc.MemberEnd() || !type->value.IsString() ||
      type->value.GetStringLength() == 0) {
    return absl::UnavailableError("token response has no token_type");
  }
  Token token;
  token.access_token.assign(access->value.GetString(),
                            access->value.GetStringLength());
  token.scopes = scopes;
  token.refresh_at = absl::InfiniteFuture();
  token.usable_until = absl::InfiniteFuture();
  auto expires = doc.FindMember("expires_in");
  if (expires != doc.MemberEnd() && !expires->value.IsNull()) {
    double seconds = 0;
    if (expires->value.IsNumber()) {
      seconds = expires->value.GetDouble();
    } else if (!expires->value.IsString() ||
               !absl::SimpleAtod(expires->value.GetString(), &seconds)) {
      return absl::UnavailableError("token response has an invalid expires_in");
    }
    absl::Duration lifetime = absl::Seconds(std::max(0.0, seconds));
    absl::Duration ahead = std::min(options_.refresh_ahead, lifetime / 2);
    token.refresh_at = now + lifetime - ahead;
    token.usable_until = now + lifetime - std::min(kMaxExpirySafety, ahead / 2);
  }
  return token;
}

void OAuth2TokenSource::Invalidate(const std::vector<std::string>& /*scopes*/,
                                   const std::string& token) {
  absl::MutexLock lock(&mu_);
  for (auto it = tokens_.begin(); it != tokens_.end();) {
    if (it->second.access_token == token) {
      it = tokens_.erase(it);
    } else {
      ++it;
    }
  }
}

}  // namespace fgw
