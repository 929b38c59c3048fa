// GatewayServer: binding, address errors, health, graceful shutdown.
#include "server/grpc/gateway_server.h"

#include <sys/stat.h>
#include <unistd.h>

#include <set>
#include <thread>
#include <vector>

#include "absl/synchronization/mutex.h"
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

TEST(GatewayServerTest, RejectsAQueueCountOutOfRange) {
  FakeHandler handler = EchoHandler();
  for (int queues : {0, 65}) {
    ServerOptions options = LocalOptions();
    options.completion_queues = queues;
    auto server = GatewayServer::Start(options, &handler, nullptr, {});
    ASSERT_FALSE(server.ok()) << queues;
    EXPECT_EQ(server.status().code(), absl::StatusCode::kInvalidArgument);
  }
}

// With several completion queues (grpc.threads), every call is answered, replies built from an
// answer given on a foreign thread included, and handlers run only on the queues' threads.
TEST(GatewayServerTest, SeveralQueuesServeConcurrentCalls) {
  constexpr int kCalls = 64;
  absl::Mutex mu;
  std::set<std::thread::id> handler_threads;
  std::vector<std::thread> answerers;
  FakeHandler handler([&](const IncomingCall&, std::string request,
                          std::function<void(CallResult)> done) {
    absl::MutexLock lock(&mu);
    handler_threads.insert(std::this_thread::get_id());
    answerers.emplace_back([request, done = std::move(done)]() mutable {
      CallResult r;
      r.build = [request](CallResult& out) { out.response = "re:" + request; };
      done(std::move(r));
    });
  });
  ServerOptions options = LocalOptions();
  options.completion_queues = 3;
  auto server = GatewayServer::Start(options, &handler, nullptr, {kService});
  ASSERT_TRUE(server.ok()) << server.status();
  // One channel per call, so the calls come on separate connections.
  std::vector<std::thread> clients;
  std::vector<testing::RawResult> results(kCalls);
  for (int i = 0; i < kCalls; ++i) {
    clients.emplace_back([&, i] {
      grpc::ChannelArguments args;
      args.SetInt("fgw.test.channel",
                  i);  // Distinct args: no shared subchannel.
      grpc::GenericStub stub(grpc::CreateCustomChannel(
          (*server)->address(), grpc::InsecureChannelCredentials(), args));
      results[i] = RawCall(stub, kMethod, std::to_string(i));
    });
  }
  for (auto& t : clients) t.join();
  {
    absl::MutexLock lock(&mu);
    for (auto& t : answerers) t.join();
  }
  for (int i = 0; i < kCalls; ++i) {
    ASSERT_TRUE(results[i].status.ok()) << results[i].status.error_message();
    EXPECT_EQ(results[i].response, "re:" + std::to_string(i));
  }
  absl::MutexLock lock(&mu);
  // Handlers run on the queue threads only (which queue a connection's calls go to is gRPC's
  // choice, so no spread is asserted).
  EXPECT_GE(handler_threads.size(), 1u);
  EXPECT_LE(handler_threads.size(), 3u);
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

namespace fgw {
namespace {

TEST(GatewayServerSecurityTest, UnixSocketGetsItsModeAndItsPeerIsLocal) {
  CallerCredential seen;
  FakeHandler handler([&seen](const IncomingCall& call, std::string,
                              std::function<void(CallResult)> done) {
    seen = call.credential;
    done(CallResult());
  });
  std::string path =
      ::testing::TempDir() + "fgw-mode-" + std::to_string(getpid()) + ".sock";
  ServerOptions options;
  options.listen = "unix:" + path;
  options.unix_socket_mode = "0600";
  auto server = GatewayServer::Start(options, &handler, nullptr, {});
  ASSERT_TRUE(server.ok()) << server.status();
  struct stat st {};
  ASSERT_EQ(stat(path.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  grpc::GenericStub stub(testing::Connect("unix:" + path));
  auto result = RawCall(stub, kMethod, "");
  ASSERT_TRUE(result.status.ok()) << result.status.error_message();
  EXPECT_TRUE(seen.local);
  (*server)->Shutdown(absl::Seconds(1));
  unlink(path.c_str());
}

TEST(GatewayServerSecurityTest, ApiKeyReachesTheHandlerOnlyAsTheCredential) {
  IncomingCall seen;
  FakeHandler handler([&seen](const IncomingCall& call, std::string,
                              std::function<void(CallResult)> done) {
    seen = call;
    done(CallResult());
  });
  auto server = GatewayServer::Start(LocalOptions(), &handler, nullptr, {});
  ASSERT_TRUE(server.ok()) << server.status();
  grpc::GenericStub stub(testing::Connect((*server)->address()));
  auto result = RawCall(stub, kMethod, "", [](grpc::ClientContext* ctx) {
    ctx->AddMetadata("x-api-key", "fgwk_secret");
    ctx->AddMetadata("x-formance-cache", "no-cache");
  });
  ASSERT_TRUE(result.status.ok()) << result.status.error_message();
  EXPECT_EQ(seen.credential.api_key, "fgwk_secret");
  EXPECT_FALSE(seen.credential.local);
  EXPECT_EQ(seen.credential.certificate_identity, "");  // Plaintext.
  for (const auto& [key, value] : seen.metadata) {
    EXPECT_NE(key, "x-api-key");
    EXPECT_NE(value, "fgwk_secret");
  }
  (*server)->Shutdown(absl::Seconds(1));
}

TEST(GatewayServerSecurityTest, RefusesAnOpenNonLoopbackListener) {
  FakeHandler handler = EchoHandler();
  for (const char* listen : {"0.0.0.0:0", "[::]:0", "10.0.0.1:0"}) {
    ServerOptions options;
    options.listen = listen;
    auto server = GatewayServer::Start(options, &handler, nullptr, {});
    ASSERT_FALSE(server.ok()) << listen;
    EXPECT_EQ(server.status().code(), absl::StatusCode::kFailedPrecondition);
    EXPECT_THAT(server.status().message(),
                HasSubstr("grpc.allow_insecure_remote"));
  }
}

TEST(GatewayServerSecurityTest, ATlsFileThatCannotBeReadIsNamed) {
  FakeHandler handler = EchoHandler();
  ServerOptions options = LocalOptions();
  options.tls.cert_file = "/nonexistent/server.pem";
  options.tls.key_file = "/nonexistent/server.key";
  auto server = GatewayServer::Start(options, &handler, nullptr, {});
  ASSERT_FALSE(server.ok());
  EXPECT_EQ(server.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(
      server.status().message(),
      HasSubstr("grpc.tls.cert_file: cannot read /nonexistent/server.pem"));
}

}  // namespace
}  // namespace fgw
