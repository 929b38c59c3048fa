#include "server/util/status_details.h"

#include "gtest/gtest.h"

namespace fgw {
namespace {

TEST(StatusDetailsTest, ErrorInfoRoundTripsThroughWireFormat) {
  ErrorInfo info{
      "INSUFFICIENT_FUND", "ledger", {{"http_status", "400"}, {"a", "b"}}};
  auto parsed = ParseErrorInfo(SerializeErrorInfo(info));
  ASSERT_TRUE(parsed.has_value());
  EXPECT_EQ(parsed->reason, "INSUFFICIENT_FUND");
  EXPECT_EQ(parsed->domain, "ledger");
  EXPECT_EQ(parsed->metadata, info.metadata);
}

TEST(StatusDetailsTest, ErrorInfoWireFormatMatchesGoogleRpc) {
  // reason = 1 ("R"), domain = 2 ("d"): tags 0x0a and 0x12.
  EXPECT_EQ(SerializeErrorInfo({"R", "d", {}}), std::string("\x0a\x01R\x12\x01"
                                                            "d",
                                                            6));
}

TEST(StatusDetailsTest, HttpStatusPayload) {
  absl::Status s = WithHttpStatus(absl::NotFoundError("x"), 404);
  EXPECT_EQ(GetHttpStatus(s), 404);
  EXPECT_FALSE(GetHttpStatus(absl::NotFoundError("x")).has_value());
}

TEST(StatusDetailsTest, RpcStatusHoldsCodeMessageAndDetails) {
  absl::Status s = WithErrorInfo(absl::InvalidArgumentError("bad"),
                                 {"VALIDATION", "ledger", {}});
  s = WithHttpStatus(s, 400);
  std::string bytes = SerializeRpcStatusDetails(s);
  // code = 3 (INVALID_ARGUMENT), message "bad", one Any with the ErrorInfo type URL.
  EXPECT_EQ(bytes.substr(0, 7), std::string("\x08\x03\x12\x03"
                                            "bad",
                                            7));
  EXPECT_NE(bytes.find(kErrorInfoTypeUrl), std::string::npos);
  EXPECT_EQ(bytes.find(kHttpStatusPayload), std::string::npos);
}

TEST(StatusDetailsTest, NoDetailsGivesEmptyString) {
  EXPECT_EQ(
      SerializeRpcStatusDetails(WithHttpStatus(absl::InternalError("x"), 500)),
      "");
}

}  // namespace
}  // namespace fgw
