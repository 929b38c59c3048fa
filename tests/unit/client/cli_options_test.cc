// formance-grpc-cli's command line: grpcurl's -d / -H habits, method forms, usage errors.
#include "client/cli/cli_options.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace fgw::cli {
namespace {

using ::testing::ElementsAre;
using ::testing::Pair;

TEST(CliOptionsTest, GrpcurlStyleCall) {
  auto opts = ParseOptions(
      {"--addr=127.0.0.1:9", "-H", "Authorization: Bearer x", "-d",
       R"({"ledger":"main"})", "formance.ledger.v2.LedgerService/GetLedger"});
  ASSERT_TRUE(opts.ok()) << opts.status();
  EXPECT_EQ(opts->addr, "127.0.0.1:9");
  EXPECT_EQ(opts->command, "call");
  EXPECT_THAT(opts->args,
              ElementsAre("formance.ledger.v2.LedgerService/GetLedger"));
  EXPECT_EQ(opts->data, R"({"ledger":"main"})");
  EXPECT_THAT(opts->metadata, ElementsAre(Pair("authorization", "Bearer x")));
}

TEST(CliOptionsTest, CallWithPositionalJsonAndEqualsHeader) {
  auto opts = ParseOptions({"-H", "x-k=v", "--timeout", "3s", "call",
                            "ledger.v2.ListLedgers", "{}"});
  ASSERT_TRUE(opts.ok()) << opts.status();
  EXPECT_EQ(opts->command, "call");
  EXPECT_THAT(opts->args, ElementsAre("ledger.v2.ListLedgers"));
  EXPECT_EQ(opts->data, "{}");
  EXPECT_EQ(opts->timeout, absl::Seconds(3));
  EXPECT_THAT(opts->metadata, ElementsAre(Pair("x-k", "v")));
}

TEST(CliOptionsTest, DataFromStdin) {
  auto opts = ParseOptions({"-d", "@", "-plaintext", "a.B/C"});
  ASSERT_TRUE(opts.ok()) << opts.status();
  EXPECT_EQ(opts->data, "-");
}

TEST(CliOptionsTest, ListDescribeHealth) {
  auto list = ParseOptions({"list"});
  ASSERT_TRUE(list.ok());
  EXPECT_EQ(list->command, "list");
  EXPECT_TRUE(list->args.empty());
  EXPECT_EQ(list->addr, kDefaultAddr);
  auto health = ParseOptions(
      {"--addr=unix:/tmp/s", "health", "formance.ledger.v2.LedgerService"});
  ASSERT_TRUE(health.ok());
  EXPECT_EQ(health->command, "health");
  EXPECT_THAT(health->args, ElementsAre("formance.ledger.v2.LedgerService"));
  EXPECT_TRUE(ParseOptions({"describe", "x.Y"}).ok());
}

TEST(CliOptionsTest, UsageErrors) {
  EXPECT_FALSE(ParseOptions({}).ok());
  EXPECT_FALSE(ParseOptions({"describe"}).ok());
  EXPECT_FALSE(ParseOptions({"health", "a", "b"}).ok());
  EXPECT_FALSE(ParseOptions({"call"}).ok());
  EXPECT_FALSE(ParseOptions({"-d", "{}", "call", "a.B/C", "{}"}).ok());
  EXPECT_FALSE(ParseOptions({"--bogus", "list"}).ok());
  EXPECT_FALSE(ParseOptions({"-H", "novalue", "list"}).ok());
  EXPECT_FALSE(ParseOptions({"--timeout=soon", "list"}).ok());
  EXPECT_FALSE(ParseOptions({"-H"}).ok());
}

// gRPC aborts on these at call time: they must be refused before.
TEST(CliOptionsTest, IllegalMetadataIsAUsageError) {
  EXPECT_FALSE(ParseOptions({"-H", "bad key: v", "list"}).ok());
  EXPECT_FALSE(ParseOptions({"-H", "k\x01: v", "list"}).ok());
  EXPECT_FALSE(ParseOptions({"-H", "grpc-timeout: 1S", "list"}).ok());
  EXPECT_FALSE(ParseOptions({"-H", "k: v\x01", "list"}).ok());
  EXPECT_FALSE(ParseOptions({"-H", "k: caf\xc3\xa9", "list"}).ok());
  auto bin = ParseOptions({"-H", "trace-bin: \x01\x02", "list"});
  ASSERT_TRUE(bin.ok()) << bin.status();
  EXPECT_THAT(bin->metadata, ElementsAre(Pair("trace-bin", "\x01\x02")));
  EXPECT_TRUE(ParseOptions({"-H", "X-Request.Id_1: a b ~", "list"}).ok());
}

}  // namespace
}  // namespace fgw::cli
