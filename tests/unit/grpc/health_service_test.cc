// HealthService through a GatewayServer on 127.0.0.1:0: Check and Watch as a client sees them
// (raw bytes through grpc::GenericStub; expected replies written out as wire bytes), and the
// wire helpers.
#include "server/grpc/health_service.h"

#include <memory>
#include <string>
#include <thread>

#include "gtest/gtest.h"
#include "server/grpc/gateway_server.h"
#include "tests/unit/grpc/grpc_test_util.h"

namespace fgw {
namespace {

using ::fgw::testing::FakeHandler;
using ::fgw::testing::RawCall;

constexpr char kService[] = "formance.ledger.v2.LedgerService";
const std::string kServing("\x08\x01", 2);
const std::string kNotServing("\x08\x02", 2);
const std::string kServiceUnknown("\x08\x03", 2);

// HealthCheckRequest{service = 1}.
std::string Request(const std::string& service) {
  if (service.empty()) return "";
  return std::string("\x0a") + static_cast<char>(service.size()) + service;
}

// A Watch stream: the request is sent at once.
class WatchStream : public testing::RawStream {
 public:
  WatchStream(grpc::GenericStub* stub, const std::string& service)
      : RawStream(*stub, kHealthWatchMethod) {
    EXPECT_TRUE(WriteLast(Request(service)));
  }
};

class HealthServiceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ServerOptions options;
    options.listen = "127.0.0.1:0";
    auto server = GatewayServer::Start(options, &handler_, nullptr, {kService});
    ASSERT_TRUE(server.ok()) << server.status();
    server_ = std::move(*server);
    stub_ = std::make_unique<grpc::GenericStub>(
        testing::Connect(server_->address()));
  }
  void TearDown() override {
    if (server_) server_->Shutdown(absl::Seconds(5));
  }

  FakeHandler handler_{
      [](const IncomingCall&, std::string,
         std::function<void(CallResult)> done) { done(CallResult()); }};
  std::unique_ptr<GatewayServer> server_;
  std::unique_ptr<grpc::GenericStub> stub_;
};

TEST_F(HealthServiceTest, CheckAnswersKnownServicesAndNotFoundOtherwise) {
  for (const std::string& name : {std::string(), std::string(kService)}) {
    auto result = RawCall(*stub_, kHealthCheckMethod, Request(name));
    ASSERT_TRUE(result.status.ok()) << result.status.error_message();
    EXPECT_EQ(result.response, kServing) << name;
  }
  auto unknown = RawCall(*stub_, kHealthCheckMethod, Request("no.Such"));
  EXPECT_EQ(unknown.status.error_code(), grpc::StatusCode::NOT_FOUND);
  auto garbage =
      RawCall(*stub_, kHealthCheckMethod, std::string("\x0a\x7f", 2));
  EXPECT_EQ(garbage.status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
}

TEST_F(HealthServiceTest, WatchSendsTheStatusThenEachChangeAndEndsAtShutdown) {
  WatchStream watch(stub_.get(), kService);
  std::string message;
  ASSERT_TRUE(watch.Read(&message));
  EXPECT_EQ(message, kServing);
  server_->SetServing(false);
  ASSERT_TRUE(watch.Read(&message));
  EXPECT_EQ(message, kNotServing);
  server_->SetServing(true);
  ASSERT_TRUE(watch.Read(&message));
  EXPECT_EQ(message, kServing);

  // Shutdown ends the stream at once instead of waiting out the grace period.
  absl::Time begin = absl::Now();
  std::thread stopper([&] { server_->Shutdown(absl::Seconds(30)); });
  ASSERT_TRUE(watch.Read(&message));
  EXPECT_EQ(message, kNotServing);
  EXPECT_FALSE(watch.Read(&message));
  EXPECT_EQ(watch.Finish().error_code(), grpc::StatusCode::UNAVAILABLE);
  stopper.join();
  EXPECT_LT(absl::Now() - begin, absl::Seconds(10));
}

TEST_F(HealthServiceTest,
       AGateHoldsOneServiceBackAndWatchersSeeOnlyTheirChanges) {
  WatchStream gated(stub_.get(), kService);
  WatchStream overall(stub_.get(), "");
  std::string message;
  ASSERT_TRUE(gated.Read(&message));
  EXPECT_EQ(message, kServing);
  ASSERT_TRUE(overall.Read(&message));
  EXPECT_EQ(message, kServing);
  server_->SetGate(kService, false);
  ASSERT_TRUE(gated.Read(&message));
  EXPECT_EQ(message, kNotServing);
  EXPECT_EQ(RawCall(*stub_, kHealthCheckMethod, Request(kService)).response,
            kNotServing);
  EXPECT_EQ(RawCall(*stub_, kHealthCheckMethod, Request("")).response,
            kServing);
  server_->SetGate(kService, true);
  ASSERT_TRUE(gated.Read(&message));
  EXPECT_EQ(message, kServing);
  // Draining: NOT_SERVING everywhere, whatever the gate.
  server_->SetServing(false);
  ASSERT_TRUE(gated.Read(&message));
  EXPECT_EQ(message, kNotServing);
  ASSERT_TRUE(overall.Read(&message));
  EXPECT_EQ(message, kNotServing);     // The first change "" saw.
  server_->SetGate("no.Such", false);  // Ignored.
  gated.Cancel();
  overall.Cancel();
  gated.Finish();
  overall.Finish();
}

TEST(HealthOnlyServerTest, ServesHealthAndNothingElse) {
  FakeHandler handler([](const IncomingCall&, std::string,
                         std::function<void(CallResult)> done) {
    ADD_FAILURE() << "the handler must not be called";
    done(CallResult());
  });
  ServerOptions options;
  options.listen = "127.0.0.1:0";
  options.health_only = true;
  auto server = GatewayServer::Start(options, &handler, nullptr, {"readiness"});
  ASSERT_TRUE(server.ok()) << server.status();
  grpc::GenericStub stub(testing::Connect((*server)->address()));
  EXPECT_EQ(RawCall(stub, kHealthCheckMethod, Request("")).response, kServing);
  EXPECT_EQ(RawCall(stub, kHealthCheckMethod, Request("readiness")).response,
            kServing);
  EXPECT_EQ(RawCall(stub, "/formance.ledger.v2.LedgerService/GetInfo", "x")
                .status.error_code(),
            grpc::StatusCode::UNIMPLEMENTED);
  EXPECT_EQ(RawCall(stub,
                    "/grpc.reflection.v1alpha.ServerReflection/"
                    "ServerReflectionInfo",
                    "")
                .status.error_code(),
            grpc::StatusCode::UNIMPLEMENTED);
  (*server)->Shutdown(absl::ZeroDuration());
}

TEST_F(HealthServiceTest, WatchOfAnUnknownServiceSaysSo) {
  WatchStream watch(stub_.get(), "no.Such");
  std::string message;
  ASSERT_TRUE(watch.Read(&message));
  EXPECT_EQ(message, kServiceUnknown);
}

TEST_F(HealthServiceTest, CancelledWatchDoesNotHoldUpShutdown) {
  {
    WatchStream watch(stub_.get(), "");
    std::string message;
    ASSERT_TRUE(watch.Read(&message));
    EXPECT_EQ(message, kServing);
    watch.Cancel();
    EXPECT_EQ(watch.Finish().error_code(), grpc::StatusCode::CANCELLED);
  }
  absl::Time begin = absl::Now();
  server_->Shutdown(absl::Seconds(30));
  EXPECT_LT(absl::Now() - begin, absl::Seconds(10));
}

TEST(HealthWireTest, RequestAndResponseBytes) {
  EXPECT_EQ(*ParseHealthCheckRequest(""), "");
  EXPECT_EQ(*ParseHealthCheckRequest(Request("a.B")), "a.B");
  // Unknown fields are skipped; a truncated string is an error.
  EXPECT_EQ(*ParseHealthCheckRequest(std::string("\x10\x05", 2) + Request("x")),
            "x");
  EXPECT_FALSE(ParseHealthCheckRequest(std::string("\x0a\x05x", 3)).ok());
  EXPECT_EQ(HealthCheckResponseBytes(HealthService::kServing), kServing);
  EXPECT_EQ(HealthCheckResponseBytes(HealthService::kUnknown), "");
}

}  // namespace
}  // namespace fgw
