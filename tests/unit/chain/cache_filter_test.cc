// CacheFilter: hits, singleflight (leader, followers, a leader that gives up), write
// invalidation, pass-through cases and per-identity keys, above a ScriptedFilter.
#include "server/chain/cache_filter.h"

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/synchronization/mutex.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/support/fake_clock.h"
#include "tests/support/fake_metrics.h"
#include "tests/unit/chain/scripted_filter.h"

namespace fgw {
namespace {

using ::fgw::testing_chain::FilterStack;
using ::fgw::testing_chain::Get;
using ::fgw::testing_chain::Post;
using ::fgw::testing_chain::ReplySlot;
using ::fgw::testing_chain::Response;

// Only Identity() matters to the cache filter; it must never ask for a token.
class IdentityTokenSource : public TokenSource {
 public:
  void GetToken(const std::vector<std::string>&, absl::Time,
                Callback done) override {
    {
      absl::MutexLock lock(&mu_);
      ++gets_;
    }
    done(absl::InternalError("the cache filter asked for a token"));
  }
  void Invalidate(const std::vector<std::string>&,
                  const std::string&) override {}
  std::string Identity() override {
    absl::MutexLock lock(&mu_);
    return identity_;
  }
  void set_identity(std::string identity) {
    absl::MutexLock lock(&mu_);
    identity_ = std::move(identity);
  }
  int gets() {
    absl::MutexLock lock(&mu_);
    return gets_;
  }

 private:
  absl::Mutex mu_;
  std::string identity_ = "client#1";
  int gets_ = 0;
};

class CacheFilterTest : public ::testing::Test {
 protected:
  CacheFilterTest()
      : cache_(ResponseCacheOptions{}, &clock_),
        stack_(std::make_unique<CacheFilter>(&cache_, &tokens_, &metrics_)) {
    read_.method = "formance.ledger.v2.LedgerService/GetAccount";
    read_.read_only = true;
    read_.scopes = {"ledger:read"};
    read_.cache_ttl = absl::Seconds(10);
    write_.method = "formance.ledger.v2.LedgerService/CreateTransaction";
    write_.scopes = {"ledger:write"};
  }

  std::shared_ptr<Exchange> NewExchange(const UpstreamCallSpec& spec,
                                        CallOptions options = {}) {
    return std::make_shared<Exchange>(&spec, absl::InfiniteFuture(), options,
                                      &clock_);
  }

  // One read through the filter; returns its Exchange.
  std::shared_ptr<Exchange> Read(ReplySlot* slot, HttpRequest request = Get(),
                                 CallOptions options = {}) {
    auto x = NewExchange(read_, options);
    stack_.Send(x, std::move(request), slot);
    return x;
  }

  // Stores a 200 for Get() through the filter.
  void Populate(std::string body = "cached") {
    stack_.scripted().Enqueue(Response(200, std::move(body)));
    ReplySlot slot;
    Read(&slot);
    ASSERT_EQ(slot.calls(), 1);
    ASSERT_EQ(cache_.entries(), 1);
  }

  FakeClock clock_;
  FakeMetrics metrics_;
  IdentityTokenSource tokens_;
  ResponseCache cache_;
  UpstreamCallSpec read_;
  UpstreamCallSpec write_;
  FilterStack stack_;
};

TEST_F(CacheFilterTest, MissGoesDownAndA2xxIsStored) {
  stack_.scripted().Enqueue(Response(200, "fresh"));
  ReplySlot slot;
  auto x = Read(&slot);
  EXPECT_EQ(stack_.scripted().num_calls(), 1);
  ASSERT_EQ(slot.calls(), 1);
  EXPECT_EQ(slot.reply()->body, "fresh");
  EXPECT_FALSE(x->cache_hit());
  EXPECT_EQ(cache_.entries(), 1);
  EXPECT_EQ(tokens_.gets(), 0);
}

TEST_F(CacheFilterTest, MetricsCountMissHitAndCoalesced) {
  Populate();  // A miss (leader).
  ReplySlot hit;
  Read(&hit);
  ASSERT_EQ(hit.calls(), 1);
  stack_.scripted().set_hold(true);
  ReplySlot leader, follower;
  Read(&leader, Get("/api/ledger/v2/l1/accounts/b"));
  Read(&follower, Get("/api/ledger/v2/l1/accounts/b"));
  ASSERT_TRUE(stack_.scripted().ReleaseNext(Response(200, "b")));
  ASSERT_EQ(follower.calls(), 1);
  EXPECT_EQ(
      metrics_.cache(),
      (std::vector<CacheResult>{CacheResult::kMiss, CacheResult::kHit,
                                CacheResult::kMiss, CacheResult::kCoalesced}));
}

TEST_F(CacheFilterTest, UncachedReadsAndWritesAreNotCounted) {
  read_.cache_ttl = absl::ZeroDuration();
  stack_.scripted().Enqueue(Response(200));
  ReplySlot slot;
  Read(&slot);
  ASSERT_EQ(slot.calls(), 1);
  EXPECT_TRUE(metrics_.cache().empty());
}

TEST_F(CacheFilterTest, HitAnswersWithoutCallingNext) {
  Populate("cached");
  ReplySlot slot;
  auto x = Read(&slot);
  EXPECT_EQ(stack_.scripted().num_calls(), 1);  // Only the first read.
  ASSERT_EQ(slot.calls(), 1);
  ASSERT_TRUE(slot.reply().ok());
  EXPECT_EQ(slot.reply()->status, 200);
  EXPECT_EQ(slot.reply()->body, "cached");
  EXPECT_TRUE(x->cache_hit());
  EXPECT_EQ(x->attempts(), 0);
  EXPECT_EQ(cache_.hits(), 1);
}

TEST_F(CacheFilterTest, EntryExpiresAfterTheTtl) {
  Populate();
  clock_.Advance(absl::Seconds(9));
  ReplySlot hit;
  EXPECT_TRUE(Read(&hit)->cache_hit());
  clock_.Advance(absl::Seconds(1));
  stack_.scripted().Enqueue(Response(200, "again"));
  ReplySlot miss;
  auto x = Read(&miss);
  EXPECT_FALSE(x->cache_hit());
  EXPECT_EQ(stack_.scripted().num_calls(), 2);
  EXPECT_EQ(miss.reply()->body, "again");
}

TEST_F(CacheFilterTest, Non2xxIsNotStored) {
  stack_.scripted().Enqueue(Response(404, "missing"));
  stack_.scripted().Enqueue(Response(200, "found"));
  ReplySlot first;
  ReplySlot second;
  Read(&first);
  EXPECT_EQ(first.reply()->status, 404);
  EXPECT_EQ(cache_.entries(), 0);
  auto x = Read(&second);
  EXPECT_FALSE(x->cache_hit());
  EXPECT_EQ(second.reply()->status, 200);
  EXPECT_EQ(stack_.scripted().num_calls(), 2);
}

TEST_F(CacheFilterTest, TwoIdenticalConcurrentReadsMakeOneRequestBelow) {
  stack_.scripted().set_hold(true);
  ReplySlot leader;
  ReplySlot follower;
  auto x1 = Read(&leader);
  auto x2 = Read(&follower);
  EXPECT_EQ(stack_.scripted().num_calls(), 1);
  EXPECT_EQ(stack_.scripted().exchange(0), x1);
  EXPECT_FALSE(follower.answered());

  ASSERT_TRUE(stack_.scripted().ReleaseNext(Response(200, "shared")));
  ASSERT_EQ(leader.calls(), 1);
  ASSERT_EQ(follower.calls(), 1);
  EXPECT_EQ(leader.reply()->body, "shared");
  EXPECT_EQ(follower.reply()->body, "shared");
  EXPECT_EQ(stack_.scripted().num_calls(), 1);
  EXPECT_EQ(cache_.entries(), 1);
}

TEST_F(CacheFilterTest, LeadersErrorIsSharedWithFollowersAndNotStored) {
  stack_.scripted().set_hold(true);
  ReplySlot leader;
  ReplySlot follower;
  Read(&leader);
  Read(&follower);
  stack_.scripted().ReleaseNext(absl::UnavailableError("upstream down"));
  EXPECT_EQ(leader.reply().status().code(), absl::StatusCode::kUnavailable);
  EXPECT_EQ(follower.reply().status().code(), absl::StatusCode::kUnavailable);
  EXPECT_EQ(stack_.scripted().num_calls(), 1);
  EXPECT_EQ(cache_.entries(), 0);
}

TEST_F(CacheFilterTest, LeaderCancelledFollowerGoesDownTheChainItself) {
  stack_.scripted().set_hold(true);
  stack_.scripted().set_answer_on_cancel(true);
  ReplySlot leader;
  ReplySlot follower;
  auto x1 = Read(&leader);
  auto x2 = Read(&follower);
  ASSERT_EQ(stack_.scripted().num_calls(), 1);

  x1->cancellation()
      .Cancel();  // The scripted filter answers the leader CANCELLED.
  ASSERT_EQ(leader.calls(), 1);
  EXPECT_EQ(leader.reply().status().code(), absl::StatusCode::kCancelled);
  EXPECT_FALSE(follower.answered());
  ASSERT_EQ(stack_.scripted().num_calls(), 2);
  EXPECT_EQ(stack_.scripted().exchange(1), x2);
  EXPECT_EQ(stack_.scripted().request(1).path_and_query, Get().path_and_query);

  ASSERT_TRUE(stack_.scripted().ReleaseNext(Response(200, "own")));
  ASSERT_EQ(follower.calls(), 1);
  EXPECT_EQ(follower.reply()->body, "own");
  EXPECT_EQ(leader.calls(), 1);
}

TEST_F(CacheFilterTest, LeaderDeadlineExceededAlsoAbandonsTheFlight) {
  stack_.scripted().set_hold(true);
  ReplySlot leader;
  ReplySlot follower;
  Read(&leader);
  Read(&follower);
  stack_.scripted().ReleaseNext(absl::DeadlineExceededError("too slow"));
  EXPECT_EQ(leader.reply().status().code(),
            absl::StatusCode::kDeadlineExceeded);
  EXPECT_FALSE(follower.answered());
  EXPECT_EQ(stack_.scripted().num_calls(), 2);
  stack_.scripted().ReleaseNext(Response(200));
  EXPECT_EQ(follower.calls(), 1);
  EXPECT_EQ(follower.reply()->status, 200);
}

TEST_F(CacheFilterTest, CancelledFollowerAnswersCancelledAndLeaves) {
  stack_.scripted().set_hold(true);
  ReplySlot leader;
  ReplySlot follower;
  Read(&leader);
  auto x2 = Read(&follower);
  x2->cancellation().Cancel();
  ASSERT_EQ(follower.calls(), 1);
  EXPECT_EQ(follower.reply().status().code(), absl::StatusCode::kCancelled);
  stack_.scripted().ReleaseNext(Response(200, "late"));
  EXPECT_EQ(leader.calls(), 1);
  EXPECT_EQ(leader.reply()->body, "late");
  EXPECT_EQ(follower.calls(), 1);
  EXPECT_EQ(follower.reply().status().code(), absl::StatusCode::kCancelled);
  EXPECT_EQ(stack_.scripted().num_calls(), 1);
}

TEST_F(CacheFilterTest, FollowerOfAnExchangeAlreadyOverAnswersCancelled) {
  stack_.scripted().set_hold(true);
  ReplySlot leader;
  ReplySlot follower;
  Read(&leader);
  auto x2 = NewExchange(read_);
  x2->cancellation().Cancel();
  stack_.Send(x2, Get(), &follower);
  ASSERT_EQ(follower.calls(), 1);
  EXPECT_EQ(follower.reply().status().code(), absl::StatusCode::kCancelled);
  stack_.scripted().ReleaseNext(Response(200));
  EXPECT_EQ(follower.calls(), 1);
  EXPECT_EQ(leader.calls(), 1);
}

TEST_F(CacheFilterTest, SuccessfulWriteInvalidates) {
  Populate();
  stack_.scripted().Enqueue(Response(201));
  ReplySlot write;
  stack_.Send(NewExchange(write_), Post(), &write);
  ASSERT_EQ(write.calls(), 1);
  EXPECT_EQ(write.reply()->status, 201);
  EXPECT_EQ(stack_.scripted().num_calls(), 2);  // The write went down.
  EXPECT_EQ(cache_.entries(), 0);

  stack_.scripted().Enqueue(Response(200, "after write"));
  ReplySlot read;
  EXPECT_FALSE(Read(&read)->cache_hit());
  EXPECT_EQ(read.reply()->body, "after write");
}

TEST_F(CacheFilterTest, FailedWriteDoesNotInvalidate) {
  Populate();
  stack_.scripted().Enqueue(Response(400, "bad"));
  stack_.scripted().Enqueue(absl::UnavailableError("down"));
  ReplySlot w1;
  ReplySlot w2;
  stack_.Send(NewExchange(write_), Post(), &w1);
  stack_.Send(NewExchange(write_), Post(), &w2);
  EXPECT_EQ(w1.reply()->status, 400);
  EXPECT_EQ(w2.reply().status().code(), absl::StatusCode::kUnavailable);
  EXPECT_EQ(cache_.entries(), 1);
  ReplySlot read;
  EXPECT_TRUE(Read(&read)->cache_hit());
}

TEST_F(CacheFilterTest, WriteToAnotherLedgerKeepsTheEntry) {
  Populate();
  stack_.scripted().Enqueue(Response(201));
  ReplySlot write;
  stack_.Send(NewExchange(write_), Post("/api/ledger/v2/l2/transactions"),
              &write);
  EXPECT_EQ(cache_.entries(), 1);
}

TEST_F(CacheFilterTest, WritesAreNeverLookedUp) {
  write_.cache_ttl = absl::Seconds(10);  // Ignored: not a read.
  stack_.scripted().Enqueue(Response(200));
  stack_.scripted().Enqueue(Response(200));
  ReplySlot a;
  ReplySlot b;
  stack_.Send(NewExchange(write_), Post(), &a);
  stack_.Send(NewExchange(write_), Post(), &b);
  EXPECT_EQ(stack_.scripted().num_calls(), 2);
  EXPECT_EQ(cache_.entries(), 0);
}

TEST_F(CacheFilterTest, BypassCachePassesThrough) {
  Populate("cached");
  CallOptions bypass;
  bypass.bypass_cache = true;
  stack_.scripted().Enqueue(Response(200, "direct"));
  ReplySlot slot;
  auto x = Read(&slot, Get(), bypass);
  EXPECT_FALSE(x->cache_hit());
  EXPECT_EQ(slot.reply()->body, "direct");
  EXPECT_EQ(stack_.scripted().num_calls(), 2);
  // Nor does a bypassing read store or lead: the entry is still the old one.
  ReplySlot again;
  Read(&again);
  EXPECT_EQ(again.reply()->body, "cached");
}

TEST_F(CacheFilterTest, BypassingReadsDoNotShareAFlight) {
  stack_.scripted().set_hold(true);
  CallOptions bypass;
  bypass.bypass_cache = true;
  ReplySlot a;
  ReplySlot b;
  Read(&a, Get(), bypass);
  Read(&b, Get(), bypass);
  EXPECT_EQ(stack_.scripted().num_calls(), 2);
  stack_.scripted().ReleaseNext(Response(200));
  stack_.scripted().ReleaseNext(Response(200));
  EXPECT_EQ(cache_.entries(), 0);
}

TEST_F(CacheFilterTest, TtlZeroPassesThrough) {
  read_.cache_ttl = absl::ZeroDuration();
  stack_.scripted().set_hold(true);
  ReplySlot a;
  ReplySlot b;
  Read(&a);
  Read(&b);
  EXPECT_EQ(stack_.scripted().num_calls(), 2);  // No singleflight either.
  stack_.scripted().ReleaseNext(Response(200));
  stack_.scripted().ReleaseNext(Response(200));
  EXPECT_EQ(a.calls(), 1);
  EXPECT_EQ(b.calls(), 1);
  EXPECT_EQ(cache_.entries(), 0);
}

TEST_F(CacheFilterTest, NoCachePassesEverythingThrough) {
  FilterStack stack(std::make_unique<CacheFilter>(nullptr, &tokens_));
  stack.scripted().Enqueue(Response(200));
  stack.scripted().Enqueue(Response(200));
  stack.scripted().Enqueue(Response(201));
  ReplySlot a;
  ReplySlot b;
  ReplySlot w;
  auto x = NewExchange(read_);
  stack.Send(x, Get(), &a);
  stack.Send(NewExchange(read_), Get(), &b);
  stack.Send(NewExchange(write_), Post(), &w);
  EXPECT_EQ(stack.scripted().num_calls(), 3);
  EXPECT_FALSE(x->cache_hit());
  EXPECT_EQ(w.reply()->status, 201);
}

TEST_F(CacheFilterTest, KeysDifferPerTokenSourceIdentity) {
  Populate("for client 1");
  tokens_.set_identity("client#2");
  stack_.scripted().Enqueue(Response(200, "for client 2"));
  ReplySlot other;
  auto x = Read(&other);
  EXPECT_FALSE(x->cache_hit());
  EXPECT_EQ(other.reply()->body, "for client 2");
  EXPECT_EQ(stack_.scripted().num_calls(), 2);
  EXPECT_EQ(cache_.entries(), 2);

  tokens_.set_identity("client#1");
  ReplySlot back;
  EXPECT_TRUE(Read(&back)->cache_hit());
  EXPECT_EQ(back.reply()->body, "for client 1");
  EXPECT_EQ(tokens_.gets(), 0);
}

TEST_F(CacheFilterTest, ConcurrentReadsOfDifferentIdentitiesDoNotShare) {
  stack_.scripted().set_hold(true);
  ReplySlot a;
  ReplySlot b;
  Read(&a);
  tokens_.set_identity("client#2");
  Read(&b);
  EXPECT_EQ(stack_.scripted().num_calls(), 2);
}

TEST_F(CacheFilterTest, OperationsWithoutATokenIgnoreTheIdentity) {
  read_.needs_token = false;
  Populate("public");
  tokens_.set_identity("client#2");
  ReplySlot slot;
  EXPECT_TRUE(Read(&slot)->cache_hit());
  EXPECT_EQ(slot.reply()->body, "public");
}

TEST_F(CacheFilterTest, DifferentRequestsHaveDifferentEntries) {
  Populate();
  stack_.scripted().Enqueue(Response(200, "b"));
  ReplySlot slot;
  auto x = Read(&slot, Get("/api/ledger/v2/l1/accounts/b"));
  EXPECT_FALSE(x->cache_hit());
  EXPECT_EQ(slot.reply()->body, "b");
}

}  // namespace
}  // namespace fgw
