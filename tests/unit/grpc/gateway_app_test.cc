// GatewayApp: serves a backend, stops on SIGTERM (thread-directed, so the test process is
// safe) or Stop(), drains an in-flight call, stops the backend once; the drain delay on a
// FakeClock (NOT_SERVING at once, calls still served, then UNAVAILABLE); the admin listeners
// (readiness on /readyz and the "readiness" health service); Reload() from SIGHUP, hooks, an
// invalid config kept out, and a config file change seen on the FakeClock.
#include "server/app/gateway_app.h"

#include <signal.h>

#include <atomic>
#include <fstream>
#include <thread>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "server/grpc/health_service.h"
#include "tests/support/fake_clock.h"
#include "tests/support/http_get.h"
#include "tests/unit/grpc/grpc_test_util.h"

namespace fgw {
namespace {

using ::fgw::testing::FakeHandler;
using ::fgw::testing::RawCall;

constexpr char kMethod[] = "/formance.ledger.v2.LedgerService/GetInfo";

GatewayConfig TestConfig() {
  GatewayConfig config;
  config.listen = "127.0.0.1:0";
  config.shutdown_grace = absl::Seconds(30);
  config.drain_delay = absl::ZeroDuration();
  return config;
}

const std::string kServingBytes("\x08\x01", 2);
const std::string kNotServingBytes("\x08\x02", 2);

std::string HealthRequest(const std::string& service) {
  if (service.empty()) return "";
  return std::string("\x0a") + static_cast<char>(service.size()) + service;
}

// The health of `service` at `address`, as wire bytes (or the error code's name).
std::string HealthOf(const std::string& address, const std::string& service) {
  grpc::GenericStub stub(testing::Connect(address));
  testing::RawResult r =
      RawCall(stub, kHealthCheckMethod, HealthRequest(service), [](auto* ctx) {
        ctx->set_deadline(std::chrono::system_clock::now() +
                          std::chrono::seconds(5));
      });
  if (!r.status.ok()) return absl::StrCat("error ", r.status.error_code());
  return r.response;
}

// Waits (bounded) until `done` holds.
bool Eventually(const std::function<bool()>& done) {
  for (int i = 0; i < 500; ++i) {
    if (done()) return true;
    absl::SleepFor(absl::Milliseconds(10));
  }
  return done();
}

TEST(GatewayAppTest, SigtermDrainsInFlightCallThenStopsBackend) {
  absl::Notification started;
  std::function<void(CallResult)> saved;
  FakeHandler handler([&](const IncomingCall&, std::string,
                          std::function<void(CallResult)> done) {
    saved = std::move(done);
    started.Notify();
  });
  std::atomic<int> backend_stops{0};
  AppBackend backend;
  backend.handler = &handler;
  backend.service_names = {"formance.ledger.v2.LedgerService"};
  backend.shutdown = [&] { ++backend_stops; };
  auto app = GatewayApp::Start(TestConfig(), std::move(backend));
  ASSERT_TRUE(app.ok()) << app.status();
  EXPECT_GT((*app)->port(), 0);

  int exit_code = -1;
  std::thread runner([&] { exit_code = (*app)->RunUntilSignal(); });
  grpc::GenericStub stub(testing::Connect((*app)->address()));
  testing::RawResult result;
  std::thread client([&] { result = RawCall(stub, kMethod, "x"); });
  started.WaitForNotification();
  pthread_kill(runner.native_handle(), SIGTERM);
  absl::SleepFor(
      absl::Milliseconds(100));  // The shutdown is now waiting on the call.
  EXPECT_EQ(backend_stops, 0);
  CallResult answer;
  answer.response = "drained";
  saved(std::move(answer));
  runner.join();
  client.join();
  EXPECT_EQ(exit_code, 0);
  ASSERT_TRUE(result.status.ok()) << result.status.error_message();
  EXPECT_EQ(result.response, "drained");
  EXPECT_EQ(backend_stops, 1);
  (*app)->Stop();  // Idempotent.
  EXPECT_EQ(backend_stops, 1);
}

TEST(GatewayAppTest, StopFromAnotherThreadWakesRunUntilSignal) {
  FakeHandler handler(
      [](const IncomingCall&, std::string,
         std::function<void(CallResult)> done) { done(CallResult{}); });
  AppBackend backend;
  backend.handler = &handler;
  auto app = GatewayApp::Start(TestConfig(), std::move(backend));
  ASSERT_TRUE(app.ok()) << app.status();
  std::thread runner([&] { EXPECT_EQ((*app)->RunUntilSignal(), 0); });
  (*app)->Stop();
  runner.join();
}

FakeHandler* EchoHandler() {
  static FakeHandler* handler =
      new FakeHandler([](const IncomingCall&, std::string request,
                         std::function<void(CallResult)> done) {
        CallResult r;
        r.response = request;
        done(std::move(r));
      });
  return handler;
}

TEST(GatewayAppTest, SigtermTurnsHealthNotServingAtOnceServesForTheDrainDelay) {
  BlockTerminationSignals();  // Threads started from here inherit the mask.
  FakeClock clock;
  GatewayConfig config = TestConfig();
  config.drain_delay = absl::Seconds(5);
  config.admin.listen = "127.0.0.2:0";
  config.admin.grpc_listen = "127.0.0.2:0";
  AppBackend backend;
  backend.handler = EchoHandler();
  backend.service_names = {"formance.ledger.v2.LedgerService"};
  AppOptions options;
  options.clock = &clock;
  auto app = GatewayApp::Start(config, std::move(backend), options);
  ASSERT_TRUE(app.ok()) << app.status();
  GatewayApp& a = **app;
  const std::string admin_grpc = a.admin_grpc_address();
  ASSERT_GT(a.admin_http_port(), 0);
  EXPECT_EQ(HealthOf(a.address(), ""), kServingBytes);
  EXPECT_EQ(HealthOf(admin_grpc, ""), kServingBytes);
  EXPECT_EQ(HealthOf(admin_grpc, kReadinessService), kServingBytes);
  EXPECT_EQ(testing_http::Body(
                testing_http::Get("127.0.0.2", a.admin_http_port(), "/readyz")),
            "ready\n");

  std::thread runner([&] { EXPECT_EQ(a.RunUntilSignal(), 0); });
  pthread_kill(runner.native_handle(), SIGTERM);  // Pending until its sigwait.
  ASSERT_TRUE(Eventually([&] { return a.draining(); }));
  EXPECT_EQ(HealthOf(a.address(), ""), kNotServingBytes);
  EXPECT_EQ(HealthOf(admin_grpc, ""), kNotServingBytes);
  EXPECT_EQ(HealthOf(admin_grpc, kReadinessService), kNotServingBytes);
  std::string readyz =
      testing_http::Get("127.0.0.2", a.admin_http_port(), "/readyz");
  EXPECT_THAT(readyz, ::testing::StartsWith("HTTP/1.1 503"));
  EXPECT_EQ(testing_http::Body(readyz), "not ready: draining\n");
  // Liveness holds during the drain.
  EXPECT_THAT(testing_http::Get("127.0.0.2", a.admin_http_port(), "/healthz"),
              ::testing::StartsWith("HTTP/1.1 200"));
  // Still serving calls during the delay (the FakeClock has not moved).
  grpc::GenericStub stub(testing::Connect(a.address()));
  testing::RawResult during = RawCall(stub, kMethod, "during");
  ASSERT_TRUE(during.status.ok()) << during.status.error_message();
  EXPECT_EQ(during.response, "during");

  clock.Advance(absl::Seconds(5));  // The delay is over: shutdown.
  runner.join();
  grpc::GenericStub after_stub(testing::Connect(a.address()));
  testing::RawResult after =
      RawCall(after_stub, kMethod, "after", [](auto* ctx) {
        ctx->set_deadline(std::chrono::system_clock::now() +
                          std::chrono::seconds(2));
      });
  EXPECT_EQ(after.status.error_code(), grpc::StatusCode::UNAVAILABLE);
  EXPECT_EQ(testing_http::Get("127.0.0.2", a.admin_http_port(), "/healthz"),
            "<refused>");
}

TEST(GatewayAppTest, SigintSkipsTheDrainDelay) {
  BlockTerminationSignals();
  FakeClock clock;  // Never advanced: a delay would hang the test.
  GatewayConfig config = TestConfig();
  config.drain_delay = absl::Minutes(5);
  AppBackend backend;
  backend.handler = EchoHandler();
  AppOptions options;
  options.clock = &clock;
  auto app = GatewayApp::Start(config, std::move(backend), options);
  ASSERT_TRUE(app.ok()) << app.status();
  std::thread runner([&] { EXPECT_EQ((*app)->RunUntilSignal(), 0); });
  pthread_kill(runner.native_handle(), SIGINT);
  runner.join();
}

TEST(GatewayAppTest, StopEndsTheDrainDelayEarly) {
  BlockTerminationSignals();
  FakeClock clock;
  GatewayConfig config = TestConfig();
  config.drain_delay = absl::Minutes(5);
  AppBackend backend;
  backend.handler = EchoHandler();
  AppOptions options;
  options.clock = &clock;
  auto app = GatewayApp::Start(config, std::move(backend), options);
  ASSERT_TRUE(app.ok()) << app.status();
  std::thread runner([&] { EXPECT_EQ((*app)->RunUntilSignal(), 0); });
  pthread_kill(runner.native_handle(), SIGTERM);
  ASSERT_TRUE(Eventually([&] { return (*app)->draining(); }));
  (*app)->Stop();
  runner.join();
}

TEST(GatewayAppTest, ReadinessFollowsTheBackendOnBothAdminListeners) {
  FakeClock clock;
  GatewayConfig config = TestConfig();
  config.admin.listen = "127.0.0.2:0";
  config.admin.grpc_listen = "127.0.0.2:0";
  std::atomic<bool> ready{false};
  AppBackend backend;
  backend.handler = EchoHandler();
  backend.ready = [&ready]() -> absl::Status {
    if (ready) return absl::OkStatus();
    return absl::UnavailableError("no access token obtained yet");
  };
  backend.metrics = [] { return std::string("up 1\n"); };
  AppOptions options;
  options.clock = &clock;
  auto app = GatewayApp::Start(config, std::move(backend), options);
  ASSERT_TRUE(app.ok()) << app.status();
  GatewayApp& a = **app;
  EXPECT_EQ(HealthOf(a.admin_grpc_address(), ""), kServingBytes);  // Live.
  EXPECT_EQ(HealthOf(a.admin_grpc_address(), kReadinessService),
            kNotServingBytes);
  EXPECT_EQ(testing_http::Body(
                testing_http::Get("127.0.0.2", a.admin_http_port(), "/readyz")),
            "not ready: no access token obtained yet\n");
  ready = true;
  EXPECT_EQ(testing_http::Body(
                testing_http::Get("127.0.0.2", a.admin_http_port(), "/readyz")),
            "ready\n");
  clock.Advance(absl::Seconds(1));  // The readiness refresh.
  EXPECT_EQ(HealthOf(a.admin_grpc_address(), kReadinessService), kServingBytes);
  EXPECT_EQ(testing_http::Body(testing_http::Get(
                "127.0.0.2", a.admin_http_port(), "/metrics")),
            "up 1\n");
  a.Stop();
}

TEST(GatewayAppTest, AnAdminAddressInUseFailsTheStart) {
  GatewayConfig config = TestConfig();
  config.admin.listen = "127.0.0.2:0";
  AppBackend backend;
  backend.handler = EchoHandler();
  auto first = GatewayApp::Start(config, backend);
  ASSERT_TRUE(first.ok()) << first.status();
  config.admin.listen = absl::StrCat("127.0.0.2:", (*first)->admin_http_port());
  auto second = GatewayApp::Start(config, backend);
  ASSERT_FALSE(second.ok());
  EXPECT_THAT(std::string(second.status().message()),
              ::testing::HasSubstr("admin.listen"));
}

TEST(GatewayAppTest, ReloadAppliesHooksAndKeepsTheRunningConfigWhenInvalid) {
  GatewayConfig next = TestConfig();
  absl::Status load_error;
  std::vector<std::string> seen;
  AppBackend backend;
  backend.handler = EchoHandler();
  backend.reload = [&seen](const GatewayConfig& c) {
    seen.push_back("backend " + c.log_level);
    return absl::OkStatus();
  };
  AppOptions options;
  options.load_config = [&]() -> absl::StatusOr<GatewayConfig> {
    if (!load_error.ok()) return load_error;
    return next;
  };
  auto app = GatewayApp::Start(TestConfig(), std::move(backend), options);
  ASSERT_TRUE(app.ok()) << app.status();
  (*app)->AddReloadHook("policy", [&seen](const GatewayConfig& c) {
    seen.push_back("policy " + c.log_level);
    return absl::OkStatus();
  });
  next.log_level = "debug";
  EXPECT_TRUE((*app)->Reload().ok());
  EXPECT_EQ(seen, (std::vector<std::string>{"backend debug", "policy debug"}));
  EXPECT_EQ((*app)->reloads_applied(), 1);

  load_error = absl::InvalidArgumentError("gw.yaml: retry.max_attempts: ...");
  absl::Status bad = (*app)->Reload();
  EXPECT_EQ(bad.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(seen.size(), 2u);  // No hook ran.
  EXPECT_EQ((*app)->reloads_applied(), 1);

  load_error = absl::OkStatus();
  (*app)->AddReloadHook("failing", [](const GatewayConfig&) {
    return absl::InvalidArgumentError("policy.rules[0]: unknown caller");
  });
  absl::Status partial = (*app)->Reload();
  EXPECT_EQ(partial.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(std::string(partial.message()),
              ::testing::HasSubstr("failing: policy.rules[0]"));
  (*app)->Stop();
}

TEST(GatewayAppTest, SighupReloads) {
  BlockTerminationSignals();
  std::atomic<int> loads{0};
  AppBackend backend;
  backend.handler = EchoHandler();
  AppOptions options;
  options.load_config = [&]() -> absl::StatusOr<GatewayConfig> {
    ++loads;
    return TestConfig();
  };
  auto app = GatewayApp::Start(TestConfig(), std::move(backend), options);
  ASSERT_TRUE(app.ok()) << app.status();
  std::thread runner([&] { EXPECT_EQ((*app)->RunUntilSignal(), 0); });
  pthread_kill(runner.native_handle(), SIGHUP);
  ASSERT_TRUE(Eventually([&] { return (*app)->reloads_applied() == 1; }));
  EXPECT_EQ(loads.load(), 1);
  (*app)->Stop();
  runner.join();
}

TEST(GatewayAppTest, AChangedConfigFileIsReloadedOnTheClock) {
  FakeClock clock;
  const std::string path = absl::StrCat(
      ::testing::TempDir(), "/gateway_app_test_", getpid(), ".yaml");
  { std::ofstream(path) << "log:\n  level: info\n"; }
  AppBackend backend;
  backend.handler = EchoHandler();
  AppOptions options;
  options.clock = &clock;
  options.config_path = path;
  options.watch_interval = absl::Seconds(2);
  options.load_config = [] {
    return absl::StatusOr<GatewayConfig>(TestConfig());
  };
  auto app = GatewayApp::Start(TestConfig(), std::move(backend), options);
  ASSERT_TRUE(app.ok()) << app.status();
  clock.Advance(absl::Seconds(2));
  EXPECT_EQ((*app)->reloads_applied(), 0);  // Unchanged.
  { std::ofstream(path) << "log:\n  level: debug\n# longer now\n"; }
  clock.Advance(absl::Seconds(2));
  EXPECT_EQ((*app)->reloads_applied(), 1);
  clock.Advance(absl::Seconds(2));
  EXPECT_EQ((*app)->reloads_applied(), 1);
  (*app)->Stop();
  std::remove(path.c_str());
}

TEST(GatewayAppTest, BadListenAddressFailsToStart) {
  GatewayConfig config = TestConfig();
  config.listen = "nowhere";
  auto app = GatewayApp::Start(config, AppBackend{});
  ASSERT_FALSE(app.ok());
  EXPECT_EQ(app.status().code(), absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace fgw
