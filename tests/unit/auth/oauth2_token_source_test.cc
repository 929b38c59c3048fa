#include "server/auth/oauth2_token_source.h"

#include <atomic>
#include <cstdlib>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/support/fake_clock.h"
#include "tests/support/fake_transport.h"
#include "tests/unit/auth/temp_dir.h"

namespace fgw {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

constexpr char kSecret[] = "p@ss w0rd&=/+secret";

HttpResponse TokenResponse(const std::string& token, int expires_in = 3600) {
  std::string body =
      absl::StrCat(R"({"access_token":")", token, R"(","token_type":"Bearer")");
  if (expires_in >= 0) absl::StrAppend(&body, R"(,"expires_in":)", expires_in);
  absl::StrAppend(&body, "}");
  return MakeHttpResponse(200, body, {{"Content-Type", "application/json"}});
}

class OAuth2TokenSourceTest : public ::testing::Test {
 protected:
  OAuth2TokenSourceTest() : transport_(&clock_) {
    CredentialsOptions creds;
    creds.client_id = "my-client";
    creds.client_secret_file = dir_.Write("secret", kSecret);
    credentials_ = std::make_unique<CredentialsSource>(creds, &clock_);
    source_ = std::make_unique<OAuth2TokenSource>(
        OAuth2Options{}, credentials_.get(), &transport_, &clock_);
  }

  // Calls GetToken and returns the result if it was delivered inline or by `after`.
  absl::StatusOr<std::string> Get(
      std::vector<std::string> scopes,
      absl::Time deadline = absl::InfiniteFuture()) {
    absl::StatusOr<std::string> out = absl::UnknownError("not answered");
    source_->GetToken(scopes, deadline, [&](absl::StatusOr<std::string> t) {
      out = std::move(t);
    });
    return out;
  }

  TempDir dir_;
  FakeClock clock_;
  FakeTransport transport_;
  std::unique_ptr<CredentialsSource> credentials_;
  std::unique_ptr<OAuth2TokenSource> source_;
};

TEST_F(OAuth2TokenSourceTest, SendsTheSdkFormRequest) {
  transport_.Enqueue(TokenResponse("tok-1"));
  auto token = Get({"ledger:write", "ledger:read"});
  ASSERT_TRUE(token.ok()) << token.status();
  EXPECT_EQ(*token, "tok-1");
  ASSERT_EQ(transport_.num_calls(), 1);
  HttpRequest request = transport_.request(0);
  EXPECT_EQ(request.method, "POST");
  EXPECT_EQ(request.path_and_query, "/api/auth/oauth/token");
  EXPECT_EQ(*FindHeader(request.headers, "Content-Type"),
            "application/x-www-form-urlencoded");
  EXPECT_EQ(FindHeader(request.headers, "Authorization"),
            nullptr);  // Not Basic auth.
  EXPECT_EQ(request.body,
            "grant_type=client_credentials&client_id=my-client"
            "&client_secret=p%40ss+w0rd%26%3D%2F%2Bsecret"
            "&scope=ledger%3Aread+ledger%3Awrite");
}

TEST_F(OAuth2TokenSourceTest, ThousandConcurrentColdStartCallsShareOneRequest) {
  transport_.set_hold(true);
  std::atomic<int> ok{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 125; ++i) {
        source_->GetToken({"ledger:read"}, absl::InfiniteFuture(),
                          [&](absl::StatusOr<std::string> token) {
                            if (token.ok() && *token == "shared")
                              ok.fetch_add(1);
                          });
      }
    });
  }
  for (auto& thread : threads) thread.join();
  EXPECT_EQ(transport_.num_calls(), 1);
  EXPECT_EQ(ok.load(), 0);
  ASSERT_TRUE(transport_.ReleaseNext(TokenResponse("shared")));
  EXPECT_EQ(ok.load(), 1000);
  EXPECT_EQ(transport_.request(0).body,
            "grant_type=client_credentials&client_id=my-client"
            "&client_secret=p%40ss+w0rd%26%3D%2F%2Bsecret&scope=ledger%3Aread");
  // Cached afterwards: no new request.
  EXPECT_EQ(*Get({"ledger:read"}), "shared");
  EXPECT_EQ(transport_.num_calls(), 1);
}

TEST_F(OAuth2TokenSourceTest, OneTokenPerScopeSetAndSupersetReused) {
  transport_.Enqueue(TokenResponse("rw"));
  transport_.Enqueue(TokenResponse("payments"));
  EXPECT_EQ(*Get({"ledger:read", "ledger:write"}), "rw");
  EXPECT_EQ(*Get({"ledger:write", "ledger:read"}), "rw");  // Same sorted set.
  EXPECT_EQ(*Get({"ledger:read"}), "rw");  // Subset: superset token reused.
  EXPECT_EQ(transport_.num_calls(), 1);
  EXPECT_EQ(*Get({"payments:read"}), "payments");
  EXPECT_EQ(transport_.num_calls(), 2);
}

TEST_F(OAuth2TokenSourceTest, RefreshesAheadOfExpiryInTheBackground) {
  transport_.Enqueue(TokenResponse("old", 3600));
  EXPECT_EQ(*Get({"s"}), "old");
  clock_.Advance(absl::Seconds(3539));
  EXPECT_EQ(*Get({"s"}), "old");
  EXPECT_EQ(transport_.num_calls(), 1);

  clock_.Advance(absl::Seconds(2));  // 59 s before expiry: refresh window.
  transport_.set_hold(true);
  EXPECT_EQ(*Get({"s"}), "old");  // Served at once while ONE refresh runs.
  EXPECT_EQ(*Get({"s"}), "old");
  EXPECT_EQ(transport_.num_calls(), 2);
  ASSERT_TRUE(transport_.ReleaseNext(TokenResponse("new", 3600)));
  EXPECT_EQ(*Get({"s"}), "new");
  EXPECT_EQ(transport_.num_calls(), 2);
}

TEST_F(OAuth2TokenSourceTest, ExpiredTokenMakesCallersWait) {
  transport_.Enqueue(TokenResponse("old", 3600));
  EXPECT_EQ(*Get({"s"}), "old");
  clock_.Advance(absl::Seconds(3600));
  transport_.set_hold(true);
  absl::StatusOr<std::string> waited = absl::UnknownError("not answered");
  source_->GetToken(
      {"s"}, absl::InfiniteFuture(),
      [&](absl::StatusOr<std::string> t) { waited = std::move(t); });
  EXPECT_EQ(waited.status().code(),
            absl::StatusCode::kUnknown);  // Waits: the token expired.
  ASSERT_TRUE(transport_.ReleaseNext(TokenResponse("new")));
  EXPECT_EQ(*waited, "new");
  EXPECT_EQ(*Get({"s"}), "new");
}

TEST_F(OAuth2TokenSourceTest, NoExpiresInNeverExpires) {
  transport_.Enqueue(TokenResponse("forever", -1));
  EXPECT_EQ(*Get({"s"}), "forever");
  clock_.Advance(absl::Hours(24 * 365));
  EXPECT_EQ(*Get({"s"}), "forever");
  EXPECT_EQ(transport_.num_calls(), 1);
}

TEST_F(OAuth2TokenSourceTest, RotatedSecretFetchesANewToken) {
  transport_.Enqueue(TokenResponse("with-old-secret"));
  transport_.Enqueue(TokenResponse("with-new-secret"));
  EXPECT_EQ(*Get({"s"}), "with-old-secret");
  std::string identity = source_->Identity();
  dir_.Write("secret", "rotated-secret");
  clock_.Advance(absl::Seconds(2));
  EXPECT_EQ(*Get({"s"}), "with-new-secret");
  ASSERT_EQ(transport_.num_calls(), 2);
  EXPECT_THAT(transport_.request(1).body,
              HasSubstr("client_secret=rotated-secret"));
  EXPECT_NE(source_->Identity(), identity);
}

TEST_F(OAuth2TokenSourceTest, InvalidateDropsOnlyThatToken) {
  transport_.Enqueue(TokenResponse("first"));
  transport_.Enqueue(TokenResponse("second"));
  EXPECT_EQ(*Get({"s"}), "first");
  source_->Invalidate({"s"}, "not-the-cached-one");
  EXPECT_EQ(*Get({"s"}), "first");
  source_->Invalidate({"s"}, "first");
  EXPECT_EQ(*Get({"s"}), "second");
  EXPECT_EQ(transport_.num_calls(), 2);
}

// Every error path: the right code, and neither the secret, nor a token, nor the body.
TEST_F(OAuth2TokenSourceTest, ErrorsAreMappedAndLeakNothing) {
  struct Case {
    FakeTransport::Result answer;
    absl::StatusCode code;
  };
  const std::string body_text = "secret-ish body text access_token=leak";
  std::vector<Case> cases = {
      {MarkNotSent(absl::UnavailableError("connection refused")),
       absl::StatusCode::kUnavailable},
      {absl::DeadlineExceededError("timeout"), absl::StatusCode::kUnavailable},
      {MakeHttpResponse(503, body_text), absl::StatusCode::kUnavailable},
      {MakeHttpResponse(429, body_text), absl::StatusCode::kUnavailable},
      {MakeHttpResponse(401,
                        R"({"error":"invalid_client","error_description":")" +
                            body_text + "\"}"),
       absl::StatusCode::kUnauthenticated},
      {MakeHttpResponse(400, body_text), absl::StatusCode::kUnauthenticated},
      {MakeHttpResponse(200, body_text), absl::StatusCode::kUnavailable},
      {MakeHttpResponse(200, R"({"token_type":"Bearer"})"),
       absl::StatusCode::kUnavailable},
      {MakeHttpResponse(200, R"({"access_token":"leak-token"})"),
       absl::StatusCode::kUnavailable},
      {MakeHttpResponse(
           200, R"({"access_token":"bad\ntoken","token_type":"Bearer"})"),
       absl::StatusCode::kUnavailable},
  };
  for (size_t i = 0; i < cases.size(); ++i) {
    clock_.Advance(absl::Seconds(10));
    transport_.Enqueue(cases[i].answer);
    auto token = Get({absl::StrCat("scope", i)});
    ASSERT_FALSE(token.ok()) << i;
    EXPECT_EQ(token.status().code(), cases[i].code)
        << i << " " << token.status();
    std::string text = token.status().ToString();
    EXPECT_THAT(text, Not(HasSubstr(kSecret))) << i;
    EXPECT_THAT(text, Not(HasSubstr("p%40ss"))) << i;
    EXPECT_THAT(text, Not(HasSubstr("leak"))) << i;
    EXPECT_THAT(text, Not(HasSubstr("body text"))) << i;
  }
}

TEST_F(OAuth2TokenSourceTest, NonStandardErrorCodeIsNeverRepeated) {
  // A server may echo what it was sent (a secret shaped like an identifier) as `error`.
  transport_.Enqueue(
      MakeHttpResponse(401, R"({"error":"cs_eac00c8b70254dfc9a1b"})"));
  auto token = Get({"s"});
  EXPECT_EQ(token.status().code(), absl::StatusCode::kUnauthenticated);
  EXPECT_THAT(std::string(token.status().message()),
              Not(HasSubstr("cs_eac00c8b")));
  EXPECT_THAT(std::string(token.status().message()),
              HasSubstr("non-standard error code"));
}

TEST_F(OAuth2TokenSourceTest, InvalidClientCodeIsReported) {
  transport_.Enqueue(MakeHttpResponse(401, R"({"error":"invalid_client"})"));
  auto token = Get({"s"});
  EXPECT_EQ(token.status().code(), absl::StatusCode::kUnauthenticated);
  EXPECT_THAT(std::string(token.status().message()),
              HasSubstr("invalid_client"));
}

TEST_F(OAuth2TokenSourceTest, WaiterDeadlineExpiresWhileTheRequestRuns) {
  transport_.set_hold(true);
  absl::StatusOr<std::string> early = absl::UnknownError("");
  absl::StatusOr<std::string> late = absl::UnknownError("");
  source_->GetToken(
      {"s"}, clock_.Now() + absl::Seconds(1),
      [&](absl::StatusOr<std::string> t) { early = std::move(t); });
  source_->GetToken(
      {"s"}, absl::InfiniteFuture(),
      [&](absl::StatusOr<std::string> t) { late = std::move(t); });
  clock_.Advance(absl::Seconds(1));
  EXPECT_EQ(early.status().code(), absl::StatusCode::kDeadlineExceeded);
  EXPECT_EQ(late.status().code(), absl::StatusCode::kUnknown);
  ASSERT_TRUE(transport_.ReleaseNext(TokenResponse("t")));
  EXPECT_EQ(*late, "t");
  EXPECT_EQ(early.status().code(),
            absl::StatusCode::kDeadlineExceeded);  // Answered once.
}

TEST_F(OAuth2TokenSourceTest, FailureIsNotCachedNextCallRetries) {
  transport_.Enqueue(MakeHttpResponse(503, ""));
  transport_.Enqueue(TokenResponse("ok"));
  EXPECT_EQ(Get({"s"}).status().code(), absl::StatusCode::kUnavailable);
  EXPECT_EQ(*Get({"s"}), "ok");
}

TEST_F(OAuth2TokenSourceTest, DuplicateAndUnsortedScopesShareOneKey) {
  transport_.Enqueue(TokenResponse("ab"));
  EXPECT_EQ(*Get({"b", "a", "b"}), "ab");
  EXPECT_EQ(*Get({"a", "b"}), "ab");
  EXPECT_EQ(*Get({"b", "a"}), "ab");
  ASSERT_EQ(transport_.num_calls(), 1);
  EXPECT_THAT(transport_.request(0).body, HasSubstr("&scope=a+b"));
}

// A transport that records callbacks and never completes on its own: it ignores cancellation
// and deadlines, like a request stuck in a real transport's I/O threads.
class StuckTransport : public Transport {
 public:
  void Send(HttpRequest /*request*/, const SendOptions& /*options*/,
            Callback done) override {
    absl::MutexLock lock(&mu_);
    pending_.push_back(std::move(done));
  }
  // Completes the oldest call; false if none.
  bool CompleteNext(absl::StatusOr<HttpResponse> result) {
    Callback done;
    {
      absl::MutexLock lock(&mu_);
      if (pending_.empty()) return false;
      done = std::move(pending_.front());
      pending_.erase(pending_.begin());
    }
    done(std::move(result));
    return true;
  }
  int num_pending() {
    absl::MutexLock lock(&mu_);
    return static_cast<int>(pending_.size());
  }

 private:
  absl::Mutex mu_;
  std::vector<Callback> pending_ ABSL_GUARDED_BY(mu_);
};

// The answer of a token request arrives after the token source is gone (process exit): nothing
// may touch the destroyed source (run under -fsanitize=address to see it), the waiter was
// answered once, at destruction, and its deadline timer is gone.
TEST_F(OAuth2TokenSourceTest, TokenRequestAnsweredAfterDestructionIsIgnored) {
  StuckTransport stuck;
  auto source = std::make_unique<OAuth2TokenSource>(
      OAuth2Options{}, credentials_.get(), &stuck, &clock_);
  int answers = 0;
  absl::StatusOr<std::string> waited = absl::UnknownError("not answered");
  source->GetToken({"s"}, clock_.Now() + absl::Seconds(10),
                   [&](absl::StatusOr<std::string> t) {
                     ++answers;
                     waited = std::move(t);
                   });
  ASSERT_EQ(stuck.num_pending(), 1);
  EXPECT_EQ(clock_.pending_timers(), 1);  // The waiter's deadline.
  source.reset();
  EXPECT_EQ(answers, 1);
  EXPECT_EQ(waited.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_EQ(clock_.pending_timers(), 0);
  ASSERT_TRUE(stuck.CompleteNext(TokenResponse("late")));
  clock_.Advance(absl::Seconds(30));
  EXPECT_EQ(answers, 1);
}

// Same with a background refresh in flight (nobody waits for it) and a failed answer.
TEST_F(OAuth2TokenSourceTest, RefreshAnsweredAfterDestructionIsIgnored) {
  StuckTransport stuck;
  auto source = std::make_unique<OAuth2TokenSource>(
      OAuth2Options{}, credentials_.get(), &stuck, &clock_);
  absl::StatusOr<std::string> first = absl::UnknownError("not answered");
  source->GetToken(
      {"s"}, absl::InfiniteFuture(),
      [&](absl::StatusOr<std::string> t) { first = std::move(t); });
  ASSERT_TRUE(stuck.CompleteNext(TokenResponse("old", 3600)));
  ASSERT_EQ(*first, "old");
  clock_.Advance(absl::Seconds(3550));  // In the refresh window.
  absl::StatusOr<std::string> served = absl::UnknownError("not answered");
  source->GetToken(
      {"s"}, absl::InfiniteFuture(),
      [&](absl::StatusOr<std::string> t) { served = std::move(t); });
  EXPECT_EQ(*served, "old");
  ASSERT_EQ(stuck.num_pending(), 1);  // The refresh.
  source.reset();
  ASSERT_TRUE(stuck.CompleteNext(MakeHttpResponse(503, "")));
}

// Shutdown(): waiters get UNAVAILABLE at once, the request in flight is cancelled (the transport
// sees the cancellation), no refresh starts again, cached tokens are still served.
TEST_F(OAuth2TokenSourceTest,
       ShutdownAnswersWaitersCancelsRequestsStopsRefresh) {
  transport_.Enqueue(TokenResponse("cached", 3600));
  EXPECT_EQ(*Get({"cached"}), "cached");
  transport_.set_hold(true);
  int answers = 0;
  absl::StatusOr<std::string> waited = absl::UnknownError("not answered");
  source_->GetToken({"s"}, clock_.Now() + absl::Seconds(10),
                    [&](absl::StatusOr<std::string> t) {
                      ++answers;
                      waited = std::move(t);
                    });
  ASSERT_EQ(transport_.num_pending(), 1);
  ASSERT_NE(transport_.options().back().cancellation, nullptr);

  source_->Shutdown();
  EXPECT_EQ(answers, 1);
  EXPECT_EQ(waited.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_EQ(transport_.num_pending(), 0);  // Cancelled.
  EXPECT_EQ(clock_.pending_timers(), 0);   // Deadline timers cancelled.
  source_->Shutdown();                     // Idempotent.
  EXPECT_EQ(answers, 1);

  const int requests = transport_.num_calls();
  clock_.Advance(absl::Seconds(3550));  // In the refresh window of "cached".
  EXPECT_EQ(*Get({"cached"}), "cached");
  EXPECT_EQ(Get({"other"}).status().code(), absl::StatusCode::kUnavailable);
  EXPECT_EQ(transport_.num_calls(), requests);
  clock_.Advance(absl::Seconds(60));  // Expired.
  EXPECT_EQ(Get({"cached"}).status().code(), absl::StatusCode::kUnavailable);
  EXPECT_EQ(transport_.num_calls(), requests);
}

// The hot path answers from the cache without reading the credentials: a secret that vanished
// from the environment is noticed at the next recheck, not on every call.
TEST(OAuth2TokenSourceCredentialsTest, CachedTokenDoesNotReadCredentials) {
  constexpr char kVar[] = "FGW_TEST_OAUTH2_HOT_PATH_SECRET";
  ::setenv(kVar, "env-secret", 1);
  FakeClock clock;
  FakeTransport transport(&clock);
  CredentialsOptions creds;
  creds.client_id = "env-client";
  creds.client_secret_env = kVar;
  CredentialsSource credentials(creds, &clock);
  OAuth2Options options;
  options.credentials_recheck = absl::Seconds(5);
  OAuth2TokenSource source(options, &credentials, &transport, &clock);
  auto get = [&] {
    absl::StatusOr<std::string> out = absl::UnknownError("not answered");
    source.GetToken({"s"}, absl::InfiniteFuture(),
                    [&](absl::StatusOr<std::string> t) { out = std::move(t); });
    return out;
  };
  transport.Enqueue(TokenResponse("tok"));
  EXPECT_EQ(*get(), "tok");
  EXPECT_EQ(source.Identity(), "env-client#1");

  ::unsetenv(kVar);
  clock.Advance(absl::Seconds(4));
  auto cached = get();  // Credentials not consulted.
  ASSERT_TRUE(cached.ok()) << cached.status();
  EXPECT_EQ(*cached, "tok");

  clock.Advance(
      absl::Seconds(1));  // Recheck due: now they are read, and missing.
  EXPECT_EQ(get().status().code(), absl::StatusCode::kUnauthenticated);
  ::setenv(kVar, "env-secret", 1);
  EXPECT_EQ(*get(), "tok");  // Same generation: the token is kept.
  EXPECT_EQ(transport.num_calls(), 1);
  ::unsetenv(kVar);
}

TEST(ResolveTokenEndpointTest, ResolvesLikeTheSdk) {
  auto d = ResolveTokenEndpoint("https://org.eu.formance.cloud", "");
  ASSERT_TRUE(d.ok());
  EXPECT_EQ(d->origin, "https://org.eu.formance.cloud");
  EXPECT_EQ(d->path, "/api/auth/oauth/token");
  auto p = ResolveTokenEndpoint("http://localhost:8080/", "/custom/token");
  EXPECT_EQ(p->origin, "http://localhost:8080");
  EXPECT_EQ(p->path, "/custom/token");
  auto a = ResolveTokenEndpoint("http://localhost",
                                "https://auth.example:8443/oauth/token");
  EXPECT_EQ(a->origin, "https://auth.example:8443");
  EXPECT_EQ(a->path, "/oauth/token");
  EXPECT_FALSE(ResolveTokenEndpoint("not a url", "").ok());
}

}  // namespace
}  // namespace fgw
