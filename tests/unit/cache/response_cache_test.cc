#include "server/cache/response_cache.h"

#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "gtest/gtest.h"
#include "tests/support/fake_clock.h"
#include "tests/support/fake_transport.h"

namespace fgw {
namespace {

using Kind = ResponseCache::Lookup::Kind;

HttpRequest Get(std::string path, HttpHeaders headers = {}) {
  HttpRequest request;
  request.method = "GET";
  request.path_and_query = std::move(path);
  request.headers = std::move(headers);
  return request;
}

class ResponseCacheTest : public ::testing::Test {
 protected:
  ResponseCache::Lookup Lookup(const std::string& path,
                               ResponseCache::FollowerCallback cb = nullptr) {
    return cache_.LookupOrJoin(Key(path), path, std::move(cb));
  }
  std::string Key(const std::string& path) {
    return ResponseCache::MakeKey(
        "client#1", "formance.ledger.v2.LedgerService/GetAccount", Get(path));
  }
  // Leader lookup + completion with a 200.
  void Fill(const std::string& path, std::string body = "body",
            absl::Duration ttl = absl::Seconds(10)) {
    ASSERT_EQ(Lookup(path).kind, Kind::kLeader);
    cache_.Complete(Key(path), MakeHttpResponse(200, std::move(body)), ttl);
  }

  FakeClock clock_;
  ResponseCache cache_{ResponseCacheOptions{}, &clock_};
};

TEST_F(ResponseCacheTest, KeyHasIdentityMethodPathAndRelevantHeaders) {
  HttpRequest a = Get(
      "/x?b=1", {{"Accept", "application/json"}, {"Idempotency-Key", "k1"}});
  HttpRequest b = Get("/x?b=1", {{"accept", "application/json"},
                                 {"Authorization", "Bearer t"}});
  EXPECT_EQ(ResponseCache::MakeKey("id", "m", a),
            ResponseCache::MakeKey("id", "m", b));
  EXPECT_NE(ResponseCache::MakeKey("id", "m", a),
            ResponseCache::MakeKey("other", "m", a));
  EXPECT_NE(ResponseCache::MakeKey("id", "m", a),
            ResponseCache::MakeKey("id", "m2", a));
  EXPECT_NE(ResponseCache::MakeKey("id", "m", a),
            ResponseCache::MakeKey("id", "m", Get("/x?b=2")));
  EXPECT_NE(ResponseCache::MakeKey("id", "m", a),
            ResponseCache::MakeKey("id", "m",
                                   Get("/x?b=1", {{"Accept", "text/plain"}})));
  EXPECT_EQ(ResponseCache::MakeKey("id", "m", a).find("Bearer"),
            std::string::npos);
}

TEST_F(ResponseCacheTest, HitThenExpiry) {
  Fill("/api/ledger/v2/l1/accounts/a", "account-a", absl::Seconds(5));
  auto hit = Lookup("/api/ledger/v2/l1/accounts/a");
  ASSERT_EQ(hit.kind, Kind::kHit);
  EXPECT_EQ(hit.response.body, "account-a");
  clock_.Advance(absl::Seconds(4));
  EXPECT_EQ(Lookup("/api/ledger/v2/l1/accounts/a").kind, Kind::kHit);
  clock_.Advance(absl::Seconds(1));
  EXPECT_EQ(Lookup("/api/ledger/v2/l1/accounts/a").kind, Kind::kLeader);
  EXPECT_EQ(cache_.hits(), 2);
}

TEST_F(ResponseCacheTest, OnlySuccessfulResponsesAreStored) {
  for (int status : {404, 500, 503, 301}) {
    std::string path = absl::StrCat("/s/", status);
    ASSERT_EQ(Lookup(path).kind, Kind::kLeader);
    cache_.Complete(Key(path), MakeHttpResponse(status, "x"),
                    absl::Seconds(10));
    EXPECT_EQ(Lookup(path).kind, Kind::kLeader) << status;
    cache_.Abandon(Key(path));
  }
  ASSERT_EQ(Lookup("/err").kind, Kind::kLeader);
  cache_.Complete(Key("/err"), absl::UnavailableError("down"),
                  absl::Seconds(10));
  EXPECT_EQ(Lookup("/err").kind, Kind::kLeader);
  EXPECT_EQ(cache_.entries(), 0);
}

TEST_F(ResponseCacheTest, LruBoundByEntries) {
  ResponseCache small(ResponseCacheOptions{1 << 20, 3}, &clock_);
  auto fill = [&](const std::string& path) {
    std::string key = ResponseCache::MakeKey("", "m", Get(path));
    ASSERT_EQ(small.LookupOrJoin(key, path, nullptr).kind, Kind::kLeader);
    small.Complete(key, MakeHttpResponse(200, path), absl::Minutes(1));
  };
  auto kind = [&](const std::string& path) {
    std::string key = ResponseCache::MakeKey("", "m", Get(path));
    auto lookup = small.LookupOrJoin(key, path, nullptr);
    if (lookup.kind == Kind::kLeader) small.Abandon(key);
    return lookup.kind;
  };
  fill("/a");
  fill("/b");
  fill("/c");
  EXPECT_EQ(kind("/a"),
            Kind::kHit);  // /a is now the most recent: /b is the LRU.
  fill("/d");
  EXPECT_EQ(small.entries(), 3);
  EXPECT_EQ(kind("/b"), Kind::kLeader);
  EXPECT_EQ(kind("/a"), Kind::kHit);
  EXPECT_EQ(kind("/c"), Kind::kHit);
  EXPECT_EQ(kind("/d"), Kind::kHit);
}

TEST_F(ResponseCacheTest, LruBoundByBytes) {
  ResponseCache small(ResponseCacheOptions{2000, 100}, &clock_);
  for (int i = 0; i < 10; ++i) {
    std::string path = absl::StrCat("/p", i);
    std::string key = ResponseCache::MakeKey("", "m", Get(path));
    ASSERT_EQ(small.LookupOrJoin(key, path, nullptr).kind, Kind::kLeader);
    small.Complete(key, MakeHttpResponse(200, std::string(500, 'x')),
                   absl::Minutes(1));
    EXPECT_LE(small.bytes(), 2000);
  }
  EXPECT_EQ(small.entries(),
            3);  // 3 x (500 + key + overhead) fits in 2000, 4 do not.
  // An entry larger than the whole cache is not stored.
  std::string key = ResponseCache::MakeKey("", "m", Get("/huge"));
  small.LookupOrJoin(key, "/huge", nullptr);
  small.Complete(key, MakeHttpResponse(200, std::string(5000, 'x')),
                 absl::Minutes(1));
  EXPECT_EQ(small.entries(), 3);
}

TEST_F(ResponseCacheTest, SingleflightFollowersShareTheLeadersResult) {
  const std::string path = "/api/ledger/v2/l1/accounts/a";
  ASSERT_EQ(Lookup(path).kind, Kind::kLeader);
  std::vector<std::string> bodies;
  for (int i = 0; i < 50; ++i) {
    auto lookup = Lookup(path, [&](std::optional<ResponseCache::Result> r) {
      ASSERT_TRUE(r.has_value());
      ASSERT_TRUE(r->ok());
      bodies.push_back((*r)->body);
    });
    EXPECT_EQ(lookup.kind, Kind::kFollower);
  }
  EXPECT_TRUE(bodies.empty());
  cache_.Complete(Key(path), MakeHttpResponse(200, "shared"),
                  absl::Seconds(10));
  ASSERT_EQ(bodies.size(), 50u);
  for (const auto& body : bodies) EXPECT_EQ(body, "shared");
  EXPECT_EQ(Lookup(path).kind, Kind::kHit);
}

TEST_F(ResponseCacheTest, FollowersShareErrorsAndLearnOfAbandon) {
  ASSERT_EQ(Lookup("/e").kind, Kind::kLeader);
  absl::StatusCode seen = absl::StatusCode::kOk;
  Lookup("/e", [&](std::optional<ResponseCache::Result> r) {
    seen = r->status().code();
  });
  cache_.Complete(Key("/e"), absl::UnavailableError("down"), absl::Seconds(10));
  EXPECT_EQ(seen, absl::StatusCode::kUnavailable);

  ASSERT_EQ(Lookup("/a").kind, Kind::kLeader);
  bool abandoned = false;
  bool left_called = false;
  auto follower = Lookup(
      "/a", [&](std::optional<ResponseCache::Result> r) { abandoned = !r; });
  auto leaver = Lookup(
      "/a", [&](std::optional<ResponseCache::Result>) { left_called = true; });
  cache_.Leave(Key("/a"), leaver.follower_id);
  cache_.Abandon(Key("/a"));
  EXPECT_TRUE(abandoned);
  EXPECT_FALSE(left_called);
  EXPECT_EQ(Lookup("/a").kind, Kind::kLeader);  // A new leader may start.
}

TEST_F(ResponseCacheTest, WriteScopeRule) {
  EXPECT_EQ(
      ResponseCache::WriteScope("/api/ledger/v2/l1/transactions?dryRun=true"),
      "/api/ledger/v2/l1");
  EXPECT_EQ(ResponseCache::WriteScope("/api/ledger/v2/l1"),
            "/api/ledger/v2/l1");
  EXPECT_EQ(ResponseCache::WriteScope("/api/ledger/l1/transactions"),
            "/api/ledger/l1");
  EXPECT_EQ(
      ResponseCache::WriteScope("/api/payments/v3/payments/p1/adjustments"),
      "/api/payments");
  EXPECT_EQ(ResponseCache::WriteScope("/api/wallets/wallets/w1/debit"),
            "/api/wallets");
  EXPECT_EQ(ResponseCache::WriteScope("/versions"), "");
}

TEST_F(ResponseCacheTest, WriteInvalidatesItsScopeAndAncestorsOnly) {
  Fill("/api/ledger/v2/l1/accounts/a");
  Fill("/api/ledger/v2/l1/transactions?pageSize=10");
  Fill("/api/ledger/v2/l1");  // GetLedger.
  Fill("/api/ledger/v2");     // ListLedgers.
  Fill("/api/ledger/v2/l10/accounts/a");
  Fill("/api/ledger/v2/l2/accounts/a");
  Fill("/api/payments/v3/payments");
  cache_.InvalidateForWrite("/api/ledger/v2/l1/transactions");
  auto kind = [&](const std::string& path) {
    auto lookup = Lookup(path);
    if (lookup.kind == Kind::kLeader) cache_.Abandon(Key(path));
    return lookup.kind;
  };
  EXPECT_EQ(kind("/api/ledger/v2/l1/accounts/a"), Kind::kLeader);
  EXPECT_EQ(kind("/api/ledger/v2/l1/transactions?pageSize=10"), Kind::kLeader);
  EXPECT_EQ(kind("/api/ledger/v2/l1"), Kind::kLeader);
  EXPECT_EQ(kind("/api/ledger/v2"), Kind::kLeader);
  EXPECT_EQ(kind("/api/ledger/v2/l10/accounts/a"), Kind::kHit);
  EXPECT_EQ(kind("/api/ledger/v2/l2/accounts/a"), Kind::kHit);
  EXPECT_EQ(kind("/api/payments/v3/payments"), Kind::kHit);
}

TEST_F(ResponseCacheTest, LeaderStartedBeforeAWriteDoesNotStore) {
  ASSERT_EQ(Lookup("/api/ledger/v2/l1/accounts/a").kind, Kind::kLeader);
  cache_.InvalidateForWrite("/api/ledger/v2/l1/transactions");
  cache_.Complete(Key("/api/ledger/v2/l1/accounts/a"),
                  MakeHttpResponse(200, "stale?"), absl::Seconds(10));
  EXPECT_EQ(Lookup("/api/ledger/v2/l1/accounts/a").kind, Kind::kLeader);
}

// A hit hands out the stored response itself (one pointer copied under the lock), which stays
// valid after the entry is gone; LookupOrJoin() adds a copy for callers that need a value.
TEST_F(ResponseCacheTest, HitSharesTheStoredResponse) {
  const std::string path = "/api/ledger/v2/l1/accounts/a";
  Fill(path, "account-a");
  auto first = cache_.LookupOrJoinShared(Key(path), path, nullptr);
  auto second = cache_.LookupOrJoinShared(Key(path), path, nullptr);
  ASSERT_EQ(first.kind, Kind::kHit);
  ASSERT_EQ(second.kind, Kind::kHit);
  ASSERT_NE(first.cached, nullptr);
  EXPECT_EQ(first.cached.get(), second.cached.get());  // Not a copy.
  EXPECT_EQ(first.cached->body, "account-a");
  EXPECT_EQ(first.response.body, "");  // No copy made.

  auto copied = Lookup(path);
  ASSERT_EQ(copied.kind, Kind::kHit);
  EXPECT_EQ(copied.cached.get(), first.cached.get());
  EXPECT_EQ(copied.response.body, "account-a");
  EXPECT_EQ(copied.response.status, 200);
  EXPECT_EQ(cache_.hits(), 3);

  cache_.InvalidateForWrite("/api/ledger/v2/l1/transactions");
  EXPECT_EQ(cache_.entries(), 0);
  EXPECT_EQ(first.cached->body, "account-a");  // Still owned by the caller.
  EXPECT_EQ(cache_.LookupOrJoinShared(Key(path), path, nullptr).cached,
            nullptr);  // Now the leader.
  cache_.Abandon(Key(path));
}

// The path index drops exactly what the segment-aware rule of the header says: the scope, what
// is under it, and its ancestors; checked against that rule written out, over tricky paths.
TEST_F(ResponseCacheTest, InvalidationMatchesTheSegmentAwareRule) {
  auto affected = [](absl::string_view path, absl::string_view scope) {
    if (scope.empty() || path == scope) return true;
    if (absl::StartsWith(path, scope) && path.size() > scope.size() &&
        path[scope.size()] == '/')
      return true;
    return absl::StartsWith(scope, path) && scope.size() > path.size() &&
           (scope[path.size()] == '/' || (!path.empty() && path.back() == '/'));
  };
  const std::vector<std::string> paths = {
      "",
      "/",
      "/api",
      "/api/",
      "/api/ledger",
      "/api/ledger/",
      "/api/ledger/v2",
      "/api/ledger/v2/",
      "/api/ledger/v2/l1",
      "/api/ledger/v2/l1?x=1",
      "/api/ledger/v2/l1/",
      "/api/ledger/v2/l1/accounts/a",
      "/api/ledger/v2/l1/accounts/a?pageSize=2",
      "/api/ledger/v2/l1-x/accounts",
      "/api/ledger/v2/l10",
      "/api/ledger/v2/l10/accounts/a",
      "/api/ledger/v2/l1.0",
      "/api/ledger/v2/l2/accounts/a",
      "/api/ledger/l1",
      "/api/ledger/l1/transactions",
      "/api/ledger/l10",
      "/api/payments",
      "/api/payments/v3/payments",
      "/api/paymentsx/v1",
      "/api/wallets/wallets/w1",
      "/apix",
      "/versions",
  };
  const std::vector<std::string> writes = {
      "/api/ledger/v2/l1/transactions",
      "/api/ledger/v2/l1",
      "/api/ledger/v2/l10/metadata",
      "/api/ledger/l1/transactions?async=true",
      "/api/payments/v3/payments/p1/adjustments",
      "/api/wallets/wallets/w1/debit",
      "/api/ledger/v2",
      "/versions",
  };
  for (const std::string& write : writes) {
    ResponseCache cache(ResponseCacheOptions{}, &clock_);
    auto key = [](const std::string& path) {
      return ResponseCache::MakeKey("", "m", Get(path));
    };
    for (const std::string& path : paths) {
      ASSERT_EQ(cache.LookupOrJoinShared(key(path), path, nullptr).kind,
                Kind::kLeader);
      cache.Complete(key(path), MakeHttpResponse(200, path), absl::Minutes(1));
    }
    const std::string scope = ResponseCache::WriteScope(write);
    cache.InvalidateForWrite(write);
    int kept = 0;
    for (const std::string& path : paths) {
      std::string bare = path.substr(0, path.find('?'));
      auto lookup = cache.LookupOrJoinShared(key(path), path, nullptr);
      if (lookup.kind == Kind::kLeader) cache.Abandon(key(path));
      EXPECT_EQ(lookup.kind == Kind::kHit, !affected(bare, scope))
          << "write " << write << " (scope " << scope << "), cached " << path;
      kept += lookup.kind == Kind::kHit;
    }
    EXPECT_EQ(cache.entries(), kept) << write;
  }
}

// An invalidation visits the entries it drops, not the whole cache; evictions keep the index
// in step.
TEST_F(ResponseCacheTest, InvalidationVisitsOnlyTheAffectedEntries) {
  ResponseCache cache(ResponseCacheOptions{64 << 20, 1000}, &clock_);
  auto fill = [&](const std::string& path) {
    std::string key = ResponseCache::MakeKey("", "m", Get(path));
    ASSERT_EQ(cache.LookupOrJoinShared(key, path, nullptr).kind, Kind::kLeader);
    cache.Complete(key, MakeHttpResponse(200, "x"), absl::Minutes(1));
  };
  for (int ledger = 0; ledger < 100; ++ledger) {
    for (int account = 0; account < 10; ++account) {
      fill(absl::StrCat("/api/ledger/v2/l", ledger, "/accounts/a", account));
    }
  }
  ASSERT_EQ(cache.entries(), 1000);
  cache.InvalidateForWrite("/api/ledger/v2/l7/transactions");
  EXPECT_EQ(cache.entries(), 990);
  EXPECT_EQ(cache.invalidation_visits(), 10);

  // 10 free places, then each new entry evicts the least recently used: l0's 10 accounts, then
  // 5 of l1's.
  for (int i = 0; i < 25; ++i) fill(absl::StrCat("/api/ledger/v2/new/x", i));
  EXPECT_EQ(cache.entries(), 1000);
  cache.InvalidateForWrite("/api/ledger/v2/l0/transactions");
  EXPECT_EQ(cache.invalidation_visits(), 10);  // l0 was evicted: nothing left.
  cache.InvalidateForWrite("/api/ledger/v2/l1/transactions");
  EXPECT_EQ(cache.invalidation_visits(), 15);  // The 5 of l1 not evicted.
  EXPECT_EQ(cache.entries(), 995);
  cache.InvalidateForWrite("/versions");  // Everything.
  EXPECT_EQ(cache.entries(), 0);
  EXPECT_EQ(cache.bytes(), 0);
  fill("/api/ledger/v2/l1/accounts/a0");
  EXPECT_EQ(cache.entries(), 1);
}

}  // namespace
}  // namespace fgw
