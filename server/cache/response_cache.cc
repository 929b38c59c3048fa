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

ResponseCache::Lookup ResponseCache::LookupOrJoinShared(
    const std::string& key, absl::string_view path_and_query,
    FollowerCallback on_result) {
  const absl::Time now = clock_->Now();
  Lookup out;
  Released released;  // Declared before the lock: freed after it is released.
  absl::MutexLock lock(&mu_);
  auto it = entries_.find(key);
  if (it != entries_.end()) {
    if (now < it->second.expires) {
      lru_.splice(lru_.begin(), lru_, it->second.lru);
      ++hits_;
      out.kind = Lookup::Kind::kHit;
      out.cached = it->second.response;
      return out;
    }
    EraseLocked(it, &released);
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

ResponseCache::Lookup ResponseCache::LookupOrJoin(
    const std::string& key, absl::string_view path_and_query,
    FollowerCallback on_result) {
  Lookup out = LookupOrJoinShared(key, path_and_query, std::move(on_result));
  if (out.kind == Lookup::Kind::kHit) out.response = *out.cached;
  return out;
}

std::map<uint64_t, ResponseCache::FollowerCallback>
ResponseCache::TakeFollowersLocked(const std::string& key, uint64_t* epoch) {
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
  Released released;
  {
    absl::MutexLock lock(&mu_);
    auto flight = inflight_.find(key);
    std::string path = flight != inflight_.end() ? flight->second.path : "";
    uint64_t started_epoch = epoch_;
    followers = TakeFollowersLocked(key, &started_epoch);
    const bool cacheable = result.ok() && result->status >= 200 &&
                           result->status < 300 && ttl > absl::ZeroDuration() &&
                           started_epoch == epoch_;
    int64_t size = cacheable ? SizeOf(key, *result) : 0;
    if (cacheable && size <= options_.max_bytes && options_.max_entries > 0) {
      auto old = entries_.find(key);
      if (old != entries_.end()) EraseLocked(old, &released);
      while (!lru_.empty() &&
             (bytes_ + size > options_.max_bytes ||
              static_cast<int>(entries_.size()) >= options_.max_entries)) {
        EraseLocked(entries_.find(lru_.back()), &released);
      }
      lru_.push_front(key);
      auto stored = entries_.emplace(key, Entry()).first;
      Entry& entry = stored->second;
      entry.response = std::make_shared<const HttpResponse>(*result);
      entry.path = by_path_.try_emplace(std::move(path)).first;
      entry.path->second.insert(&stored->first);
      entry.expires = clock_->Now() + ttl;
      entry.bytes = size;
      entry.lru = lru_.begin();
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
    followers = TakeFollowersLocked(key, &epoch);
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

void ResponseCache::CollectPathLocked(absl::string_view path,
                                      std::vector<const std::string*>* keys) {
  auto it = by_path_.find(path);
  if (it == by_path_.end()) return;
  keys->insert(keys->end(), it->second.begin(), it->second.end());
}

void ResponseCache::InvalidateForWrite(absl::string_view path_and_query) {
  const std::string scope = WriteScope(path_and_query);
  Released released;
  absl::MutexLock lock(&mu_);
  ++epoch_;
  if (scope.empty()) {  // Everything.
    invalidation_visits_ += static_cast<int64_t>(entries_.size());
    ClearLocked(&released);
    return;
  }
  // The paths affected (segment-aware; each path is visited once):
  std::vector<const std::string*> keys;
  // - the scope itself;
  CollectPathLocked(scope, &keys);
  // - the paths under it: "<scope>/..." is one range of the ordered index;
  const std::string under = scope + "/";
  for (auto it = by_path_.lower_bound(under);
       it != by_path_.end() && absl::StartsWith(it->first, under); ++it) {
    keys.insert(keys.end(), it->second.begin(), it->second.end());
  }
  // - its ancestors: each prefix that ends right before a '/' of the scope ("" and /api for
  //   /api/x) or with one ("/", "/api/").
  std::vector<size_t> ancestor_sizes;
  for (size_t i = 0; i < scope.size(); ++i) {
    if (scope[i] != '/') continue;
    ancestor_sizes.push_back(i);
    if (i + 1 < scope.size()) ancestor_sizes.push_back(i + 1);
  }
  std::sort(ancestor_sizes.begin(), ancestor_sizes.end());
  ancestor_sizes.erase(
      std::unique(ancestor_sizes.begin(), ancestor_sizes.end()),
      ancestor_sizes.end());
  for (size_t size : ancestor_sizes)
    CollectPathLocked(absl::string_view(scope).substr(0, size), &keys);

  invalidation_visits_ += static_cast<int64_t>(keys.size());
  // Each key is collected once, and read before its own entry is erased.
  for (const std::string* key : keys)
    EraseLocked(entries_.find(*key), &released);
}

void ResponseCache::Clear() {
  Released released;
  absl::MutexLock lock(&mu_);
  ++epoch_;
  ClearLocked(&released);
}

void ResponseCache::ClearLocked(Released* released) {
  for (auto& [key, entry] : entries_)
    released->push_back(std::move(entry.response));
  entries_.clear();
  by_path_.clear();
  lru_.clear();
  bytes_ = 0;
}

void ResponseCache::EraseLocked(
    std::unordered_map<std::string, Entry>::iterator it, Released* released) {
  Entry& entry = it->second;
  bytes_ -= entry.bytes;
  lru_.erase(entry.lru);
  entry.path->second.erase(&it->first);
  if (entry.path->second.empty()) by_path_.erase(entry.path);
  released->push_back(std::move(entry.response));
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

int64_t ResponseCache::invalidation_visits() {
  absl::MutexLock lock(&mu_);
  return invalidation_visits_;
}

}  // namespace fgw
