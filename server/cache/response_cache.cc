#include "server/cache/response_cache.h"

#include <algorithm>
#include <utility>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"

namespace fgw {
namespace {

constexpr int64_t kEntryOverhead = 128;

bool IsPerCallHeader(absl::string_view lower_name) {
  return lower_name == "authorization" || lower_name == "idempotency-key" ||
         lower_name == "user-agent" || lower_name == "x-request-id" ||
         lower_name == "traceparent" || lower_name == "tracestate";
}

absl::string_view PathOf(absl::string_view path_and_query) {
  return path_and_query.substr(0, path_and_query.find('?'));
}

// `path` equals `scope`, is under it, or is one of its ancestors (segment-aware).
bool Affected(absl::string_view path, absl::string_view scope) {
  if (scope.empty()) return true;
  if (path == scope) return true;
  if (absl::StartsWith(path, scope) && path.size() > scope.size() &&
      path[scope.size()] == '/') {
    return true;
  }
  if (absl::StartsWith(scope, path) && scope.size() > path.size() &&
      (scope[path.size()] == '/' || (!path.empty() && path.back() == '/'))) {
    return true;
  }
  return false;
}

int64_t SizeOf(const std::string& key, const HttpResponse& response) {
  int64_t size =
      kEntryOverhead + static_cast<int64_t>(key.size() + response.body.size());
  for (const auto& [name, value] : response.headers)
    size += name.size() + value.size();
  return size;
}

}  // namespace

ResponseCache::ResponseCache(ResponseCacheOptions options, Clock* clock)
    : options_(options), clock_(clock) {}

std::string ResponseCache::MakeKey(absl::string_view identity,
                                   absl::string_view grpc_method,
                                   const HttpRequest& request) {
  std::vector<std::pair<std::string, absl::string_view>> headers;
  for (const auto& [name, value] : request.headers) {
    std::string lower = absl::AsciiStrToLower(name);
    if (!IsPerCallHeader(lower)) headers.emplace_back(std::move(lower), value);
  }
  std::sort(headers.begin(), headers.end());
  std::string key =
      absl::StrCat(identity, "\n", grpc_method, "\n", request.method, " ",
                   request.path_and_query, "\n");
  for (const auto& [name, value] : headers)
    absl::StrAppend(&key, name, ":", value, "\n");
  return key;
}

std::string ResponseCache::WriteScope(absl::string_view path) {
  path = PathOf(path);
  std::vector<absl::string_view> segments =
      absl::StrSplit(path, '/', absl::SkipEmpty());
  if (segments.size() < 2 || segments[0] != "api") return "";
  size_t depth = 2;
  if (segments[1] == "ledger")
    depth = (segments.size() > 2 && segments[2] == "v2") ? 4 : 3;
  depth = std::min(depth, segments.size());
  std::string scope;
  for (size_t i = 0; i < depth; ++i) absl::StrAppend(&scope, "/", segments[i]);
  return scope;
}

ResponseCache::Lookup ResponseCache::LookupOrJoin(
    const std::string& key, absl::string_view path_and_query,
    FollowerCallback on_result) {
  const absl::Time now = clock_->Now();
  Lookup out;
  absl::MutexLock lock(&mu_);
  auto it = entries_.find(key);
  if (it != entries_.end()) {
    if (now < it->second.expires) {
      lru_.splice(lru_.begin(), lru_, it->second.lru);
      ++hits_;
      out.kind = Lookup::Kind::kHit;
      out.response = *it->second.response;
      return out;
    }
    EraseLocked(it);
  }
  ++misses_;
  auto [flight, inserted] = inflight_.try_emplace(key);
  if (inserted) {
    flight->second.path = std::string(PathOf(path_and_query));
    flight->second.epoch = epoch_;
    out.kind = Lookup::Kind::kLeader;
    return out;
  }
  out.kind = Lookup::Kind::kFollower;
  out.follower_id = flight->second.next_follower++;
  flight->second.followers.emplace(out.follower_id, std::move(on_result));
  return out;
}

std::map<uint64_t, ResponseCache::FollowerCallback>
ResponseCache::TakeFollowers(const std::string& key, uint64_t* epoch) {
  std::map<uint64_t, FollowerCallback> followers;
  auto it = inflight_.find(key);
  if (it == inflight_.end()) return followers;
  followers.swap(it->second.followers);
  *epoch = it->second.epoch;
  inflight_.erase(it);
  return followers;
}

void ResponseCache::Complete(const std::string& key, const Result& result,
                             absl::Duration ttl) {
  std::map<uint64_t, FollowerCallback> followers;
  {
    absl::MutexLock lock(&mu_);
    auto flight = inflight_.find(key);
    std::string path = flight != inflight_.end() ? flight->second.path : "";
    uint64_t started_epoch = epoch_;
    followers = TakeFollowers(key, &started_epoch);
    const bool cacheable = result.ok() && result->status >= 200 &&
                           result->status < 300 && ttl > absl::ZeroDuration() &&
                           started_epoch == epoch_;
    int64_t size = cacheable ? SizeOf(key, *result) : 0;
    if (cacheable && size <= options_.max_bytes && options_.max_entries > 0) {
      auto old = entries_.find(key);
      if (old != entries_.end()) EraseLocked(old);
      while (!lru_.empty() &&
             (bytes_ + size > options_.max_bytes ||
              static_cast<int>(entries_.size()) >= options_.max_entries)) {
        EraseLocked(entries_.find(lru_.back()));
      }
      lru_.push_front(key);
      Entry entry;
      entry.response = std::make_shared<const HttpResponse>(*result);
      entry.path = std::move(path);
      entry.expires = clock_->Now() + ttl;
      entry.bytes = size;
      entry.lru = lru_.begin();
      entries_.emplace(key, std::move(entry));
      bytes_ += size;
    }
  }
  for (auto& [id, callback] : followers) callback(result);
}

void ResponseCache::Abandon(const std::string& key) {
  std::map<uint64_t, FollowerCallback> followers;
  {
    absl::MutexLock lock(&mu_);
    uint64_t epoch;
    followers = TakeFollowers(key, &epoch);
  }
  for (auto& [id, callback] : followers) callback(std::nullopt);
}

void ResponseCache::Leave(const std::string& key, uint64_t follower_id) {
  FollowerCallback dropped;  // Destroyed outside the lock.
  absl::MutexLock lock(&mu_);
  auto it = inflight_.find(key);
  if (it == inflight_.end()) return;
  auto f = it->second.followers.find(follower_id);
  if (f == it->second.followers.end()) return;
  dropped = std::move(f->second);
  it->second.followers.erase(f);
}

void ResponseCache::InvalidateForWrite(absl::string_view path_and_query) {
  const std::string scope = WriteScope(path_and_query);
  absl::MutexLock lock(&mu_);
  ++epoch_;
  for (auto it = entries_.begin(); it != entries_.end();) {
    auto next = std::next(it);
    if (Affected(it->second.path, scope)) EraseLocked(it);
    it = next;
  }
}

void ResponseCache::Clear() {
  absl::MutexLock lock(&mu_);
  ++epoch_;
  entries_.clear();
  lru_.clear();
  bytes_ = 0;
}

void ResponseCache::EraseLocked(
    std::unordered_map<std::string, Entry>::iterator it) {
  bytes_ -= it->second.bytes;
  lru_.erase(it->second.lru);
  entries_.erase(it);
}

int ResponseCache::entries() {
  absl::MutexLock lock(&mu_);
  return static_cast<int>(entries_.size());
}

int64_t ResponseCache::bytes() {
  absl::MutexLock lock(&mu_);
  return bytes_;
}

int64_t ResponseCache::hits() {
  absl::MutexLock lock(&mu_);
  return hits_;
}

int64_t ResponseCache::misses() {
  absl::MutexLock lock(&mu_);
  return misses_;
}

}  // namespace fgw
