// formance-grpc-cli's error text: code names and the ErrorInfo from google.rpc.Status.
#include "client/cli/status_output.h"

#include "absl/status/status.h"
#include "gtest/gtest.h"
#include "server/util/status_details.h"

namespace fgw::cli {
namespace {

TEST(StatusOutputTest, CodeNames) {
  EXPECT_EQ(StatusCodeName(0), "OK");
  EXPECT_EQ(StatusCodeName(5), "NOT_FOUND");
  EXPECT_EQ(StatusCodeName(9), "FAILED_PRECONDITION");
  EXPECT_EQ(StatusCodeName(16), "UNAUTHENTICATED");
  EXPECT_EQ(StatusCodeName(17), "CODE(17)");
  EXPECT_EQ(StatusCodeName(-1), "CODE(-1)");
}

TEST(StatusOutputTest, PrintsErrorInfoFromTheRpcStatus) {
  ErrorInfo info{
      "INSUFFICIENT_FUND", "ledger.formance.com", {{"http_status", "400"}}};
  absl::Status status = WithDetail(
      WithErrorInfo(absl::FailedPreconditionError("not enough"), info),
      "formance.ledger.v2.V2ErrorResponse", "x");
  std::string details = SerializeRpcStatusDetails(status);
  ASSERT_FALSE(details.empty());
  auto found = FindErrorInfo(details);
  ASSERT_TRUE(found.has_value());
  EXPECT_EQ(found->reason, "INSUFFICIENT_FUND");
  EXPECT_EQ(FormatError(9, "not enough", details),
            "ERROR FAILED_PRECONDITION: not enough\n"
            "  reason: INSUFFICIENT_FUND\n"
            "  domain: ledger.formance.com\n"
            "  http_status: 400\n");
}

TEST(StatusOutputTest, NoOrMalformedDetails) {
  EXPECT_EQ(FormatError(5, "gone", ""), "ERROR NOT_FOUND: gone\n");
  EXPECT_FALSE(FindErrorInfo(std::string("\x1a\xff\x01", 3)).has_value());
  EXPECT_FALSE(FindErrorInfo("garbage that is not a message").has_value());
}

}  // namespace
}  // namespace fgw::cli
