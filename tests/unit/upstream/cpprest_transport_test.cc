#include "server/upstream/cpprest_transport.h"

#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <memory>
#include <string>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "absl/time/clock.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "server/util/cancellation.h"
#include "tests/support/loopback_http_server.h"

namespace fgw {
namespace {

using ::testing::HasSubstr;

// Sends and waits (bounded) for the result.
absl::StatusOr<HttpResponse> SendAndWait(Transport& transport,
                                         HttpRequest request,
                                         SendOptions options = {}) {
  absl::Notification done;
  absl::StatusOr<HttpResponse> result;
  transport.Send(std::move(request), options,
                 [&](absl::StatusOr<HttpResponse> r) {
                   result = std::move(r);
                   done.Notify();
                 });
  if (!done.WaitForNotificationWithTimeout(absl::Seconds(20))) {
    ADD_FAILURE() << "transport did not answer";
    std::abort();
  }
  return result;
}

std::unique_ptr<CpprestTransport> MakeTransport(const std::string& base_url,
                                                TransportOptions options = {}) {
  options.base_url = base_url;
  auto transport = CpprestTransport::Create(std::move(options));
  EXPECT_TRUE(transport.ok()) << transport.status();
  return std::move(transport).value();
}

HttpRequest Get(std::string path) {
  HttpRequest request;
  request.method = "GET";
  request.path_and_query = std::move(path);
  return request;
}

// A port on which nothing listens (bound then closed).
int ClosedPort() {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof(addr);
  ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr));
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  ::close(fd);
  return ntohs(addr.sin_port);
}

TEST(CpprestTransportTest, PostRoundTripsBytesAndHeadersExactly) {
  const std::string big =
      R"({"amount":340282366920938463463374607431768211457,"x":"é\u0000"})";
  auto server = LoopbackHttpServer::Start([&](const RecordedRequest& r) {
    Reply reply;
    reply.status = 201;
    reply.headers = {{"Content-Type", "application/json"},
                     {"X-Upstream", "yes"}};
    reply.body = r.body;  // Echo.
    return reply;
  });
  ASSERT_NE(server, nullptr);
  auto transport = MakeTransport(server->base_url());
  HttpRequest request;
  request.method = "POST";
  request.path_and_query =
      "/api/ledger/v2/l%201/transactions?dryRun=true&x=a%2Fb";
  request.headers = {{"Content-Type", "application/json"},
                     {"Idempotency-Key", "k-1"}};
  request.body = big;
  auto result = SendAndWait(*transport, request);
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_EQ(result->status, 201);
  EXPECT_EQ(result->body, big);
  ASSERT_NE(FindHeader(result->headers, "x-upstream"), nullptr);
  EXPECT_EQ(*FindHeader(result->headers, "X-Upstream"), "yes");

  auto requests = server->requests();
  ASSERT_EQ(requests.size(), 1u);
  EXPECT_EQ(requests[0].method, "POST");
  EXPECT_EQ(requests[0].target,
            "/api/ledger/v2/l%201/transactions?dryRun=true&x=a%2Fb");
  EXPECT_EQ(requests[0].body, big);
  EXPECT_EQ(requests[0].header("Content-Type"), "application/json");
  EXPECT_EQ(requests[0].header("Idempotency-Key"), "k-1");
  EXPECT_EQ(requests[0].header("Content-Length"), std::to_string(big.size()));
  EXPECT_EQ(requests[0].header("User-Agent"),
            std::string("formance-grpc-gateway/") + FGW_VERSION);
  EXPECT_EQ(requests[0].header("Host"),
            absl::StrCat("127.0.0.1:", server->port()));
}

TEST(CpprestTransportTest, GetBinaryBodyAndEmptyBody) {
  std::string binary("\x00\x01\xff\r\n\r\nend", 10);
  auto server = LoopbackHttpServer::Start([&](const RecordedRequest& r) {
    Reply reply;
    if (r.target == "/bin") {
      reply.body = binary;
    } else {
      reply.status = 204;
    }
    return reply;
  });
  auto transport = MakeTransport(server->base_url());
  auto bin = SendAndWait(*transport, Get("/bin"));
  ASSERT_TRUE(bin.ok()) << bin.status();
  EXPECT_EQ(bin->body, binary);
  auto empty = SendAndWait(*transport, Get("/empty"));
  ASSERT_TRUE(empty.ok()) << empty.status();
  EXPECT_EQ(empty->status, 204);
  EXPECT_EQ(empty->body, "");
  EXPECT_EQ(server->requests()[0].body, "");
}

TEST(CpprestTransportTest, ErrorStatusIsASuccessfulTransportResult) {
  auto server = LoopbackHttpServer::Start([](const RecordedRequest&) {
    Reply reply;
    reply.status = 503;
    reply.body = R"({"errorCode":"INTERNAL"})";
    return reply;
  });
  auto transport = MakeTransport(server->base_url());
  auto result = SendAndWait(*transport, Get("/x"));
  ASSERT_TRUE(result.ok());
  EXPECT_EQ(result->status, 503);
  EXPECT_EQ(result->body, R"({"errorCode":"INTERNAL"})");
}

// cpprestsdk returns a connection to its pool only when its internal request context is
// destroyed, which races with our `done` (run on the pplx pool): a call issued right after the
// previous one completed may find that connection not yet back and open a second one. With two
// pooled connections one is always free, so sequential calls never need a third.
TEST(CpprestTransportTest, KeepAliveReusesPooledConnections) {
  auto server = LoopbackHttpServer::Start([](const RecordedRequest&) {
    return Reply{200, {}, "ok"};
  });
  auto transport = MakeTransport(server->base_url());
  for (int i = 0; i < 10; ++i) {
    auto result = SendAndWait(*transport, Get(absl::StrCat("/n/", i)));
    ASSERT_TRUE(result.ok()) << result.status();
  }
  for (int i = 0; i < 30; ++i) {
    auto result = SendAndWait(*transport, Get(absl::StrCat("/m/", i)));
    ASSERT_TRUE(result.ok()) << result.status();
  }
  EXPECT_EQ(server->requests().size(), 40u);
  EXPECT_LE(server->connections_accepted(), 2);  // 40 without keep-alive.
}

TEST(CpprestTransportTest, ConnectionRefusedIsUnavailableAndNotSent) {
  auto transport =
      MakeTransport(absl::StrCat("http://127.0.0.1:", ClosedPort()));
  auto result = SendAndWait(*transport, Get("/x"));
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.status().code(), absl::StatusCode::kUnavailable)
      << result.status();
  EXPECT_FALSE(RequestMayHaveReachedServer(result.status())) << result.status();
}

TEST(CpprestTransportTest, CloseWithoutResponseIsUnavailableMaybeSent) {
  auto server = LoopbackHttpServer::Start([](const RecordedRequest&) {
    Reply reply;
    reply.fault = Reply::Fault::kCloseWithoutResponse;
    return reply;
  });
  auto transport = MakeTransport(server->base_url());
  HttpRequest request = Get("/x");
  request.method = "POST";
  request.body = "{}";
  auto result = SendAndWait(*transport, request);
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.status().code(), absl::StatusCode::kUnavailable)
      << result.status();
  EXPECT_TRUE(RequestMayHaveReachedServer(result.status()));
}

TEST(CpprestTransportTest, CloseMidResponseIsUnavailableMaybeSent) {
  auto server = LoopbackHttpServer::Start([](const RecordedRequest&) {
    Reply reply;
    reply.headers = {{"X-Long-Header", std::string(200, 'a')}};
    reply.fault = Reply::Fault::kCloseMidResponse;
    return reply;
  });
  auto transport = MakeTransport(server->base_url());
  auto result = SendAndWait(*transport, Get("/x"));
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.status().code(), absl::StatusCode::kUnavailable)
      << result.status();
  EXPECT_TRUE(RequestMayHaveReachedServer(result.status()));
}

// cpprestsdk resends on its own when a reused connection is closed before the status line. A plain
// write (no Idempotency-Key) must reach the server at most once: it gets a fresh connection.
TEST(CpprestTransportTest, PlainWriteIsNeverResentByTheClientLibrary) {
  auto server = LoopbackHttpServer::Start([](const RecordedRequest& r) {
    Reply reply;
    if (r.method == "POST") reply.fault = Reply::Fault::kCloseWithoutResponse;
    return reply;
  });
  auto transport = MakeTransport(server->base_url());
  ASSERT_TRUE(SendAndWait(*transport, Get("/warm"))
                  .ok());  // A pooled keep-alive connection.
  HttpRequest post = Get("/api/payments/v3/payments");
  post.method = "POST";
  post.body = "{}";
  auto result = SendAndWait(*transport, post);
  EXPECT_EQ(result.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_TRUE(RequestMayHaveReachedServer(result.status()));
  int posts = 0;
  for (const auto& r : server->requests()) posts += r.method == "POST";
  EXPECT_EQ(posts, 1);
  EXPECT_EQ(server->requests().back().header("Connection"), "close");
  // Reads still share the pool.
  ASSERT_TRUE(SendAndWait(*transport, Get("/again")).ok());
}

TEST(CpprestTransportTest, ResetIsUnavailableMaybeSent) {
  auto server = LoopbackHttpServer::Start([](const RecordedRequest&) {
    Reply reply;
    reply.fault = Reply::Fault::kReset;
    return reply;
  });
  auto transport = MakeTransport(server->base_url());
  auto result = SendAndWait(*transport, Get("/x"));
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.status().code(), absl::StatusCode::kUnavailable)
      << result.status();
  EXPECT_TRUE(RequestMayHaveReachedServer(result.status()));
}

TEST(CpprestTransportTest, DeadlineExceededPromptly) {
  auto server = LoopbackHttpServer::Start([](const RecordedRequest&) {
    Reply reply;
    reply.delay = absl::Seconds(10);
    return reply;
  });
  auto transport = MakeTransport(server->base_url());
  SendOptions options;
  options.deadline = absl::Now() + absl::Milliseconds(200);
  absl::Time start = absl::Now();
  auto result = SendAndWait(*transport, Get("/slow"), options);
  absl::Duration took = absl::Now() - start;
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.status().code(), absl::StatusCode::kDeadlineExceeded)
      << result.status();
  EXPECT_LT(took, absl::Seconds(2));
}

TEST(CpprestTransportTest, RequestTimeoutBoundsEachSend) {
  auto server = LoopbackHttpServer::Start([](const RecordedRequest&) {
    Reply reply;
    reply.delay = absl::Seconds(10);
    return reply;
  });
  TransportOptions options;
  options.request_timeout = absl::Milliseconds(200);
  auto transport = MakeTransport(server->base_url(), options);
  auto result = SendAndWait(*transport, Get("/slow"));
  EXPECT_EQ(result.status().code(), absl::StatusCode::kDeadlineExceeded)
      << result.status();
}

TEST(CpprestTransportTest, CancellationAbortsInFlightRequest) {
  absl::Notification arrived;
  auto server = LoopbackHttpServer::Start([&](const RecordedRequest&) {
    arrived.Notify();
    Reply reply;
    reply.delay = absl::Seconds(10);
    return reply;
  });
  auto transport = MakeTransport(server->base_url());
  Cancellation cancellation;
  SendOptions options;
  options.cancellation = &cancellation;
  absl::Notification done;
  absl::StatusOr<HttpResponse> result;
  transport->Send(Get("/slow"), options, [&](absl::StatusOr<HttpResponse> r) {
    result = std::move(r);
    done.Notify();
  });
  ASSERT_TRUE(arrived.WaitForNotificationWithTimeout(absl::Seconds(5)));
  absl::Time start = absl::Now();
  cancellation.Cancel();
  ASSERT_TRUE(done.WaitForNotificationWithTimeout(absl::Seconds(5)));
  EXPECT_LT(absl::Now() - start, absl::Seconds(2));
  EXPECT_EQ(result.status().code(), absl::StatusCode::kCancelled)
      << result.status();
}

TEST(CpprestTransportTest, AlreadyCancelledFailsInlineNotSent) {
  auto transport = MakeTransport("http://127.0.0.1:9");
  Cancellation cancellation;
  cancellation.Cancel();
  SendOptions options;
  options.cancellation = &cancellation;
  auto result = SendAndWait(*transport, Get("/x"), options);
  EXPECT_EQ(result.status().code(), absl::StatusCode::kCancelled);
  EXPECT_FALSE(RequestMayHaveReachedServer(result.status()));
}

TEST(CpprestTransportTest, ProxyReceivesAbsoluteFormRequest) {
  auto proxy = LoopbackHttpServer::Start([](const RecordedRequest&) {
    return Reply{200, {}, "via proxy"};
  });
  TransportOptions options;
  options.proxy = proxy->base_url();
  auto transport = MakeTransport("http://upstream.example:8080", options);
  auto result = SendAndWait(*transport, Get("/x?y=1"));
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_EQ(result->body, "via proxy");
  auto requests = proxy->requests();
  ASSERT_EQ(requests.size(), 1u);
  EXPECT_EQ(requests[0].method, "GET");
  EXPECT_EQ(requests[0].target, "http://upstream.example:8080/x?y=1");
}

TEST(CpprestTransportTest, BaseUrlPathPrefixIsKeptAndPathNotReencoded) {
  auto server =
      LoopbackHttpServer::Start([](const RecordedRequest&) { return Reply{}; });
  auto transport = MakeTransport(server->base_url() + "/stack/");
  auto result = SendAndWait(
      *transport, Get("/api/ledger/v2/users%3A001/accounts/a:b?q=%7B%7D"));
  ASSERT_TRUE(result.ok()) << result.status();
  ASSERT_EQ(server->requests().size(), 1u);
  EXPECT_EQ(server->requests()[0].target,
            "/stack/api/ledger/v2/users%3A001/accounts/a:b?q=%7B%7D");
}

TEST(CpprestTransportTest, ConcurrentSendsAllComplete) {
  auto server = LoopbackHttpServer::Start([](const RecordedRequest& r) {
    Reply reply;
    reply.body = r.target;
    return reply;
  });
  auto transport = MakeTransport(server->base_url());
  constexpr int kCalls = 64;
  absl::Mutex mu;
  int ok = 0;
  int answered = 0;
  for (int i = 0; i < kCalls; ++i) {
    std::string path = absl::StrCat("/c/", i);
    transport->Send(Get(path), {}, [&, path](absl::StatusOr<HttpResponse> r) {
      absl::MutexLock lock(&mu);
      if (r.ok() && r->body == path) ++ok;
      ++answered;
    });
  }
  absl::MutexLock lock(&mu);
  auto all = [&]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu) {
    return answered == kCalls;
  };
  ASSERT_TRUE(mu.AwaitWithTimeout(absl::Condition(&all), absl::Seconds(20)));
  EXPECT_EQ(ok, kCalls);
}

TEST(CpprestTransportTest, RejectsBadOptions) {
  TransportOptions options;
  options.base_url = "ftp://x";
  EXPECT_FALSE(CpprestTransport::Create(options).ok());
  options.base_url = "https://x";
  options.ca_file = "/nonexistent/ca.pem";
  EXPECT_EQ(CpprestTransport::Create(options).status().code(),
            absl::StatusCode::kInvalidArgument);
  options.ca_file = "";
  options.connect_timeout = absl::ZeroDuration();
  EXPECT_EQ(CpprestTransport::Create(options).status().code(),
            absl::StatusCode::kInvalidArgument);
}

// A TCP listener that never accepts nor reads: the kernel completes the TCP handshake, and a
// TLS handshake then waits forever for the server's hello.
class SilentListener {
 public:
  SilentListener() {
    fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof(addr);
    EXPECT_EQ(::bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)), 0);
    EXPECT_EQ(::listen(fd_, 16), 0);
    ::getsockname(fd_, reinterpret_cast<sockaddr*>(&addr), &len);
    port_ = ntohs(addr.sin_port);
  }
  ~SilentListener() { ::close(fd_); }
  int port() const { return port_; }

 private:
  int fd_ = -1;
  int port_ = 0;
};

TEST(CpprestTransportTest,
     ConnectTimeoutEndsAStalledHandshakeUnavailableNotSent) {
  SilentListener listener;
  TransportOptions options;
  options.connect_timeout = absl::Milliseconds(200);
  options.request_timeout = absl::Seconds(30);
  auto transport = MakeTransport(
      absl::StrCat("https://127.0.0.1:", listener.port()), options);
  HttpRequest post;
  post.method =
      "POST";  // A plain write: it would be sent on a fresh connection anyway.
  post.path_and_query = "/api/ledger/v2/l1/transactions";
  post.body = "{}";
  const absl::Time start = absl::Now();
  auto result = SendAndWait(*transport, post);
  const absl::Duration took = absl::Now() - start;
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.status().code(), absl::StatusCode::kUnavailable)
      << result.status();
  EXPECT_THAT(result.status().message(),
              HasSubstr("not established within upstream.connect_timeout"));
  EXPECT_FALSE(RequestMayHaveReachedServer(result.status()));
  EXPECT_GE(took, absl::Milliseconds(200));
  // Ended by the connect timeout, long before the request timeout (the bound leaves room for a
  // loaded machine: a sanitizer run here took 6 s once).
  EXPECT_LT(took, absl::Seconds(15));
}

TEST(CpprestTransportTest, DeadlineBeforeTheConnectTimeoutWins) {
  SilentListener listener;
  TransportOptions options;
  options.connect_timeout = absl::Seconds(5);
  auto transport = MakeTransport(
      absl::StrCat("https://127.0.0.1:", listener.port()), options);
  SendOptions send;
  send.deadline = absl::Now() + absl::Milliseconds(200);
  auto result = SendAndWait(*transport, Get("/x"), send);
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.status().code(), absl::StatusCode::kDeadlineExceeded)
      << result.status();
  EXPECT_FALSE(RequestMayHaveReachedServer(result.status()));
}

TEST(CpprestTransportTest, ConnectTimeoutNeverCutsASlowReply) {
  auto server = LoopbackHttpServer::Start([](const RecordedRequest&) {
    Reply reply;
    reply.delay = absl::Milliseconds(700);
    reply.body = "late";
    return reply;
  });
  TransportOptions options;
  options.connect_timeout = absl::Milliseconds(100);
  auto transport = MakeTransport(server->base_url(), options);
  for (int i = 0; i < 2; ++i) {  // A fresh connection, then the pooled one.
    auto result = SendAndWait(*transport, Get("/slow"));
    ASSERT_TRUE(result.ok()) << result.status();
    EXPECT_EQ(result->status, 200);
    EXPECT_EQ(result->body, "late");
  }
}

TEST(CpprestTransportTest, DeadlineStillBoundsARequestPastItsConnectTimeout) {
  auto server = LoopbackHttpServer::Start([](const RecordedRequest&) {
    Reply reply;
    reply.delay = absl::Seconds(10);
    return reply;
  });
  TransportOptions options;
  options.connect_timeout = absl::Milliseconds(100);
  auto transport = MakeTransport(server->base_url(), options);
  SendOptions send;
  send.deadline = absl::Now() + absl::Milliseconds(500);
  const absl::Time start = absl::Now();
  auto result = SendAndWait(*transport, Get("/slow"), send);
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.status().code(), absl::StatusCode::kDeadlineExceeded)
      << result.status();
  EXPECT_TRUE(RequestMayHaveReachedServer(result.status()));
  EXPECT_LT(absl::Now() - start, absl::Seconds(3));
}

// --- Hostile input and bounds (issue 9) ---

TEST(CpprestTransportTest, RedirectIsReturnedNeverFollowed) {
  auto elsewhere = LoopbackHttpServer::Start([](const RecordedRequest&) {
    return Reply{200, {}, "stolen"};
  });
  auto server = LoopbackHttpServer::Start([&](const RecordedRequest&) {
    Reply reply;
    reply.status = 302;
    reply.headers = {{"Location", elsewhere->base_url() + "/collect"}};
    return reply;
  });
  auto transport = MakeTransport(server->base_url());
  HttpRequest post = Get("/api/ledger/v2/main/transactions");
  post.method = "POST";
  post.headers = {{"Authorization", "Bearer secret-token"},
                  {"Idempotency-Key", "k1"}};
  post.body = "{}";
  auto result = SendAndWait(*transport, post);
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_EQ(result->status, 302);
  EXPECT_EQ(server->requests().size(), 1u);
  EXPECT_EQ(elsewhere->requests().size(), 0u);
  EXPECT_EQ(elsewhere->connections_accepted(), 0);
}

TEST(CpprestTransportTest, InvalidHeaderValueIsRefusedAndNothingIsSent) {
  auto server = LoopbackHttpServer::Start([](const RecordedRequest&) {
    return Reply{200, {}, "{}"};
  });
  auto transport = MakeTransport(server->base_url());
  for (const std::string& value :
       {std::string("x\r\nDELETE /api/auth/clients/c HTTP/1.1\r\nHost: h"),
        std::string("caf\xc3\xa9"), std::string("a\0b", 3),
        std::string("tab\there"), std::string(" leading")}) {
    HttpRequest request = Get("/api/payments/v3/connectors/capabilities");
    request.headers = {{"If-None-Match", value}};
    auto result = SendAndWait(*transport, request);
    ASSERT_FALSE(result.ok());
    EXPECT_EQ(result.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_THAT(result.status().message(), HasSubstr("If-None-Match"));
    EXPECT_FALSE(RequestMayHaveReachedServer(result.status()));
  }
  HttpRequest bad_name = Get("/x");
  bad_name.headers = {{"X-A\r\nX-B", "v"}};
  EXPECT_EQ(SendAndWait(*transport, bad_name).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(server->connections_accepted(), 0);
  EXPECT_TRUE(server->requests().empty());
}

TEST(CpprestTransportTest, InvalidOrOversizedTargetIsRefusedAndNothingIsSent) {
  auto server = LoopbackHttpServer::Start([](const RecordedRequest&) {
    return Reply{200, {}, "{}"};
  });
  TransportOptions options;
  options.limits.max_request_target_bytes = 64;
  options.limits.max_request_header_bytes = 128;
  auto transport = MakeTransport(server->base_url(), options);
  for (const std::string& target :
       {std::string("/api/ledger/v2/main/accounts/.."),
        std::string("/api/ledger/v2/main/accounts/%2e%2E/x"),
        std::string("/a b"), std::string("/a\r\nb"), std::string("/a%zz"),
        std::string("/") + std::string(64, 'a'), std::string("no-slash")}) {
    auto result = SendAndWait(*transport, Get(target));
    EXPECT_EQ(result.status().code(), absl::StatusCode::kInvalidArgument)
        << target;
    EXPECT_FALSE(RequestMayHaveReachedServer(result.status()));
  }
  HttpRequest big = Get("/x");
  big.headers = {{"X-Big", std::string(200, 'v')}};
  auto result = SendAndWait(*transport, big);
  EXPECT_EQ(result.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(result.status().message(), HasSubstr("max_request_header_bytes"));
  EXPECT_EQ(server->connections_accepted(), 0);
}

TEST(CpprestTransportTest, ReplyOverTheLimitIsResourceExhausted) {
  auto server = LoopbackHttpServer::Start([](const RecordedRequest& r) {
    Reply reply;
    reply.body = std::string(r.target == "/small" ? 1000 : 300000, 'x');
    if (r.target == "/chunked") reply.chunk_size = 4096;
    if (r.target == "/declared") {
      reply.headers = {{"Content-Length", "1000000000"}};
      reply.body = "short";
    }
    return reply;
  });
  TransportOptions options;
  options.limits.max_response_bytes = 100000;
  auto transport = MakeTransport(server->base_url(), options);
  for (const char* path : {"/big", "/chunked", "/declared"}) {
    auto result = SendAndWait(*transport, Get(path));
    ASSERT_FALSE(result.ok()) << path;
    EXPECT_EQ(result.status().code(), absl::StatusCode::kResourceExhausted)
        << path << ": " << result.status();
    EXPECT_THAT(result.status().message(), HasSubstr("max_response_bytes"));
    EXPECT_TRUE(RequestMayHaveReachedServer(result.status()));
  }
  auto small = SendAndWait(*transport, Get("/small"));
  ASSERT_TRUE(small.ok()) << small.status();
  EXPECT_EQ(small->body.size(), 1000u);
}

TEST(CpprestTransportTest, ChunkedReplyUnderTheLimitArrivesWhole) {
  std::string body;
  for (int i = 0; i < 5000; ++i) absl::StrAppend(&body, i, ",");
  auto server = LoopbackHttpServer::Start([&](const RecordedRequest&) {
    Reply reply;
    reply.body = body;
    reply.chunk_size = 1000;
    return reply;
  });
  auto transport = MakeTransport(server->base_url());
  auto result = SendAndWait(*transport, Get("/c"));
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_EQ(result->body, body);
}

TEST(CpprestTransportTest, OpenConnectionsNeverExceedTheLimit) {
  auto server = LoopbackHttpServer::Start([](const RecordedRequest&) {
    Reply reply{200, {}, "ok"};
    reply.delay = absl::Milliseconds(50);
    return reply;
  });
  TransportOptions options;
  options.limits.max_connections = 3;
  auto transport = MakeTransport(server->base_url(), options);
  constexpr int kCalls = 30;
  absl::Mutex mu;
  int ok = 0, answered = 0;
  for (int i = 0; i < kCalls; ++i) {
    transport->Send(Get(absl::StrCat("/n/", i)), {},
                    [&](absl::StatusOr<HttpResponse> r) {
                      absl::MutexLock lock(&mu);
                      ++answered;
                      ok += r.ok();
                    });
  }
  {
    absl::MutexLock lock(&mu);
    auto all = [&] { return answered == kCalls; };
    ASSERT_TRUE(mu.AwaitWithTimeout(absl::Condition(&all), absl::Seconds(20)));
  }
  EXPECT_EQ(ok, kCalls);
  EXPECT_LE(server->max_open_connections(), 3);
  EXPECT_EQ(server->requests().size(), static_cast<size_t>(kCalls));
}

TEST(CpprestTransportTest, WaitingForAConnectionEndsAtTheDeadlineNotSent) {
  absl::Notification arrived;
  auto server = LoopbackHttpServer::Start([&](const RecordedRequest& r) {
    Reply reply{200, {}, "ok"};
    if (r.target == "/slow") {
      arrived.Notify();
      reply.delay = absl::Seconds(2);
    }
    return reply;
  });
  TransportOptions options;
  options.limits.max_connections = 1;
  auto transport = MakeTransport(server->base_url(), options);
  absl::Notification first_done;
  transport->Send(Get("/slow"), {},
                  [&](absl::StatusOr<HttpResponse>) { first_done.Notify(); });
  ASSERT_TRUE(arrived.WaitForNotificationWithTimeout(absl::Seconds(5)));
  SendOptions waiting;
  waiting.deadline = absl::Now() + absl::Milliseconds(200);
  auto result = SendAndWait(*transport, Get("/second"), waiting);
  EXPECT_EQ(result.status().code(), absl::StatusCode::kDeadlineExceeded)
      << result.status();
  EXPECT_THAT(result.status().message(), HasSubstr("max_upstream_connections"));
  EXPECT_FALSE(RequestMayHaveReachedServer(result.status()));

  Cancellation cancellation;
  SendOptions cancelled;
  cancelled.cancellation = &cancellation;
  absl::Notification cancel_done;
  absl::StatusOr<HttpResponse> cancel_result;
  transport->Send(Get("/third"), cancelled,
                  [&](absl::StatusOr<HttpResponse> r) {
                    cancel_result = std::move(r);
                    cancel_done.Notify();
                  });
  EXPECT_EQ(transport->connections_waiting(), 1);
  cancellation.Cancel();
  ASSERT_TRUE(cancel_done.WaitForNotificationWithTimeout(absl::Seconds(5)));
  EXPECT_EQ(cancel_result.status().code(), absl::StatusCode::kCancelled);
  EXPECT_FALSE(RequestMayHaveReachedServer(cancel_result.status()));

  ASSERT_TRUE(first_done.WaitForNotificationWithTimeout(absl::Seconds(10)));
  EXPECT_EQ(server->requests().size(), 1u);  // Neither waiter sent anything.
  // The slot comes back once the first request is done with its connection.
  auto after = SendAndWait(*transport, Get("/after"));
  EXPECT_TRUE(after.ok()) << after.status();
}

// --- HTTPS with a private CA, against `openssl s_server` ---

class TlsServer {
 public:
  // Generates a CA and a server certificate for 127.0.0.1 and starts s_server. Empty dir() on
  // failure (no openssl).
  static std::unique_ptr<TlsServer> Start() {
    auto server = std::unique_ptr<TlsServer>(new TlsServer());
    char tmpl[] = "/tmp/fgw_tls_XXXXXX";
    if (::mkdtemp(tmpl) == nullptr) return nullptr;
    server->dir_ = tmpl;
    const std::string& d = server->dir_;
    {
      std::ofstream ext(d + "/ext.cnf");
      ext << "subjectAltName=IP:127.0.0.1,DNS:localhost\n";
    }
    std::string script = absl::StrCat(
        "cd ", d, " && ",
        "openssl req -x509 -newkey rsa:2048 -nodes -keyout ca.key -out ca.pem "
        "-days 2 "
        "-subj /CN=fgw-test-ca >/dev/null 2>&1 && ",
        "openssl req -newkey rsa:2048 -nodes -keyout server.key -out "
        "server.csr "
        "-subj /CN=127.0.0.1 >/dev/null 2>&1 && ",
        "openssl x509 -req -in server.csr -CA ca.pem -CAkey ca.key "
        "-CAcreateserial "
        "-out server.pem -days 2 -extfile ext.cnf >/dev/null 2>&1");
    if (std::system(script.c_str()) != 0) return nullptr;
    server->port_ = ClosedPort();
    pid_t pid = ::fork();
    if (pid == 0) {
      std::string accept = absl::StrCat("127.0.0.1:", server->port_);
      std::string cert = d + "/server.pem";
      std::string key = d + "/server.key";
      int devnull = ::open("/dev/null", O_RDWR);
      ::dup2(devnull, 0);
      ::dup2(devnull, 1);
      ::dup2(devnull, 2);
      ::execlp("openssl", "openssl", "s_server", "-accept", accept.c_str(),
               "-cert", cert.c_str(), "-key", key.c_str(), "-www", "-quiet",
               static_cast<char*>(nullptr));
      ::_exit(127);
    }
    server->pid_ = pid;
    // Wait (bounded) until it accepts connections.
    for (int i = 0; i < 100; ++i) {
      int fd = ::socket(AF_INET, SOCK_STREAM, 0);
      sockaddr_in addr{};
      addr.sin_family = AF_INET;
      addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
      addr.sin_port = htons(server->port_);
      bool up =
          ::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0;
      ::close(fd);
      if (up) return server;
      absl::SleepFor(absl::Milliseconds(50));
    }
    return nullptr;
  }
  ~TlsServer() {
    if (pid_ > 0) {
      ::kill(pid_, SIGTERM);
      ::waitpid(pid_, nullptr, 0);
    }
    if (!dir_.empty()) std::system(absl::StrCat("rm -rf ", dir_).c_str());
  }
  std::string ca_file() const { return dir_ + "/ca.pem"; }
  std::string base_url() const {
    return absl::StrCat("https://127.0.0.1:", port_);
  }

 private:
  TlsServer() = default;
  std::string dir_;
  int port_ = 0;
  pid_t pid_ = -1;
};

TEST(CpprestTransportTest, HttpsWithPrivateCa) {
  auto tls = TlsServer::Start();
  if (tls == nullptr) GTEST_SKIP() << "openssl CLI unavailable";
  {
    TransportOptions options;
    options.ca_file = tls->ca_file();
    // About trust, not timing: a loaded machine (the sanitizer run) may take seconds for
    // s_server's first handshake, more than the 5 s default connect timeout.
    options.connect_timeout = absl::Seconds(30);
    options.request_timeout = absl::Seconds(30);
    auto transport = MakeTransport(tls->base_url(), options);
    auto result = SendAndWait(*transport, Get("/"));
    ASSERT_TRUE(result.ok()) << result.status();
    EXPECT_EQ(result->status, 200);
    EXPECT_THAT(result->body, HasSubstr("s_server"));
  }
  {
    auto transport =
        MakeTransport(tls->base_url());  // System store only: untrusted.
    auto result = SendAndWait(*transport, Get("/"));
    ASSERT_FALSE(result.ok());
    EXPECT_EQ(result.status().code(), absl::StatusCode::kUnavailable)
        << result.status();
    EXPECT_FALSE(RequestMayHaveReachedServer(result.status()))
        << result.status();
  }
}

}  // namespace
}  // namespace fgw
