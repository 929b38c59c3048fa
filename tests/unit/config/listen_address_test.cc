#include "server/config/listen_address.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace fgw {
namespace {

using ::testing::HasSubstr;

TEST(ListenAddressTest, ParsesTheAcceptedForms) {
  auto v4 = ParseListenAddress("127.0.0.1:50051");
  ASSERT_TRUE(v4.ok());
  EXPECT_EQ(v4->host, "127.0.0.1");
  EXPECT_EQ(v4->port, 50051);
  EXPECT_EQ(v4->ToGrpcUri(), "127.0.0.1:50051");

  auto v6 = ParseListenAddress("[::]:0");
  ASSERT_TRUE(v6.ok());
  EXPECT_EQ(v6->host, "::");
  EXPECT_EQ(v6->port, 0);
  EXPECT_EQ(v6->ToGrpcUri(), "[::]:0");

  auto name = ParseListenAddress("localhost:8080");
  ASSERT_TRUE(name.ok());
  EXPECT_EQ(name->host, "localhost");

  auto unix_socket = ParseListenAddress("unix:/run/fgw.sock");
  ASSERT_TRUE(unix_socket.ok());
  EXPECT_EQ(unix_socket->kind, ListenAddress::Kind::kUnix);
  EXPECT_EQ(unix_socket->path, "/run/fgw.sock");
  EXPECT_EQ(unix_socket->ToGrpcUri(), "unix:/run/fgw.sock");
}

TEST(ListenAddressTest, RejectsWithTheAddressAndTheReason) {
  struct Case {
    const char* address;
    const char* reason;
  } cases[] = {{"", "empty"},
               {"50051", "missing :port"},
               {":50051", "missing host"},
               {"host:", "port must be"},
               {"host:-1", "port must be"},
               {"host:65536", "port must be"},
               {"host:+80", "port must be"},
               {"::1:80", "brackets"},
               {"[::1:80", "unclosed"},
               {"[::1]80", "missing :port"},
               {"unix:", "absolute path"},
               {"unix:rel.sock", "absolute path"},
               {"ho st:80", "invalid character"}};
  for (const Case& c : cases) {
    auto parsed = ParseListenAddress(c.address);
    ASSERT_FALSE(parsed.ok()) << c.address;
    EXPECT_EQ(parsed.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_THAT(parsed.status().message(), HasSubstr(c.reason)) << c.address;
    EXPECT_THAT(parsed.status().message(),
                HasSubstr(std::string("\"") + c.address + "\""));
  }
}

}  // namespace
}  // namespace fgw

namespace fgw {
namespace {

TEST(ListenAddressTest, IsLoopback) {
  for (const char* a : {"127.0.0.1:1", "127.1.2.3:1", "localhost:1", "[::1]:1",
                        "unix:/run/fgw.sock"}) {
    auto addr = ParseListenAddress(a);
    ASSERT_TRUE(addr.ok()) << a;
    EXPECT_TRUE(addr->IsLoopback()) << a;
  }
  for (const char* a : {"0.0.0.0:1", "[::]:1", "10.0.0.1:1", "127.0.0.1.evil:1",
                        "127.0.0.256:1", "gateway.internal:1", "128.0.0.1:1"}) {
    auto addr = ParseListenAddress(a);
    ASSERT_TRUE(addr.ok()) << a;
    EXPECT_FALSE(addr->IsLoopback()) << a;
  }
}

}  // namespace
}  // namespace fgw
