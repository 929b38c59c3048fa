// GatewayApp: serves a backend, stops on SIGTERM (thread-directed, so the test process is
// safe) or Stop(), drains an in-flight call, stops the backend once.
#include "server/app/gateway_app.h"

#include <signal.h>

#include <atomic>
#include <thread>

#include "gtest/gtest.h"
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
  return config;
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

TEST(GatewayAppTest, BadListenAddressFailsToStart) {
  GatewayConfig config = TestConfig();
  config.listen = "nowhere";
  auto app = GatewayApp::Start(config, AppBackend{});
  ASSERT_FALSE(app.ok());
  EXPECT_EQ(app.status().code(), absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace fgw
