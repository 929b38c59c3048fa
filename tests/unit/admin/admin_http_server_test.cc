// AdminHttpServer: the three paths, HEAD, 405 and 404, readiness reasons, address checks,
// binding 127.0.0.2 while nothing listens on 127.0.0.1 at that port, and Stop().
#include "server/admin/admin_http_server.h"

#include <atomic>
#include <string>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/support/http_get.h"

namespace fgw {
namespace {

using ::testing::HasSubstr;
using ::testing::StartsWith;

using ::fgw::testing_http::Body;
using ::fgw::testing_http::Exchange;

std::string Get(int port, const std::string& path,
                const std::string& method = "GET") {
  return testing_http::Get("127.0.0.2", port, path, method);
}

class AdminHttpServerTest : public ::testing::Test {
 protected:
  void Start() {
    AdminHandlers handlers;
    handlers.live = [this] { return live_.load(); };
    handlers.ready = [this]() -> absl::Status {
      if (ready_.load()) return absl::OkStatus();
      return absl::UnavailableError("no access token obtained yet");
    };
    handlers.metrics = [] { return std::string("# TYPE up gauge\nup 1\n"); };
    AdminHttpOptions options;
    options.listen = "127.0.0.2:0";
    auto server = AdminHttpServer::Start(options, handlers);
    ASSERT_TRUE(server.ok()) << server.status();
    server_ = *std::move(server);
    ASSERT_GT(server_->port(), 0);
  }

  std::atomic<bool> live_{true};
  std::atomic<bool> ready_{true};
  std::unique_ptr<AdminHttpServer> server_;
};

TEST_F(AdminHttpServerTest, ServesHealthzReadyzAndMetrics) {
  Start();
  EXPECT_EQ(server_->address(), absl::StrCat("127.0.0.2:", server_->port()));
  std::string healthz = Get(server_->port(), "/healthz");
  EXPECT_THAT(healthz, StartsWith("HTTP/1.1 200"));
  EXPECT_EQ(Body(healthz), "ok\n");
  EXPECT_THAT(healthz, HasSubstr("Cache-Control: no-store"));
  EXPECT_EQ(Body(Get(server_->port(), "/readyz")), "ready\n");
  std::string metrics = Get(server_->port(), "/metrics");
  EXPECT_THAT(metrics, StartsWith("HTTP/1.1 200"));
  EXPECT_THAT(metrics, HasSubstr("Content-Type: text/plain; version=0.0.4"));
  EXPECT_EQ(Body(metrics), "# TYPE up gauge\nup 1\n");
  // A query string does not change the path.
  EXPECT_THAT(Get(server_->port(), "/healthz?verbose=1"),
              StartsWith("HTTP/1.1 200"));
}

TEST_F(AdminHttpServerTest, NotReadySaysWhyAndNotLiveIs503) {
  Start();
  ready_ = false;
  std::string readyz = Get(server_->port(), "/readyz");
  EXPECT_THAT(readyz, StartsWith("HTTP/1.1 503"));
  EXPECT_EQ(Body(readyz), "not ready: no access token obtained yet\n");
  live_ = false;
  EXPECT_THAT(Get(server_->port(), "/healthz"), StartsWith("HTTP/1.1 503"));
}

TEST_F(AdminHttpServerTest, HeadHasNoBodyOtherMethodsAre405OtherPaths404) {
  Start();
  std::string head = Get(server_->port(), "/healthz", "HEAD");
  EXPECT_THAT(head, StartsWith("HTTP/1.1 200"));
  EXPECT_EQ(Body(head), "");
  std::string post = Get(server_->port(), "/metrics", "POST");
  EXPECT_THAT(post, StartsWith("HTTP/1.1 405"));
  EXPECT_THAT(post, HasSubstr("Allow: GET, HEAD"));
  EXPECT_THAT(Get(server_->port(), "/"), StartsWith("HTTP/1.1 404"));
  EXPECT_THAT(Get(server_->port(), "/metrics/../etc/passwd"),
              ::testing::Not(HasSubstr("root:")));
  EXPECT_THAT(Get(server_->port(), "/healthzz"), StartsWith("HTTP/1.1 404"));
}

TEST_F(AdminHttpServerTest, AnOversizedRequestIsRefusedAndTheServerGoesOn) {
  Start();
  std::string huge = absl::StrCat("GET /healthz HTTP/1.1\r\nHost: x\r\nX-Pad: ",
                                  std::string(64 << 10, 'a'), "\r\n\r\n");
  std::string answer = Exchange("127.0.0.2", server_->port(), huge);
  EXPECT_THAT(answer, ::testing::Not(StartsWith("HTTP/1.1 200")));
  EXPECT_THAT(Get(server_->port(), "/healthz"), StartsWith("HTTP/1.1 200"));
}

TEST_F(AdminHttpServerTest, ListensOnlyWhereTold) {
  Start();
  EXPECT_EQ(
      Exchange("127.0.0.1", server_->port(), "GET /healthz HTTP/1.1\r\n\r\n"),
      "<refused>");
}

TEST_F(AdminHttpServerTest, StopClosesTheListener) {
  Start();
  const int port = server_->port();
  server_->Stop();
  server_->Stop();  // Idempotent.
  EXPECT_EQ(Get(port, "/healthz"), "<refused>");
}

TEST(AdminHttpServerStartTest, RefusesWhatItCannotServe) {
  for (const char* bad :
       {"unix:/tmp/admin.sock", "localhost:0", "nonsense", "127.0.0.1:99999"}) {
    AdminHttpOptions options;
    options.listen = bad;
    auto server = AdminHttpServer::Start(options, AdminHandlers());
    EXPECT_EQ(server.status().code(), absl::StatusCode::kInvalidArgument)
        << bad;
  }
  AdminHttpOptions first;
  first.listen = "127.0.0.2:0";
  auto a = AdminHttpServer::Start(first, AdminHandlers());
  ASSERT_TRUE(a.ok());
  AdminHttpOptions same;
  same.listen = absl::StrCat("127.0.0.2:", (*a)->port());
  auto b = AdminHttpServer::Start(same, AdminHandlers());
  EXPECT_EQ(b.status().code(), absl::StatusCode::kUnavailable);
}

}  // namespace
}  // namespace fgw
