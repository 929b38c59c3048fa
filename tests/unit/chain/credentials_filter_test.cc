// CredentialsFilter: the bearer token on the copy passed down, the 401 replay, token errors and
// cancellation, above a ScriptedFilter with a scripted TokenSource.
#include "server/chain/credentials_filter.h"

#include <deque>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/support/fake_clock.h"
#include "tests/unit/chain/scripted_filter.h"

namespace fgw {
namespace {

using ::fgw::testing_chain::FilterStack;
using ::fgw::testing_chain::Get;
using ::fgw::testing_chain::ReplySlot;
using ::fgw::testing_chain::Response;
using ::fgw::testing_chain::ScriptedFilter;
using ::testing::ElementsAre;

// Answers "tok-<generation>" (bumped by each Invalidate()) or a scripted error, inline; or, in
// hold mode, keeps the callbacks until Deliver().
class ScriptedTokenSource : public TokenSource {
 public:
  void GetToken(const std::vector<std::string>& scopes, absl::Time deadline,
                Callback done) override {
    absl::StatusOr<std::string> answer;
    {
      absl::MutexLock lock(&mu_);
      ++gets_;
      scopes_.push_back(scopes);
      deadlines_.push_back(deadline);
      if (hold_) {
        held_.push_back(std::move(done));
        return;
      }
      answer = AnswerLocked();
    }
    done(std::move(answer));
  }
  void Invalidate(const std::vector<std::string>&,
                  const std::string& token) override {
    absl::MutexLock lock(&mu_);
    invalidated_.push_back(token);
    ++generation_;
  }

  // Answers the oldest held GetToken(); false if none.
  bool Deliver() {
    Callback done;
    absl::StatusOr<std::string> answer;
    {
      absl::MutexLock lock(&mu_);
      if (held_.empty()) return false;
      done = std::move(held_.front());
      held_.pop_front();
      answer = AnswerLocked();
    }
    done(std::move(answer));
    return true;
  }

  void set_hold(bool hold) {
    absl::MutexLock lock(&mu_);
    hold_ = hold;
  }
  void set_error(absl::Status error) {
    absl::MutexLock lock(&mu_);
    error_ = std::move(error);
  }
  // Errors for the next GetToken() calls after `ok_first` good ones.
  void set_error_after(int ok_first, absl::Status error) {
    absl::MutexLock lock(&mu_);
    error_after_ = ok_first;
    error_ = std::move(error);
  }
  void set_fixed_token(std::string token) {
    absl::MutexLock lock(&mu_);
    fixed_token_ = std::move(token);
    use_fixed_ = true;
  }
  int gets() {
    absl::MutexLock lock(&mu_);
    return gets_;
  }
  std::vector<std::vector<std::string>> scopes() {
    absl::MutexLock lock(&mu_);
    return scopes_;
  }
  std::vector<absl::Time> deadlines() {
    absl::MutexLock lock(&mu_);
    return deadlines_;
  }
  std::vector<std::string> invalidated() {
    absl::MutexLock lock(&mu_);
    return invalidated_;
  }

 private:
  absl::StatusOr<std::string> AnswerLocked()
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    if (!error_.ok() && answered_ >= error_after_) return error_;
    ++answered_;
    if (use_fixed_) return fixed_token_;
    return absl::StrCat("tok-", generation_);
  }

  absl::Mutex mu_;
  bool hold_ ABSL_GUARDED_BY(mu_) = false;
  int generation_ ABSL_GUARDED_BY(mu_) = 1;
  int gets_ ABSL_GUARDED_BY(mu_) = 0;
  int answered_ ABSL_GUARDED_BY(mu_) = 0;
  int error_after_ ABSL_GUARDED_BY(mu_) = 0;
  absl::Status error_ ABSL_GUARDED_BY(mu_);
  bool use_fixed_ ABSL_GUARDED_BY(mu_) = false;
  std::string fixed_token_ ABSL_GUARDED_BY(mu_);
  std::deque<Callback> held_ ABSL_GUARDED_BY(mu_);
  std::vector<std::vector<std::string>> scopes_ ABSL_GUARDED_BY(mu_);
  std::vector<absl::Time> deadlines_ ABSL_GUARDED_BY(mu_);
  std::vector<std::string> invalidated_ ABSL_GUARDED_BY(mu_);
};

// Every Authorization header of `request`.
std::vector<std::string> Authorizations(const HttpRequest& request) {
  std::vector<std::string> values;
  for (const auto& [name, value] : request.headers) {
    if (absl::EqualsIgnoreCase(name, "Authorization")) values.push_back(value);
  }
  return values;
}

// Sends the same request down twice, one after the other (as the retry filter does), keeping
// what it passed down.
class TwiceFilter : public Filter {
 public:
  void Send(const std::shared_ptr<Exchange>& x, HttpRequest request,
            const Next& next, ReplyCallback done) override {
    sent_.push_back(request);
    next(x, request,
         [this, x, request, next, done = std::move(done)](Reply) mutable {
           sent_.push_back(request);
           next(x, request, std::move(done));
         });
  }
  std::vector<HttpRequest> sent_;
};

class CredentialsFilterTest : public ::testing::Test {
 protected:
  CredentialsFilterTest()
      : stack_(std::make_unique<CredentialsFilter>(&tokens_)) {
    spec_.method = "formance.ledger.v2.LedgerService/GetAccount";
    spec_.read_only = true;
    spec_.scopes = {"ledger:read", "ledger:write"};
  }

  std::shared_ptr<Exchange> Send(HttpRequest request, ReplySlot* slot,
                                 absl::Time deadline = absl::InfiniteFuture()) {
    auto x =
        std::make_shared<Exchange>(&spec_, deadline, CallOptions{}, &clock_);
    stack_.Send(x, std::move(request), slot);
    return x;
  }

  ScriptedFilter& below() { return stack_.scripted(); }

  FakeClock clock_;
  ScriptedTokenSource tokens_;
  UpstreamCallSpec spec_;
  FilterStack stack_;
};

TEST_F(CredentialsFilterTest, BearerTokenOnTheRequestPassedDown) {
  below().Enqueue(Response(200, "ok"));
  ReplySlot slot;
  const absl::Time deadline = clock_.Now() + absl::Seconds(3);
  auto x = Send(Get(), &slot, deadline);
  ASSERT_EQ(below().num_calls(), 1);
  EXPECT_THAT(Authorizations(below().request(0)), ElementsAre("Bearer tok-1"));
  EXPECT_EQ(below().request(0).path_and_query, Get().path_and_query);
  ASSERT_EQ(slot.calls(), 1);
  EXPECT_EQ(slot.reply()->body, "ok");
  // Asked once, for the operation's scopes, within the call's deadline.
  EXPECT_EQ(tokens_.gets(), 1);
  EXPECT_THAT(tokens_.scopes(),
              ElementsAre(ElementsAre("ledger:read", "ledger:write")));
  EXPECT_THAT(tokens_.deadlines(), ElementsAre(deadline));
  EXPECT_EQ(x->attempts(), 0);  // The retry filter counts first attempts.
}

TEST_F(CredentialsFilterTest, AnAuthorizationFromAboveIsReplaced) {
  below().Enqueue(Response(200));
  HttpRequest request = Get();
  request.headers.emplace_back("authorization", "Bearer forged");
  ReplySlot slot;
  Send(request, &slot);
  EXPECT_THAT(Authorizations(below().request(0)), ElementsAre("Bearer tok-1"));
}

TEST_F(CredentialsFilterTest, TheTokenNeverReachesTheFiltersAbove) {
  std::vector<std::unique_ptr<Filter>> filters;
  auto twice = std::make_unique<TwiceFilter>();
  TwiceFilter* above = twice.get();
  filters.push_back(std::move(twice));
  filters.push_back(std::make_unique<CredentialsFilter>(&tokens_));
  auto scripted = std::make_unique<ScriptedFilter>();
  ScriptedFilter* terminal = scripted.get();
  filters.push_back(std::move(scripted));
  terminal->Enqueue(Response(503));
  terminal->Enqueue(Response(200));
  tokens_.set_fixed_token("secret");
  auto x = std::make_shared<Exchange>(&spec_, absl::InfiniteFuture(),
                                      CallOptions{}, &clock_);
  ReplySlot slot;
  Next(&filters, 0)(x, Get(), slot.Callback());
  ASSERT_EQ(slot.calls(), 1);
  ASSERT_EQ(terminal->num_calls(), 2);
  for (int i = 0; i < 2; ++i) {
    EXPECT_THAT(Authorizations(terminal->request(i)),
                ElementsAre("Bearer secret"));
  }
  ASSERT_EQ(above->sent_.size(), 2u);
  for (const HttpRequest& r : above->sent_) {
    EXPECT_TRUE(Authorizations(r).empty());
  }
  EXPECT_EQ(tokens_.gets(), 2);
}

TEST_F(CredentialsFilterTest, NoTokenAskedWhenTheOperationNeedsNone) {
  spec_.needs_token = false;
  below().Enqueue(Response(200));
  ReplySlot slot;
  Send(Get("/versions"), &slot);
  EXPECT_EQ(tokens_.gets(), 0);
  EXPECT_TRUE(Authorizations(below().request(0)).empty());
  EXPECT_EQ(slot.reply()->status, 200);
}

TEST_F(CredentialsFilterTest, NoTokenSourcePassesThrough) {
  FilterStack stack(std::make_unique<CredentialsFilter>(nullptr));
  stack.scripted().Enqueue(Response(401));
  auto x = std::make_shared<Exchange>(&spec_, absl::InfiniteFuture(),
                                      CallOptions{}, &clock_);
  ReplySlot slot;
  stack.Send(x, Get(), &slot);
  EXPECT_TRUE(Authorizations(stack.scripted().request(0)).empty());
  EXPECT_EQ(slot.reply()->status, 401);  // No token, no replay.
  EXPECT_EQ(stack.scripted().num_calls(), 1);
}

TEST_F(CredentialsFilterTest, Unauthorized401InvalidatesAndReplaysOnce) {
  below().Enqueue(Response(401, "expired"));
  below().Enqueue(Response(200, "ok"));
  ReplySlot slot;
  auto x = Send(Get(), &slot);
  ASSERT_EQ(below().num_calls(), 2);
  EXPECT_THAT(Authorizations(below().request(0)), ElementsAre("Bearer tok-1"));
  EXPECT_THAT(Authorizations(below().request(1)), ElementsAre("Bearer tok-2"));
  EXPECT_THAT(tokens_.invalidated(), ElementsAre("tok-1"));
  EXPECT_EQ(tokens_.gets(), 2);
  ASSERT_EQ(slot.calls(), 1);
  EXPECT_EQ(slot.reply()->body, "ok");
  EXPECT_EQ(x->attempts(), 1);  // The replay, counted here.
}

TEST_F(CredentialsFilterTest, ASecond401IsTheAnswer) {
  below().Enqueue(Response(401, "first"));
  below().Enqueue(Response(401, "second"));
  below().Enqueue(Response(200, "never"));
  ReplySlot slot;
  auto x = Send(Get(), &slot);
  ASSERT_EQ(slot.calls(), 1);
  EXPECT_EQ(slot.reply()->status, 401);
  EXPECT_EQ(slot.reply()->body, "second");
  EXPECT_EQ(below().num_calls(), 2);
  EXPECT_THAT(tokens_.invalidated(), ElementsAre("tok-1"));
  EXPECT_EQ(x->attempts(), 1);
}

TEST_F(CredentialsFilterTest, OtherStatusesAreNotReplayed) {
  below().Enqueue(Response(403));
  ReplySlot slot;
  auto x = Send(Get(), &slot);
  EXPECT_EQ(slot.reply()->status, 403);
  EXPECT_EQ(below().num_calls(), 1);
  EXPECT_TRUE(tokens_.invalidated().empty());
  EXPECT_EQ(x->attempts(), 0);
}

TEST_F(CredentialsFilterTest, TokenErrorIsAFinalErrorAndNothingGoesDown) {
  tokens_.set_error(absl::UnauthenticatedError("client rejected"));
  below().Enqueue(Response(200));
  ReplySlot slot;
  Send(Get(), &slot);
  ASSERT_EQ(slot.calls(), 1);
  const absl::Status& status = slot.reply().status();
  EXPECT_EQ(status.code(), absl::StatusCode::kUnauthenticated);
  EXPECT_EQ(status.message(), "client rejected");
  EXPECT_TRUE(IsFinalError(status));
  EXPECT_EQ(below().num_calls(), 0);
}

TEST_F(CredentialsFilterTest, UnavailableTokenIsFinalToo) {
  tokens_.set_error(absl::UnavailableError("token endpoint down"));
  ReplySlot slot;
  Send(Get(), &slot);
  EXPECT_EQ(slot.reply().status().code(), absl::StatusCode::kUnavailable);
  EXPECT_TRUE(IsFinalError(slot.reply().status()));
  EXPECT_EQ(below().num_calls(), 0);
}

TEST_F(CredentialsFilterTest, TokenErrorOnTheReplayIsFinal) {
  tokens_.set_error_after(1, absl::UnavailableError("token endpoint down"));
  below().Enqueue(Response(401));
  ReplySlot slot;
  Send(Get(), &slot);
  ASSERT_EQ(slot.calls(), 1);
  EXPECT_EQ(slot.reply().status().code(), absl::StatusCode::kUnavailable);
  EXPECT_TRUE(IsFinalError(slot.reply().status()));
  EXPECT_EQ(below().num_calls(), 1);
}

TEST_F(CredentialsFilterTest, Late401AfterTheCallIsOverIsNotReplayed) {
  below().set_hold(true);
  ReplySlot slot;
  auto x = Send(Get(), &slot);
  x->cancellation().Cancel();
  below().ReleaseNext(Response(401));
  EXPECT_EQ(below().num_calls(), 1);
  EXPECT_TRUE(tokens_.invalidated().empty());
  EXPECT_EQ(slot.calls(), 1);
}

TEST_F(CredentialsFilterTest, TokenArrivingAfterCancellationSendsNothing) {
  tokens_.set_hold(true);
  ReplySlot slot;
  auto x = Send(Get(), &slot);
  x->cancellation().Cancel();
  tokens_.Deliver();
  ASSERT_EQ(slot.calls(), 1);
  EXPECT_EQ(slot.reply().status().code(), absl::StatusCode::kCancelled);
  EXPECT_EQ(below().num_calls(), 0);
}

// filter.h: "When x->cancellation() fires, a filter with pending work answers CANCELLED promptly
// and starts nothing new"; filter_chain.h lists "a token" among the waits that stop.
TEST_F(CredentialsFilterTest, CancellationWhileWaitingForATokenAnswersAtOnce) {
  tokens_.set_hold(true);
  ReplySlot slot;
  auto x = Send(Get(), &slot);
  EXPECT_FALSE(slot.answered());
  x->cancellation().Cancel();
  ASSERT_EQ(slot.calls(), 1);
  EXPECT_EQ(slot.reply().status().code(), absl::StatusCode::kCancelled);
  // The token arriving later changes nothing.
  tokens_.Deliver();
  EXPECT_EQ(slot.calls(), 1);
  EXPECT_EQ(below().num_calls(), 0);
}

TEST_F(CredentialsFilterTest, ExchangeAlreadyOverSendsNothing) {
  auto x = std::make_shared<Exchange>(&spec_, absl::InfiniteFuture(),
                                      CallOptions{}, &clock_);
  x->cancellation().Cancel();
  below().Enqueue(Response(200));
  ReplySlot slot;
  stack_.Send(x, Get(), &slot);
  ASSERT_EQ(slot.calls(), 1);
  EXPECT_EQ(slot.reply().status().code(), absl::StatusCode::kCancelled);
  EXPECT_EQ(below().num_calls(), 0);
}

TEST_F(CredentialsFilterTest, AsynchronousTokenThenReplay) {
  tokens_.set_hold(true);
  below().Enqueue(Response(401));
  below().Enqueue(Response(200, "ok"));
  ReplySlot slot;
  auto x = Send(Get(), &slot);
  EXPECT_EQ(below().num_calls(), 0);
  ASSERT_TRUE(tokens_.Deliver());
  EXPECT_EQ(below().num_calls(), 1);
  EXPECT_FALSE(slot.answered());  // Waiting for the replay's token.
  ASSERT_TRUE(tokens_.Deliver());
  ASSERT_EQ(slot.calls(), 1);
  EXPECT_EQ(slot.reply()->body, "ok");
  EXPECT_THAT(Authorizations(below().request(1)), ElementsAre("Bearer tok-2"));
}

// An empty token is no credential: no "Authorization: Bearer " (as UpstreamCaller did), and a
// 401 is not replayed with it.
TEST_F(CredentialsFilterTest, EmptyTokenSendsNoAuthorization) {
  tokens_.set_fixed_token("");
  below().Enqueue(Response(401));
  ReplySlot slot;
  Send(Get(), &slot);
  EXPECT_TRUE(Authorizations(below().request(0)).empty());
  EXPECT_EQ(slot.reply()->status, 401);
  EXPECT_EQ(below().num_calls(), 1);
  EXPECT_TRUE(tokens_.invalidated().empty());
}

}  // namespace
}  // namespace fgw

namespace fgw {
namespace {

// A caller with its own Formance client (policy: formance_client): the admission filter sets
// its token source on the Exchange, and that source is asked instead of the gateway's.
TEST_F(CredentialsFilterTest, TheCallersOwnTokenSourceIsUsedWhenSet) {
  ScriptedTokenSource callers;
  below().Enqueue(Response(200));
  ReplySlot slot;
  auto x = std::make_shared<Exchange>(&spec_, absl::InfiniteFuture(),
                                      CallOptions{}, &clock_);
  x->set_caller_tokens(&callers);
  stack_.Send(x, Get(), &slot);
  ASSERT_EQ(below().num_calls(), 1);
  EXPECT_EQ(callers.gets(), 1);
  EXPECT_EQ(tokens_.gets(), 0);
  ASSERT_EQ(slot.calls(), 1);
  EXPECT_TRUE(slot.reply().ok());
}

}  // namespace
}  // namespace fgw
