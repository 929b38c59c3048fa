#include "server/auth/oauth2_token_source.h"

#include <algorithm>
#include <cmath>
#include <map>
#include <utility>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/synchronization/mutex.h"
#include "rapidjson/document.h"
#include "spdlog/spdlog.h"

namespace fgw {
namespace {

constexpr absl::Duration kMaxExpirySafety = absl::Seconds(5);
// Hard floors under OAuth2Options::min_token_lifetime and failure_backoff.
constexpr absl::Duration kLeastTokenLifetime = absl::Seconds(1);
constexpr absl::Duration kLeastFailureBackoff = absl::Milliseconds(10);
constexpr size_t kMaxAccessTokenBytes = 8192;

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

// Why `token` cannot be sent as "Authorization: Bearer <token>", or "" when it can: it must be
// an RFC 6750 b64token (1*( ALPHA / DIGIT / "-" / "." / "_" / "~" / "+" / "/" ) *"="), which is
// also a valid RFC 9110 field value, of at most kMaxAccessTokenBytes. Never describes the token.
absl::string_view AccessTokenProblem(absl::string_view token) {
  if (token.empty()) return "it is empty";
  if (token.size() > kMaxAccessTokenBytes)
    return "it is longer than 8192 bytes";
  size_t i = 0;
  for (; i < token.size(); ++i) {
    const char c = token[i];
    if (!absl::ascii_isalnum(static_cast<unsigned char>(c)) && c != '-' &&
        c != '.' && c != '_' && c != '~' && c != '+' && c != '/') {
      break;
    }
  }
  if (i == 0 && token[0] != '=') {
    return "it holds a character outside the RFC 6750 b64token set";
  }
  if (i == 0) return "it is not an RFC 6750 b64token (it starts with '=')";
  for (; i < token.size(); ++i) {
    if (token[i] != '=') {
      return "it holds a character outside the RFC 6750 b64token set";
    }
  }
  return "";
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
    endpoint.path = OAuth2Options().token_path;
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

// The mutable state of an OAuth2TokenSource. Transport callbacks and clock timers reach it
// through a weak_ptr: once the token source is destroyed they find nothing and return.
class OAuth2TokenSource::Core : public std::enable_shared_from_this<Core> {
 public:
  Core(OAuth2Options options, CredentialsSource* credentials,
       Transport* transport, Clock* clock)
      : options_(std::move(options)),
        min_lifetime_(
            std::max(options_.min_token_lifetime, kLeastTokenLifetime)),
        first_backoff_(
            std::max(options_.failure_backoff, kLeastFailureBackoff)),
        max_backoff_(std::max(options_.max_failure_backoff, first_backoff_)),
        credentials_(credentials),
        transport_(transport),
        clock_(clock) {}

  void GetToken(const std::vector<std::string>& scopes, absl::Time deadline,
                Callback done);
  void Invalidate(const std::string& token);
  void Shutdown();

  std::string Identity() {
    absl::ReaderMutexLock lock(&mu_);
    return identity_;
  }
  int64_t token_requests() {
    absl::ReaderMutexLock lock(&mu_);
    return token_requests_;
  }
  int64_t token_failures() {
    absl::ReaderMutexLock lock(&mu_);
    return token_failures_;
  }

 private:
  // A scope list in canonical form: sorted, without duplicates, and its space-joined key.
  struct ScopeKey {
    std::vector<std::string> scopes;
    std::string key;
  };
  struct Token {
    std::string access_token;
    std::shared_ptr<const ScopeKey> scopes;
    absl::Time refresh_at;
    absl::Time usable_until;
  };
  // The last token request of a scope set failed: none is sent for it before `retry_at`.
  struct Failure {
    absl::Status status;     // Code and reason of the last failure.
    absl::Duration backoff;  // retry_at - time of the last failure.
    absl::Time retry_at;
    int64_t in_a_row = 0;  // Failed requests since the last success.
  };
  struct Waiter {
    Callback done;
    Clock::TimerId timer = 0;
  };
  // Created under Core::mu_; `next_waiter` and `waiters` are read and written under it only
  // (Clang cannot check a nested struct against the enclosing object's mutex); `generation`
  // is set at creation and then only read.
  struct Fetch {
    uint64_t generation = 0;
    uint64_t next_waiter = 1;
    std::map<uint64_t, Waiter> waiters;
    // Aborts the token request on Shutdown(). Owned here, and the transport callback holds the
    // Fetch, so it outlives the request whatever happens to the Core.
    Cancellation cancellation;
  };

  // Distinct scope lists remembered (routes have a fixed set); beyond, keys are built per call.
  static constexpr size_t kMaxInternedScopeLists = 4096;

  static std::shared_ptr<const ScopeKey> MakeScopeKey(
      const std::vector<std::string>& scopes);
  std::shared_ptr<const ScopeKey> InternLocked(
      const std::vector<std::string>& scopes)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // A usable cached token for `want` (exact set first, else a superset), or nullptr.
  const Token* FindLocked(const ScopeKey& want, absl::Time now)
      ABSL_SHARED_LOCKS_REQUIRED(mu_);
  // Whether a call for `key` served `token` should start a background refresh.
  bool RefreshDueLocked(const std::string& key, const Token& token,
                        absl::Time now) ABSL_SHARED_LOCKS_REQUIRED(mu_);
  // The failure `key` is backing off from at `now`, or nullptr.
  const Failure* BackingOffLocked(const std::string& key, absl::Time now)
      ABSL_SHARED_LOCKS_REQUIRED(mu_);
  // What callers get for `failure` at `now`: its code, its reason and when the token endpoint
  // is asked again.
  static absl::Status FailureStatus(const Failure& failure, absl::Time now);
  std::shared_ptr<Fetch> NewFetchLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // GetToken() when the cache alone cannot answer: reads the credentials, may start a fetch.
  void GetTokenSlow(const std::vector<std::string>& scopes, absl::Time deadline,
                    Callback done);
  void ExpireWaiter(const std::shared_ptr<Fetch>& fetch, uint64_t waiter_id);
  // Sends the token request of `fetch`; must be called without mu_ held.
  void StartFetch(std::shared_ptr<const ScopeKey> scopes,
                  const ClientCredentials& credentials,
                  std::shared_ptr<Fetch> fetch);
  void FinishFetch(std::shared_ptr<const ScopeKey> scopes,
                   const std::shared_ptr<Fetch>& fetch,
                   absl::StatusOr<HttpResponse> result);
  absl::StatusOr<Token> ParseTokenResponse(
      std::shared_ptr<const ScopeKey> scopes,
      const absl::StatusOr<HttpResponse>& result, absl::Time now);

  const OAuth2Options options_;
  // options_ with the hard floors applied.
  const absl::Duration min_lifetime_;
  const absl::Duration first_backoff_;
  const absl::Duration max_backoff_;
  CredentialsSource* const credentials_;  // Used only from GetToken().
  Transport* const transport_;            // Used only from GetToken().
  Clock* const clock_;

  absl::Mutex mu_;
  bool shut_down_ ABSL_GUARDED_BY(mu_) = false;
  uint64_t generation_ ABSL_GUARDED_BY(mu_) = 0;
  std::string identity_ ABSL_GUARDED_BY(mu_) = "#0";  // client id # generation.
  // Until then, calls answered from the cache do not re-read the credentials.
  absl::Time credentials_recheck_at_ ABSL_GUARDED_BY(mu_) =
      absl::InfinitePast();
  // Scope lists as callers pass them -> canonical form.
  absl::flat_hash_map<std::vector<std::string>, std::shared_ptr<const ScopeKey>>
      interned_ ABSL_GUARDED_BY(mu_);
  std::map<std::string, Token> tokens_ ABSL_GUARDED_BY(mu_);  // By scope key.
  // The fetch callers of a scope key join; a fetch leaves it when it ends or on rotation.
  std::map<std::string, std::shared_ptr<Fetch>> fetches_ ABSL_GUARDED_BY(mu_);
  // Every fetch started and not finished (rotation included), for Shutdown().
  absl::flat_hash_set<std::shared_ptr<Fetch>> in_flight_ ABSL_GUARDED_BY(mu_);
  // By scope key; erased on success and on credentials rotation.
  std::map<std::string, Failure> failures_ ABSL_GUARDED_BY(mu_);
  int64_t token_requests_ ABSL_GUARDED_BY(mu_) = 0;
  int64_t token_failures_ ABSL_GUARDED_BY(mu_) = 0;
};

std::shared_ptr<const OAuth2TokenSource::Core::ScopeKey>
OAuth2TokenSource::Core::MakeScopeKey(const std::vector<std::string>& scopes) {
  auto scope_key = std::make_shared<ScopeKey>();
  scope_key->scopes = scopes;
  std::sort(scope_key->scopes.begin(), scope_key->scopes.end());
  scope_key->scopes.erase(
      std::unique(scope_key->scopes.begin(), scope_key->scopes.end()),
      scope_key->scopes.end());
  scope_key->key = absl::StrJoin(scope_key->scopes, " ");
  return scope_key;
}

std::shared_ptr<const OAuth2TokenSource::Core::ScopeKey>
OAuth2TokenSource::Core::InternLocked(const std::vector<std::string>& scopes) {
  auto it = interned_.find(scopes);
  if (it != interned_.end()) return it->second;
  std::shared_ptr<const ScopeKey> scope_key = MakeScopeKey(scopes);
  if (interned_.size() < kMaxInternedScopeLists)
    interned_.emplace(scopes, scope_key);
  return scope_key;
}

const OAuth2TokenSource::Core::Token* OAuth2TokenSource::Core::FindLocked(
    const ScopeKey& want, absl::Time now) {
  auto exact = tokens_.find(want.key);
  if (exact != tokens_.end() && now < exact->second.usable_until)
    return &exact->second;
  for (const auto& [other_key, token] : tokens_) {
    if (now < token.usable_until &&
        std::includes(token.scopes->scopes.begin(), token.scopes->scopes.end(),
                      want.scopes.begin(), want.scopes.end())) {
      return &token;
    }
  }
  return nullptr;
}

bool OAuth2TokenSource::Core::RefreshDueLocked(const std::string& key,
                                               const Token& token,
                                               absl::Time now) {
  if (shut_down_ || now < token.refresh_at) return false;
  if (fetches_.find(key) != fetches_.end()) return false;  // Already running.
  return BackingOffLocked(key, now) == nullptr;
}

const OAuth2TokenSource::Core::Failure*
OAuth2TokenSource::Core::BackingOffLocked(const std::string& key,
                                          absl::Time now) {
  auto failed = failures_.find(key);
  if (failed == failures_.end() || now >= failed->second.retry_at)
    return nullptr;
  return &failed->second;
}

absl::Status OAuth2TokenSource::Core::FailureStatus(const Failure& failure,
                                                    absl::Time now) {
  absl::Duration wait =
      absl::Ceil(std::max(failure.retry_at - now, absl::ZeroDuration()),
                 absl::Milliseconds(1));
  return absl::Status(
      failure.status.code(),
      absl::StrCat("no access token: ", failure.status.message(),
                   "; the token endpoint is asked again in ",
                   absl::FormatDuration(wait), " (", failure.in_a_row,
                   failure.in_a_row == 1 ? " failed request"
                                         : " failed requests in a row",
                   ")"));
}

std::shared_ptr<OAuth2TokenSource::Core::Fetch>
OAuth2TokenSource::Core::NewFetchLocked() {
  auto fetch = std::make_shared<Fetch>();
  fetch->generation = generation_;
  in_flight_.insert(fetch);
  return fetch;
}

void OAuth2TokenSource::Core::GetToken(const std::vector<std::string>& scopes,
                                       absl::Time deadline, Callback done) {
  // The hot path: a usable token, no refresh to start, credentials recently checked.
  const absl::Time now = clock_->Now();
  if (now < deadline) {
    bool hit = false;
    std::string cached;
    {
      absl::ReaderMutexLock lock(&mu_);
      if (now < credentials_recheck_at_) {
        auto interned = interned_.find(scopes);
        if (interned != interned_.end()) {
          const Token* token = FindLocked(*interned->second, now);
          if (token != nullptr &&
              !RefreshDueLocked(interned->second->key, *token, now)) {
            hit = true;
            cached = token->access_token;
          }
        }
      }
    }
    if (hit) {
      done(std::move(cached));
      return;
    }
  }
  GetTokenSlow(scopes, deadline, std::move(done));
}

void OAuth2TokenSource::Core::GetTokenSlow(
    const std::vector<std::string>& scopes, absl::Time deadline,
    Callback done) {
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

  std::shared_ptr<const ScopeKey> scope_key;
  absl::StatusOr<std::string> answer = absl::UnknownError("");
  bool answered = false;
  std::shared_ptr<Fetch> fetch;
  bool start_fetch = false;
  uint64_t waiter_id = 0;
  {
    absl::MutexLock lock(&mu_);
    scope_key = InternLocked(scopes);
    const std::string& key = scope_key->key;
    if (credentials->generation != generation_) {
      // New or rotated credentials: nothing fetched with the old ones is reused. Fetches still
      // running answer their own waiters but store nothing.
      generation_ = credentials->generation;
      identity_ = absl::StrCat(credentials->client_id, "#", generation_);
      tokens_.clear();
      fetches_.clear();
      failures_.clear();
    }
    credentials_recheck_at_ = now + options_.credentials_recheck;
    const Token* token = FindLocked(*scope_key, now);
    if (token != nullptr) {
      answered = true;
      answer = token->access_token;
      if (RefreshDueLocked(key, *token, now)) {
        fetch = NewFetchLocked();
        fetches_[key] = fetch;
        start_fetch = true;  // Background refresh: nobody waits for it.
      }
    } else if (shut_down_) {
      answered = true;
      answer = absl::UnavailableError(
          "no access token: the token source is shut down");
    } else if (auto running = fetches_.find(key); running != fetches_.end()) {
      fetch = running->second;
    } else if (const Failure* failure = BackingOffLocked(key, now)) {
      answered = true;
      answer = FailureStatus(*failure, now);
    } else {
      fetch = NewFetchLocked();
      fetches_[key] = fetch;
      start_fetch = true;
    }
    if (!answered) {
      waiter_id = fetch->next_waiter++;
      fetch->waiters[waiter_id].done = std::move(done);
    }
  }
  if (answered) done(std::move(answer));

  if (waiter_id != 0 && deadline != absl::InfiniteFuture()) {
    std::weak_ptr<Core> weak = weak_from_this();
    Clock::TimerId timer =
        clock_->RunAfter(deadline - now, [weak, fetch, waiter_id] {
          if (std::shared_ptr<Core> core = weak.lock()) {
            core->ExpireWaiter(fetch, waiter_id);
          }
        });
    bool gone;
    {
      absl::MutexLock lock(&mu_);
      auto it = fetch->waiters.find(waiter_id);
      gone = it == fetch->waiters.end();
      if (!gone) it->second.timer = timer;
    }
    if (gone) clock_->Cancel(timer);
  }
  if (start_fetch) StartFetch(std::move(scope_key), *credentials, fetch);
}

void OAuth2TokenSource::Core::ExpireWaiter(const std::shared_ptr<Fetch>& fetch,
                                           uint64_t waiter_id) {
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
}

void OAuth2TokenSource::Core::StartFetch(std::shared_ptr<const ScopeKey> scopes,
                                         const ClientCredentials& credentials,
                                         std::shared_ptr<Fetch> fetch) {
  HttpRequest request;
  request.method = "POST";
  request.path_and_query = options_.token_path;
  request.headers = {{"Content-Type", "application/x-www-form-urlencoded"},
                     {"Accept", "application/json"}};
  request.body = TokenRequestBody(credentials, scopes->key);
  {
    absl::MutexLock lock(&mu_);
    if (shut_down_) {  // Shut down since the fetch was created: its waiters are answered.
      in_flight_.erase(fetch);
      return;
    }
    ++token_requests_;
  }
  spdlog::debug("requesting an access token for scopes [{}]", scopes->key);
  SendOptions send_options;
  send_options.deadline = clock_->Now() + options_.request_timeout;
  send_options.cancellation = &fetch->cancellation;
  std::weak_ptr<Core> weak = weak_from_this();
  transport_->Send(std::move(request), send_options,
                   [weak, scopes = std::move(scopes),
                    fetch](absl::StatusOr<HttpResponse> r) {
                     if (std::shared_ptr<Core> core = weak.lock()) {
                       core->FinishFetch(scopes, fetch, std::move(r));
                     }
                   });
}

void OAuth2TokenSource::Core::FinishFetch(
    std::shared_ptr<const ScopeKey> scopes, const std::shared_ptr<Fetch>& fetch,
    absl::StatusOr<HttpResponse> result) {
  {
    absl::MutexLock lock(&mu_);
    in_flight_.erase(fetch);
    if (shut_down_) return;  // Shutdown() answered the waiters.
  }
  const std::string& key = scopes->key;
  const absl::Time now = clock_->Now();
  absl::StatusOr<Token> token = ParseTokenResponse(scopes, result, now);
  // What the waiters get when the request failed.
  absl::Status error;
  std::map<uint64_t, Waiter> waiters;
  {
    absl::MutexLock lock(&mu_);
    auto it = fetches_.find(key);
    if (it != fetches_.end() && it->second == fetch) fetches_.erase(it);
    const bool current = fetch->generation == generation_ && !shut_down_;
    if (!token.ok()) ++token_failures_;
    if (token.ok()) {
      if (current) {
        tokens_[key] = *token;
        failures_.erase(key);
      }
    } else if (current) {
      auto [failed, first] = failures_.try_emplace(key);
      Failure& failure = failed->second;
      failure.backoff =
          first ? first_backoff_ : std::min(failure.backoff * 2, max_backoff_);
      failure.retry_at = now + failure.backoff;
      failure.status = token.status();
      ++failure.in_a_row;
      error = FailureStatus(failure, now);
    } else {
      // Fetched with credentials since replaced: the next call asks with the new ones.
      error = absl::Status(
          token.status().code(),
          absl::StrCat("no access token: ", token.status().message()));
    }
    // Empty when Shutdown() ran meanwhile (it answered them).
    waiters.swap(fetch->waiters);
  }
  if (!token.ok()) {
    spdlog::warn("access token request for scopes [{}] failed: {}", key,
                 error.ToString());
  }
  for (auto& [id, waiter] : waiters) {
    if (waiter.timer != 0) clock_->Cancel(waiter.timer);
    if (token.ok()) {
      waiter.done(token->access_token);
    } else {
      waiter.done(error);
    }
  }
}

void OAuth2TokenSource::Core::Shutdown() {
  std::vector<std::shared_ptr<Fetch>> fetches;
  std::vector<Waiter> waiters;
  {
    absl::MutexLock lock(&mu_);
    if (shut_down_) return;
    shut_down_ = true;
    fetches.assign(in_flight_.begin(), in_flight_.end());
    for (const std::shared_ptr<Fetch>& fetch : fetches) {
      for (auto& [id, waiter] : fetch->waiters)
        waiters.push_back(std::move(waiter));
      fetch->waiters.clear();
    }
    fetches_.clear();
  }
  for (Waiter& waiter : waiters) {
    if (waiter.timer != 0) clock_->Cancel(waiter.timer);
    waiter.done(absl::UnavailableError(
        "no access token: the token source is shutting down"));
  }
  // The transport answers CANCELLED (maybe inline); FinishFetch() then ignores it.
  for (const std::shared_ptr<Fetch>& fetch : fetches)
    fetch->cancellation.Cancel();
}

void OAuth2TokenSource::Core::Invalidate(const std::string& token) {
  absl::MutexLock lock(&mu_);
  for (auto it = tokens_.begin(); it != tokens_.end();) {
    if (it->second.access_token == token) {
      it = tokens_.erase(it);
    } else {
      ++it;
    }
  }
}

absl::StatusOr<OAuth2TokenSource::Core::Token>
OAuth2TokenSource::Core::ParseTokenResponse(
    std::shared_ptr<const ScopeKey> scopes,
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
  if (access == doc.MemberEnd() || !access->value.IsString()) {
    return absl::UnavailableError(
        "token endpoint answered without an access_token string");
  }
  const absl::string_view access_token(access->value.GetString(),
                                       access->value.GetStringLength());
  if (absl::string_view problem = AccessTokenProblem(access_token);
      !problem.empty()) {
    return absl::UnavailableError(absl::StrCat(
        "token endpoint answered an unusable access_token: ", problem));
  }
  auto type = doc.FindMember("token_type");
  if (type == doc.MemberEnd() || !type->value.IsString()) {
    return absl::UnavailableError(
        "token endpoint answered without a token_type");
  }
  if (!absl::EqualsIgnoreCase(absl::string_view(type->value.GetString(),
                                                type->value.GetStringLength()),
                              "Bearer")) {
    return absl::UnavailableError(
        "token endpoint answered a token_type other than Bearer");
  }
  Token token;
  token.access_token = std::string(access_token);
  token.scopes = std::move(scopes);
  token.refresh_at = absl::InfiniteFuture();
  token.usable_until = absl::InfiniteFuture();
  auto expires = doc.FindMember("expires_in");
  if (expires != doc.MemberEnd() && !expires->value.IsNull()) {
    double seconds = 0;
    if (expires->value.IsNumber()) {
      seconds = expires->value.GetDouble();
    } else if (!expires->value.IsString() ||
               !absl::SimpleAtod(expires->value.GetString(), &seconds)) {
      return absl::UnavailableError(
          "token endpoint answered an invalid expires_in");
    }
    if (!std::isfinite(seconds)) {
      return absl::UnavailableError(
          "token endpoint answered an invalid expires_in");
    }
    absl::Duration lifetime = absl::Seconds(seconds);
    if (lifetime < min_lifetime_) {
      spdlog::warn(
          "access token for scopes [{}] declares a lifetime of {}, below the "
          "minimum: it is used for {}",
          token.scopes->key, absl::FormatDuration(lifetime),
          absl::FormatDuration(min_lifetime_));
      lifetime = min_lifetime_;
    }
    // 0 <= ahead <= lifetime / 2, so refresh_at >= now + lifetime / 2 and
    // usable_until >= now + 3/4 lifetime: never an empty window.
    const absl::Duration ahead =
        std::clamp(options_.refresh_ahead, absl::ZeroDuration(), lifetime / 2);
    token.refresh_at = now + lifetime - ahead;
    token.usable_until = now + lifetime - std::min(kMaxExpirySafety, ahead / 2);
  }
  return token;
}

OAuth2TokenSource::OAuth2TokenSource(OAuth2Options options,
                                     CredentialsSource* credentials,
                                     Transport* transport, Clock* clock)
    : core_(std::make_shared<Core>(std::move(options), credentials, transport,
                                   clock)) {}

OAuth2TokenSource::~OAuth2TokenSource() { core_->Shutdown(); }

void OAuth2TokenSource::GetToken(const std::vector<std::string>& scopes,
                                 absl::Time deadline, Callback done) {
  core_->GetToken(scopes, deadline, std::move(done));
}

void OAuth2TokenSource::Invalidate(const std::vector<std::string>& /*scopes*/,
                                   const std::string& token) {
  core_->Invalidate(token);
}

std::string OAuth2TokenSource::Identity() { return core_->Identity(); }

void OAuth2TokenSource::Shutdown() { core_->Shutdown(); }

int64_t OAuth2TokenSource::token_requests() { return core_->token_requests(); }

int64_t OAuth2TokenSource::token_failures() { return core_->token_failures(); }

}  // namespace fgw
