#include "server/engine/gateway_engine.h"

#include <cstdlib>
#include <memory>
#include <optional>
#include <string>
#include <utility>

#include "gtest/gtest.h"
#include "server/grpc/call_handler.h"
#include "tests/support/fake_clock.h"
#include "tests/support/fake_transport.h"

namespace fgw {
namespace {

constexpr char kSecretVar[] = "FGW_TEST_ENGINE_CLIENT_SECRET";
constexpr char kListLedgers[] = "/formance.ledger.v2.LedgerService/ListLedgers";

// An engine in client-credentials mode on fakes; the token endpoint holds every request.
class GatewayEngineTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ::setenv(kSecretVar, "engine-secret", 1);
    token_transport_.set_hold(true);
    auto upstream = std::make_unique<FakeTransport>(&clock_);
    upstream_ = upstream.get();
    GatewayConfig config;
    config.upstream.url = "https://formance.example";
    config.auth.mode = AuthMode::kClientCredentials;
    config.auth.client_id = "engine-client";
    config.auth.client_secret_env = kSecretVar;
    GatewayEngine::Overrides overrides;
    overrides.transport = std::move(upstream);
    overrides.token_transport = &token_transport_;
    overrides.clock = &clock_;
    auto engine = GatewayEngine::Create(config, std::move(overrides));
    ASSERT_TRUE(engine.ok()) << engine.status();
    engine_ = *std::move(engine);
  }
  void TearDown() override { ::unsetenv(kSecretVar); }

  // Starts ListLedgers (scope ledger:read): it waits for the held token request.
  void StartCall() {
    IncomingCall call;
    call.method = kListLedgers;
    engine_->handler()->HandleUnary(call, "", [this](CallResult r) {
      ++answers_;
      if (r.build) {  // What the gRPC layer does before sending (call_handler.h).
        auto build = std::move(r.build);
        build(r);
      }
      result_ = std::move(r);
    });
  }

  FakeClock clock_;
  FakeTransport token_transport_{&clock_};  // Outlives the engine.
  FakeTransport* upstream_ = nullptr;       // Owned by the engine.
  std::unique_ptr<GatewayEngine> engine_;
  int answers_ = 0;
  std::optional<CallResult> result_;
};

TEST_F(GatewayEngineTest, ReadyOnceATokenWasObtained) {
  absl::Status first = engine_->Ready();
  EXPECT_EQ(first.code(), absl::StatusCode::kUnavailable);
  EXPECT_EQ(first.message(), "no access token obtained yet");
  ASSERT_EQ(token_transport_.num_pending(), 1);  // Readiness asked for one.
  EXPECT_FALSE(engine_->Ready().ok());
  EXPECT_EQ(token_transport_.num_pending(), 1);  // Not a second one meanwhile.
  HttpResponse token;
  token.status = 200;
  token.body =
      R"({"access_token":"tok","token_type":"Bearer","expires_in":3600})";
  ASSERT_TRUE(token_transport_.ReleaseNext(token));
  EXPECT_TRUE(engine_->Ready().ok());
}

TEST_F(GatewayEngineTest, NotReadySaysWhyTheTokenFailed) {
  EXPECT_FALSE(engine_->Ready().ok());
  HttpResponse refused;
  refused.status = 401;
  refused.body = R"({"error":"invalid_client"})";
  ASSERT_TRUE(token_transport_.ReleaseNext(refused));
  absl::Status why = engine_->Ready();
  EXPECT_EQ(why.code(), absl::StatusCode::kUnavailable);
  EXPECT_NE(why.message().find("invalid_client"), absl::string_view::npos)
      << why;
  EXPECT_EQ(why.message().find("engine-secret"), absl::string_view::npos);
}

TEST_F(GatewayEngineTest, MetricsAreExposedWithScrapeValues) {
  const std::string text = engine_->metrics()->Scrape();
  EXPECT_NE(text.find("fgw_calls_in_flight 0"), std::string::npos) << text;
  EXPECT_NE(text.find("fgw_token_requests_total 0"), std::string::npos);
  EXPECT_NE(text.find("fgw_token_request_failures_total 0"), std::string::npos);
}

TEST_F(GatewayEngineTest, ReloadCannotTurnOnACacheThatWasOff) {
  GatewayConfig next;
  next.cache.rules.push_back({"formance.ledger.v2.*", absl::Seconds(1)});
  absl::Status s = engine_->ApplyReload(next);
  EXPECT_EQ(s.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_TRUE(engine_->ApplyReload(GatewayConfig()).ok());
}

TEST_F(GatewayEngineTest, ShutdownStopsTokenRequestsAndAnswersWaitingCalls) {
  StartCall();
  ASSERT_EQ(token_transport_.num_pending(), 1);
  EXPECT_EQ(answers_, 0);

  engine_->Shutdown();
  EXPECT_EQ(token_transport_.num_pending(),
            0);  // The token request was cancelled.
  ASSERT_EQ(answers_, 1);
  EXPECT_EQ(result_->status.code(), absl::StatusCode::kUnavailable)
      << result_->status;
  EXPECT_EQ(upstream_->num_calls(), 0);

  // After shutdown no token request starts again.
  StartCall();
  EXPECT_EQ(answers_, 2);
  EXPECT_EQ(result_->status.code(), absl::StatusCode::kUnavailable);
  EXPECT_EQ(token_transport_.num_calls(), 1);

  engine_->Shutdown();  // Idempotent; the destructor runs it again.
  engine_.reset();
  EXPECT_EQ(answers_, 2);
}

// Process exit without Shutdown(): the destructor stops the token request before the
// transports and the pipeline go away, and the waiting call is answered once.
TEST_F(GatewayEngineTest, DestroyedWithATokenRequestInFlight) {
  StartCall();
  ASSERT_EQ(token_transport_.num_pending(), 1);
  engine_.reset();
  EXPECT_EQ(token_transport_.num_pending(), 0);
  ASSERT_EQ(answers_, 1);
  EXPECT_EQ(result_->status.code(), absl::StatusCode::kUnavailable);
  clock_.Advance(absl::Minutes(5));
  EXPECT_EQ(answers_, 1);
}

}  // namespace
}  // namespace fgw
