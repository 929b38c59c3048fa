// GatewayServer: binding, address errors, health, graceful shutdown.
#include "server/grpc/gateway_server.h"

#include <unistd.h>

#include <thread>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/unit/grpc/grpc_test_util.h"

namespace fgw {
namespace {

using ::fgw::testing::FakeHandler;
using ::fgw::testing::RawCall;
using ::testing::HasSubstr;

constexpr char kService[] = "formance.ledger.v2.LedgerService";
constexpr char kMethod[] = "/formance.ledger.v2.LedgerService/GetInfo";
constexpr char kHealthCheck[] = "/grpc.health.v1.Health/Check";

ServerOptions LocalOptions() {
  ServerOptions options;
  options.listen = "127.0.0.1:0";
  return options;
}

FakeHandler EchoHandler() {
  return FakeHandler([](const IncomingCall&, std::string request,
                        std::function<void(CallResult)> done) {
    CallResult r;
    r.response = request;
    done(std::move(r));
  });
}

// HealthCheckRequest{service = 1}; the response's status (field 1): 1 SERVING, 2 NOT_SERVING.
std::string HealthRequest(const std::string& service) {
  std::string out;
  if (!service.empty())
    out = std::string("\x0a") + static_cast<char>(service.size()) + service;
  return out;
}

TEST(GatewayServerTest, BindsPortZeroAndReportsThePort) {
  FakeHandler handler = EchoHandler();
  auto server =
      GatewayServer::Start(LocalOptions(), &handler, nullptr, {kService});
  ASSERT_TRUE(server.ok()) << server.status();
  EXPECT_GT((*server)->port(), 0);
  EXPECT_EQ((*server)->address(),
            "127.0.0.1:" + std::to_string((*server)->port()));
  grpc::GenericStub stub(testing::Connect((*server)->address()));
  auto result = RawCall(stub, kMethod, "ping");
  ASSERT_TRUE(result.status.ok()) << result.status.error_message();
  EXPECT_EQ(result.response, "ping");
}

TEST(GatewayServerTest, RejectsMalformedListenAddress) {
  FakeHandler handler = EchoHandler();
  for (const char* bad : {"localhost", "127.0.0.1:http", "127.0.0.1:70000",
                          ":50051", "unix:relative.sock", "::1:50051"}) {
    ServerOptions options;
    options.listen = bad;
    auto server = GatewayServer::Start(options, &handler, nullptr, {});
    ASSERT_FALSE(server.ok()) << bad;
    EXPECT_EQ(server.status().code(), absl::StatusCode::kInvalidArgument)
        << bad;
    EXPECT_THAT(server.status().message(), HasSubstr(bad));
  }
}

TEST(GatewayServerTest, AddressInUseIsUnavailable) {
  FakeHandler handler = EchoHandler();
  auto first = GatewayServer::Start(LocalOptions(), &handler, nullptr, {});
  ASSERT_TRUE(first.ok());
  ServerOptions options;
  options.listen = (*first)->address();
  auto second = GatewayServer::Start(options, &handler, nullptr, {});
  ASSERT_FALSE(second.ok());
  EXPECT_EQ(second.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_THAT(second.status().message(), HasSubstr(options.listen));
}

TEST(GatewayServerTest, ServesOnUnixSocket) {
  FakeHandler handler = EchoHandler();
  std::string path =
      ::testing::TempDir() + "fgw-" + std::to_string(getpid()) + ".sock";
  ServerOptions options;
  options.listen = "unix:" + path;
  auto server = GatewayServer::Start(options, &handler, nullptr, {});
  ASSERT_TRUE(server.ok()) << server.status();
  EXPECT_EQ((*server)->port(), 0);
  grpc::GenericStub stub(testing::Connect("unix:" + path));
  auto result = RawCall(stub, kMethod, "u");
  ASSERT_TRUE(result.status.ok()) << result.status.error_message();
  EXPECT_EQ(result.response, "u");
  (*server)->Shutdown(absl::Seconds(1));
  unlink(path.c_str());
}

TEST(GatewayServerTest, HealthReportsServingThenNotServing) {
  FakeHandler handler = EchoHandler();
  auto server =
      GatewayServer::Start(LocalOptions(), &handler, nullptr, {kService});
  ASSERT_TRUE(server.ok());
  grpc::GenericStub stub(testing::Connect((*server)->address()));
  for (const std::string& name : {std::string(), std::string(kService)}) {
    auto result = RawCall(stub, kHealthCheck, HealthRequest(name));
    ASSERT_TRUE(result.status.ok())
        << name << ": " << result.status.error_message();
    EXPECT_EQ(result.response, std::string("\x08\x01")) << name;
  }
  auto unknown = RawCall(stub, kHealthCheck, HealthRequest("no.Such"));
  EXPECT_EQ(unknown.status.error_code(), grpc::StatusCode::NOT_FOUND);

  (*server)->SetServing(false);
  auto result = RawCall(stub, kHealthCheck, HealthRequest(kService));
  ASSERT_TRUE(result.status.ok());
  EXPECT_EQ(result.response, std::string("\x08\x02"));
}

TEST(GatewayServerTest, GracefulShutdownCompletesAnInFlightCall) {
  absl::Notification started;
  std::function<void(CallResult)> saved;
  FakeHandler handler([&](const IncomingCall&, std::string,
                          std::function<void(CallResult)> done) {
    saved = std::move(done);
    started.Notify();
  });
  auto server =
      GatewayServer::Start(LocalOptions(), &handler, nullptr, {kService});
  ASSERT_TRUE(server.ok());
  grpc::GenericStub stub(testing::Connect((*server)->address()));
  testing::RawResult result;
  std::thread client([&] { result = RawCall(stub, kMethod, "x"); });
  started.WaitForNotification();
  std::thread stopper([&] { (*server)->Shutdown(absl::Seconds(30)); });
  // The call finishes during the grace period, from another thread, after a short delay.
  absl::SleepFor(absl::Milliseconds(100));
  CallResult answer;
  answer.response = "finished";
  saved(std::move(answer));
  client.join();
  stopper.join();
  (*server)->Wait();
  ASSERT_TRUE(result.status.ok()) << result.status.error_message();
  EXPECT_EQ(result.response, "finished");
}

TEST(GatewayServerTest, ShutdownCancelsCallsStillRunningAfterTheGrace) {
  absl::Notification started, cancelled;
  FakeHandler handler([&](const IncomingCall& call, std::string,
                          std::function<void(CallResult)> done) {
    // Never answers on its own; the cancellation drops `done` without calling it.
    call.cancellation->OnCancel(
        [&, done = std::move(done)] { cancelled.Notify(); });
    started.Notify();
  });
  auto server = GatewayServer::Start(LocalOptions(), &handler, nullptr, {});
  ASSERT_TRUE(server.ok());
  grpc::GenericStub stub(testing::Connect((*server)->address()));
  testing::RawResult result;
  std::thread client([&] { result = RawCall(stub, kMethod, "x"); });
  started.WaitForNotification();
  absl::Time begin = absl::Now();
  (*server)->Shutdown(absl::Milliseconds(200));
  EXPECT_LT(absl::Now() - begin, absl::Seconds(10));
  EXPECT_TRUE(cancelled.HasBeenNotified());
  client.join();
  EXPECT_FALSE(result.status.ok());
  (*server)->Shutdown(absl::Seconds(1));  // Idempotent.
}

}  // namespace
}  // namespace fgw
