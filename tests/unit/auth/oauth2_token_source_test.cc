#include "server/auth/oauth2_token_source.h"

#include <atomic>
#include <cstdlib>
#include <optional>
#include <string>
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
using ::testing::StartsWith;

constexpr char kSecret[] = "p@ss w0rd&=/+secret";

HttpResponse TokenResponse(const std::string& token, int expires_in = 3600) {
  std::string body =
      absl::StrCat(R"({"access_token":")", token, R"(","token_type":"Bearer")");
  if (expires_in >= 0) absl::StrAppend(&body, R"(,"expires_in":)", expires_in);
  absl::StrAppend(&body, "}");
  return MakeHttpResponse(200, body, {{"Content-Type", "application/json"}});
}

// A 200 answer with `expires_in` as raw JSON (a number, a string, ...).
HttpResponse TokenResponseExpiringIn(const std::string& token,
                                     const std::string& expires_in_json) {
  return MakeHttpResponse(
      200,
      absl::StrCat(R"({"access_token":")", token,
                   R"(","token_type":"Bearer","expires_in":)", expires_in_json,
                   "}"),
      {{"Content-Type", "application/json"}});
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

  // Replaces the token source with one on `options`.
  void UseOptions(const OAuth2Options& options) {
    source_ = std::make_unique<OAuth2TokenSource>(options, credentials_.get(),
                                                  &transport_, &clock_);
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

// Was FailureIsNotCachedNextCallRetries: the next call retried at once. A failure is now
// remembered for the failure backoff (1 s), so the retry comes after it.
TEST_F(OAuth2TokenSourceTest, FailureIsNotCachedPastTheBackoff) {
  transport_.Enqueue(MakeHttpResponse(503, ""));
  transport_.Enqueue(TokenResponse("ok"));
  EXPECT_EQ(Get({"s"}).status().code(), absl::StatusCode::kUnavailable);
  clock_.Advance(absl::Seconds(1));
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

// ---- Failure backoff -------------------------------------------------------------------------

// Every kind of failed token request: one request, then every call within the backoff answered
// at once with the remembered error and no request; past the backoff exactly one new request.
TEST_F(OAuth2TokenSourceTest, FailedTokenRequestIsBackedOffNotRetriedPerCall) {
  struct Case {
    std::string name;
    FakeTransport::Result answer;
    absl::StatusCode code;
  };
  const std::string long_token(8193, 'L');
  std::vector<Case> cases = {
      {"garbage body", MakeHttpResponse(200, "<html>not json</html>"),
       absl::StatusCode::kUnavailable},
      {"json array", MakeHttpResponse(200, "[1,2]"),
       absl::StatusCode::kUnavailable},
      {"500", MakeHttpResponse(500, "boom"), absl::StatusCode::kUnavailable},
      {"302", MakeHttpResponse(302, ""), absl::StatusCode::kUnavailable},
      {"transport error", absl::UnavailableError("connection reset"),
       absl::StatusCode::kUnavailable},
      {"401 invalid_client",
       MakeHttpResponse(401, R"({"error":"invalid_client"})"),
       absl::StatusCode::kUnauthenticated},
      {"expires_in abc", TokenResponseExpiringIn("LEAK", R"("abc")"),
       absl::StatusCode::kUnavailable},
      {"expires_in nan", TokenResponseExpiringIn("LEAK", R"("nan")"),
       absl::StatusCode::kUnavailable},
      {"expires_in object", TokenResponseExpiringIn("LEAK", "{}"),
       absl::StatusCode::kUnavailable},
      {"token with CR/LF",
       MakeHttpResponse(
           200,
           R"({"access_token":"LEAK\r\nX-Smuggled: 1","token_type":"Bearer"})"),
       absl::StatusCode::kUnavailable},
      {"token with space", TokenResponse("LEAK en"),
       absl::StatusCode::kUnavailable},
      {"token with NUL",
       MakeHttpResponse(
           200, R"({"access_token":"LEAK\u0000","token_type":"Bearer"})"),
       absl::StatusCode::kUnavailable},
      {"token with non-ASCII", TokenResponse("LEAK\xc3\xa9"),
       absl::StatusCode::kUnavailable},
      {"token with comma", TokenResponse("a,b"),
       absl::StatusCode::kUnavailable},
      {"token with inner =", TokenResponse("a=b"),
       absl::StatusCode::kUnavailable},
      {"token of only =", TokenResponse("=="), absl::StatusCode::kUnavailable},
      {"empty token", TokenResponse(""), absl::StatusCode::kUnavailable},
      {"token over 8 KiB", TokenResponse(long_token),
       absl::StatusCode::kUnavailable},
      {"access_token not a string",
       MakeHttpResponse(200, R"({"access_token":42,"token_type":"Bearer"})"),
       absl::StatusCode::kUnavailable},
      {"token_type mac",
       MakeHttpResponse(200, R"({"access_token":"LEAK","token_type":"mac"})"),
       absl::StatusCode::kUnavailable},
  };
  for (size_t i = 0; i < cases.size(); ++i) {
    SCOPED_TRACE(cases[i].name);
    const std::vector<std::string> scopes = {absl::StrCat("scope", i)};
    const int before = transport_.num_calls();
    transport_.Enqueue(cases[i].answer);
    auto first = Get(scopes);
    ASSERT_FALSE(first.ok());
    EXPECT_EQ(first.status().code(), cases[i].code) << first.status();
    EXPECT_THAT(std::string(first.status().message()),
                StartsWith("no access token: token "));
    EXPECT_THAT(std::string(first.status().message()),
                HasSubstr("; the token endpoint is asked again in 1s "
                          "(1 failed request)"));
    EXPECT_EQ(transport_.num_calls(), before + 1);

    for (int call = 0; call < 20; ++call) {
      auto again = Get(scopes);
      EXPECT_EQ(again.status().code(), cases[i].code);
    }
    clock_.Advance(absl::Milliseconds(400));
    auto later = Get(scopes);
    EXPECT_EQ(later.status().code(), cases[i].code);
    EXPECT_THAT(std::string(later.status().message()),
                HasSubstr("asked again in 600ms"));
    clock_.Advance(absl::Milliseconds(599));
    EXPECT_EQ(Get(scopes).status().code(), cases[i].code);
    EXPECT_EQ(transport_.num_calls(), before + 1);  // 22 calls, 1 request.
    for (const std::string& text :
         {first.status().ToString(), later.status().ToString()}) {
      EXPECT_THAT(text, Not(HasSubstr(kSecret)));
      EXPECT_THAT(text, Not(HasSubstr("p%40ss")));
      EXPECT_THAT(text, Not(HasSubstr("LLLL")));
      EXPECT_THAT(text, Not(HasSubstr("LEAK")));  // No token, no body text.
      EXPECT_THAT(text, Not(HasSubstr("Smuggled")));
      EXPECT_THAT(text, Not(HasSubstr("boom")));
    }

    clock_.Advance(absl::Milliseconds(1));  // The backoff is over.
    transport_.Enqueue(TokenResponse(absl::StrCat("good", i)));
    EXPECT_EQ(*Get(scopes), absl::StrCat("good", i));
    EXPECT_EQ(*Get(scopes), absl::StrCat("good", i));
    EXPECT_EQ(transport_.num_calls(), before + 2);
  }
}

// What a valid b64token may hold, up to 8 KiB, and token_type in any case.
TEST_F(OAuth2TokenSourceTest, B64TokensAreAccepted) {
  const std::string jwt_like =
      "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJjIn0.AZaz09-._~+/sig==";
  const std::string longest(8192, 'Z');
  transport_.Enqueue(TokenResponse(jwt_like));
  transport_.Enqueue(TokenResponse(longest));
  transport_.Enqueue(
      MakeHttpResponse(200, R"({"access_token":"t","token_type":"bearer"})"));
  EXPECT_EQ(*Get({"a"}), jwt_like);
  EXPECT_EQ(*Get({"b"}), longest);
  EXPECT_EQ(*Get({"c"}), "t");
}

// A caller whose deadline ends before the backoff does is answered with the remembered error at
// once, not DEADLINE_EXCEEDED later; nothing waits, no timer is left.
TEST_F(OAuth2TokenSourceTest, ShortDeadlineDuringBackoffGetsTheErrorAtOnce) {
  transport_.Enqueue(MakeHttpResponse(503));
  EXPECT_EQ(Get({"s"}).status().code(), absl::StatusCode::kUnavailable);
  int answers = 0;
  absl::StatusOr<std::string> short_deadline = absl::UnknownError("");
  source_->GetToken({"s"}, clock_.Now() + absl::Milliseconds(100),
                    [&](absl::StatusOr<std::string> t) {
                      ++answers;
                      short_deadline = std::move(t);
                    });
  EXPECT_EQ(answers, 1);
  EXPECT_EQ(short_deadline.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_THAT(std::string(short_deadline.status().message()),
              HasSubstr("HTTP 503; the token endpoint is asked again in 1s"));
  // A caller with no deadline is answered at once as well.
  EXPECT_EQ(Get({"s"}).status().code(), absl::StatusCode::kUnavailable);
  EXPECT_EQ(clock_.pending_timers(), 0);
  clock_.Advance(absl::Seconds(1));
  EXPECT_EQ(answers, 1);
  EXPECT_EQ(transport_.num_calls(), 1);
}

// 1 s, 2 s, 4 s, ... up to 30 s between the requests of a failing scope set; a success resets the
// backoff to 1 s.
TEST_F(OAuth2TokenSourceTest, BackoffDoublesCapsAndSuccessResetsIt) {
  bool fail = true;
  transport_.SetHandler(
      [&](const HttpRequest&) -> std::optional<FakeTransport::Result> {
        if (fail) return MakeHttpResponse(500);
        return TokenResponse("ok");
      });
  EXPECT_THAT(std::string(Get({"s"}).status().message()),
              HasSubstr("asked again in 1s (1 failed request)"));
  ASSERT_EQ(transport_.num_calls(), 1);
  const std::vector<int> waits = {1, 2, 4, 8, 16, 30, 30, 30};
  for (size_t i = 0; i + 1 < waits.size(); ++i) {
    SCOPED_TRACE(i);
    clock_.Advance(absl::Seconds(waits[i]) - absl::Milliseconds(1));
    auto before = Get({"s"});
    EXPECT_THAT(std::string(before.status().message()),
                HasSubstr("asked again in 1ms"));
    EXPECT_EQ(transport_.num_calls(), static_cast<int>(i) + 1);
    clock_.Advance(absl::Milliseconds(1));
    auto after = Get({"s"});
    EXPECT_EQ(after.status().code(), absl::StatusCode::kUnavailable);
    EXPECT_THAT(std::string(after.status().message()),
                HasSubstr(absl::StrCat("asked again in ", waits[i + 1], "s (",
                                       i + 2, " failed requests in a row)")));
    EXPECT_EQ(transport_.num_calls(), static_cast<int>(i) + 2);
  }

  clock_.Advance(absl::Seconds(30));
  fail = false;
  EXPECT_EQ(*Get({"s"}), "ok");
  const int requests = transport_.num_calls();
  source_->Invalidate({"s"}, "ok");
  fail = true;
  EXPECT_THAT(std::string(Get({"s"}).status().message()),
              HasSubstr("asked again in 1s (1 failed request)"));
  EXPECT_EQ(transport_.num_calls(), requests + 1);
  clock_.Advance(absl::Seconds(1));
  EXPECT_THAT(std::string(Get({"s"}).status().message()),
              HasSubstr("asked again in 2s (2 failed requests in a row)"));
  EXPECT_EQ(transport_.num_calls(), requests + 2);
}

TEST_F(OAuth2TokenSourceTest, BackoffOptionsAreObeyed) {
  OAuth2Options options;
  options.failure_backoff = absl::Seconds(5);
  options.max_failure_backoff = absl::Seconds(12);
  UseOptions(options);
  transport_.SetHandler(
      [](const HttpRequest&) -> std::optional<FakeTransport::Result> {
        return MakeHttpResponse(503);
      });
  EXPECT_THAT(std::string(Get({"s"}).status().message()),
              HasSubstr("asked again in 5s"));
  clock_.Advance(absl::Seconds(5));
  EXPECT_THAT(std::string(Get({"s"}).status().message()),
              HasSubstr("asked again in 10s"));
  clock_.Advance(absl::Seconds(10));
  EXPECT_THAT(std::string(Get({"s"}).status().message()),
              HasSubstr("asked again in 12s"));
  clock_.Advance(absl::Seconds(12));
  EXPECT_THAT(std::string(Get({"s"}).status().message()),
              HasSubstr("asked again in 12s"));
  EXPECT_EQ(transport_.num_calls(), 4);
}

// The backoff is per scope set: another scope set is asked at once.
TEST_F(OAuth2TokenSourceTest, BackoffIsPerScopeSet) {
  transport_.Enqueue(MakeHttpResponse(503));
  transport_.Enqueue(TokenResponse("other"));
  EXPECT_EQ(Get({"a"}).status().code(), absl::StatusCode::kUnavailable);
  EXPECT_EQ(*Get({"b"}), "other");
  EXPECT_EQ(Get({"a"}).status().code(), absl::StatusCode::kUnavailable);
  EXPECT_EQ(transport_.num_calls(), 2);
}

// The first call after the backoff sends one request; the calls meanwhile join it.
TEST_F(OAuth2TokenSourceTest, CallsAfterTheBackoffShareOneRequest) {
  transport_.Enqueue(MakeHttpResponse(503));
  EXPECT_EQ(Get({"s"}).status().code(), absl::StatusCode::kUnavailable);
  clock_.Advance(absl::Seconds(1));
  transport_.set_hold(true);
  int ok = 0;
  for (int i = 0; i < 50; ++i) {
    source_->GetToken({"s"}, absl::InfiniteFuture(),
                      [&](absl::StatusOr<std::string> t) {
                        if (t.ok() && *t == "t") ++ok;
                      });
  }
  EXPECT_EQ(transport_.num_calls(), 2);
  ASSERT_TRUE(transport_.ReleaseNext(TokenResponse("t")));
  EXPECT_EQ(ok, 50);
}

// An invalid_client answer does not delay the first request with a rotated secret.
TEST_F(OAuth2TokenSourceTest, RotationForgetsTheBackoff) {
  OAuth2Options options;
  options.failure_backoff = absl::Seconds(60);
  UseOptions(options);
  transport_.Enqueue(MakeHttpResponse(401, R"({"error":"invalid_client"})"));
  transport_.Enqueue(TokenResponse("with-new-secret"));
  EXPECT_EQ(Get({"s"}).status().code(), absl::StatusCode::kUnauthenticated);
  clock_.Advance(absl::Seconds(2));
  EXPECT_EQ(Get({"s"}).status().code(), absl::StatusCode::kUnauthenticated);
  EXPECT_EQ(transport_.num_calls(), 1);
  dir_.Write("secret", "rotated-secret");
  clock_.Advance(absl::Seconds(2));
  EXPECT_EQ(*Get({"s"}), "with-new-secret");
  ASSERT_EQ(transport_.num_calls(), 2);
  EXPECT_THAT(transport_.request(1).body,
              HasSubstr("client_secret=rotated-secret"));
}

// A background refresh that fails keeps serving the cached token and is retried on the same
// doubling backoff, not on every call; once the token is no longer usable, callers get the
// remembered error at once.
TEST_F(OAuth2TokenSourceTest, FailedBackgroundRefreshIsBackedOff) {
  transport_.Enqueue(TokenResponse("old", 3600));
  EXPECT_EQ(*Get({"s"}), "old");
  bool fail = true;
  transport_.SetHandler(
      [&](const HttpRequest&) -> std::optional<FakeTransport::Result> {
        if (fail) return MakeHttpResponse(502);
        return TokenResponse("new", 3600);
      });
  clock_.Advance(absl::Seconds(3541));  // Refresh window; usable until 3595 s.
  for (int i = 0; i < 10; ++i) EXPECT_EQ(*Get({"s"}), "old");
  EXPECT_EQ(transport_.num_calls(), 2);  // One refresh, failed.
  clock_.Advance(absl::Milliseconds(999));
  EXPECT_EQ(*Get({"s"}), "old");
  EXPECT_EQ(transport_.num_calls(), 2);
  clock_.Advance(absl::Milliseconds(1));
  EXPECT_EQ(*Get({"s"}), "old");
  EXPECT_EQ(transport_.num_calls(), 3);  // Failed again: next in 2 s.
  clock_.Advance(absl::Seconds(1));
  EXPECT_EQ(*Get({"s"}), "old");
  EXPECT_EQ(transport_.num_calls(), 3);
  clock_.Advance(absl::Seconds(1));
  EXPECT_EQ(*Get({"s"}), "old");
  EXPECT_EQ(transport_.num_calls(), 4);  // Failed again: next in 4 s.

  clock_.Advance(
      absl::Seconds(51));  // 3595 s: the token is no longer handed out.
  auto expired = Get({"s"});
  EXPECT_EQ(expired.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_EQ(transport_.num_calls(), 5);  // The backoff (4 s) had passed.
  EXPECT_THAT(std::string(expired.status().message()),
              HasSubstr("HTTP 502; the token endpoint is asked again in 8s "
                        "(4 failed requests in a row)"));
  for (int i = 0; i < 10; ++i) {
    EXPECT_EQ(Get({"s"}).status().code(), absl::StatusCode::kUnavailable);
  }
  EXPECT_EQ(transport_.num_calls(), 5);
  fail = false;
  clock_.Advance(absl::Seconds(8));
  EXPECT_EQ(*Get({"s"}), "new");
  EXPECT_EQ(transport_.num_calls(), 6);
}

// ---- Lifetime floor --------------------------------------------------------------------------

// expires_in 0, negative or tiny: the token is used as if it lived min_token_lifetime (10 s):
// refreshed in the background from 5 s (half of it), handed out until 7.5 s; never a request
// per call.
TEST_F(OAuth2TokenSourceTest, ShortLifetimeIsRaisedToTheFloor) {
  for (const std::string expires_in : {"0", "-5", "0.001", R"("0")", "-1e9"}) {
    SCOPED_TRACE(expires_in);
    transport_.SetHandler(nullptr);
    const std::vector<std::string> scopes = {"scope " + expires_in};
    const int before = transport_.num_calls();
    transport_.Enqueue(TokenResponseExpiringIn("first", expires_in));
    EXPECT_EQ(*Get(scopes), "first");
    for (int i = 0; i < 49; ++i) {  // 0 .. 4.9 s.
      clock_.Advance(absl::Milliseconds(100));
      EXPECT_EQ(*Get(scopes), "first");
    }
    EXPECT_EQ(transport_.num_calls(), before + 1);

    clock_.Advance(absl::Milliseconds(100));  // 5 s: the refresh window.
    transport_.set_hold(true);
    // 5 .. 7.4 s: served at once while one refresh runs.
    for (int i = 0; i < 24; ++i) {
      EXPECT_EQ(*Get(scopes), "first");
      clock_.Advance(absl::Milliseconds(100));
    }
    EXPECT_EQ(transport_.num_calls(), before + 2);
    clock_.Advance(absl::Milliseconds(100));  // 7.5 s: no longer handed out.
    absl::StatusOr<std::string> waited = absl::UnknownError("not answered");
    source_->GetToken(
        scopes, absl::InfiniteFuture(),
        [&](absl::StatusOr<std::string> t) { waited = std::move(t); });
    EXPECT_EQ(waited.status().code(), absl::StatusCode::kUnknown);  // Waits.
    ASSERT_TRUE(
        transport_.ReleaseNext(TokenResponseExpiringIn("second", expires_in)));
    EXPECT_EQ(*waited, "second");  // Answered by the refresh.
    transport_.set_hold(false);
    EXPECT_EQ(*Get(scopes), "second");
    clock_.Advance(absl::Seconds(4));
    EXPECT_EQ(*Get(scopes), "second");
    EXPECT_EQ(transport_.num_calls(), before + 2);
    clock_.Advance(absl::Seconds(60));
  }
}

TEST_F(OAuth2TokenSourceTest, MinTokenLifetimeOptionIsObeyed) {
  OAuth2Options options;
  options.min_token_lifetime = absl::Minutes(5);
  UseOptions(options);
  transport_.Enqueue(TokenResponse("t", 0));
  EXPECT_EQ(*Get({"s"}), "t");
  clock_.Advance(absl::Seconds(239));  // Refresh from 300 - 60 s.
  EXPECT_EQ(*Get({"s"}), "t");
  EXPECT_EQ(transport_.num_calls(), 1);
  transport_.Enqueue(TokenResponse("t2", 0));
  clock_.Advance(absl::Seconds(1));
  EXPECT_EQ(*Get({"s"}),
            "t");  // Served while the refresh runs (answered inline).
  EXPECT_EQ(transport_.num_calls(), 2);
  EXPECT_EQ(*Get({"s"}), "t2");
}

// A lifetime longer than the floor is kept as declared.
TEST_F(OAuth2TokenSourceTest, LifetimeAboveTheFloorIsKept) {
  // Refresh from 6 s, usable until 9 s.
  transport_.Enqueue(TokenResponse("t", 12));
  EXPECT_EQ(*Get({"s"}), "t");
  clock_.Advance(absl::Milliseconds(5999));
  EXPECT_EQ(*Get({"s"}), "t");
  EXPECT_EQ(transport_.num_calls(), 1);
  clock_.Advance(absl::Milliseconds(1));
  transport_.set_hold(true);
  EXPECT_EQ(*Get({"s"}), "t");
  EXPECT_EQ(transport_.num_calls(), 2);
  clock_.Advance(absl::Seconds(3));
  absl::StatusOr<std::string> waited = absl::UnknownError("not answered");
  source_->GetToken(
      {"s"}, absl::InfiniteFuture(),
      [&](absl::StatusOr<std::string> t) { waited = std::move(t); });
  EXPECT_EQ(waited.status().code(), absl::StatusCode::kUnknown);  // Waits.
  EXPECT_EQ(transport_.num_calls(), 2);
  ASSERT_TRUE(transport_.ReleaseNext(TokenResponse("t2", 12)));
  EXPECT_EQ(*waited, "t2");
}

// Options below the hard floors (lifetime 0, backoff 0, negative refresh_ahead) still never
// make every call a token request, and a token is never handed out past its (floored) expiry.
TEST_F(OAuth2TokenSourceTest, DegenerateOptionsNeverFetchPerCall) {
  OAuth2Options options;
  options.min_token_lifetime = absl::ZeroDuration();
  options.failure_backoff = absl::ZeroDuration();
  options.max_failure_backoff = absl::ZeroDuration();
  options.refresh_ahead = absl::Seconds(-10);
  UseOptions(options);
  transport_.Enqueue(TokenResponse("t", 0));  // Used for 1 s, no refresh ahead.
  for (int i = 0; i < 10; ++i) EXPECT_EQ(*Get({"s"}), "t");
  clock_.Advance(absl::Milliseconds(999));
  EXPECT_EQ(*Get({"s"}), "t");
  EXPECT_EQ(transport_.num_calls(), 1);
  clock_.Advance(absl::Milliseconds(1));
  transport_.Enqueue(MakeHttpResponse(500));
  EXPECT_EQ(Get({"s"}).status().code(), absl::StatusCode::kUnavailable);
  for (int i = 0; i < 10; ++i) {
    EXPECT_EQ(Get({"s"}).status().code(), absl::StatusCode::kUnavailable);
  }
  EXPECT_EQ(transport_.num_calls(), 2);  // Backed off for 10 ms.
  clock_.Advance(absl::Milliseconds(10));
  transport_.Enqueue(TokenResponse("t2", 0));
  EXPECT_EQ(*Get({"s"}), "t2");
  EXPECT_EQ(transport_.num_calls(), 3);
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
