#include "server/util/status_details.h"

#include "absl/strings/str_cat.h"
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

TEST(StatusDetailsTest, TruncateUtf8NeverSplitsASequence) {
  EXPECT_EQ(TruncateUtf8("abc", 3), "abc");
  EXPECT_EQ(TruncateUtf8("abcd", 3), "abc...");
  EXPECT_EQ(TruncateUtf8("a\xc3\xa9", 2), "a...");  // Not "a\xc3".
  EXPECT_EQ(TruncateUtf8("", 0), "");
}

TEST(StatusDetailsTest, BoundedDetailsKeepErrorInfoFirstAndNameWhatWasLeftOut) {
  ErrorInfo info{"INSUFFICIENT_FUND", "ledger", {{"http_status", "400"}}};
  absl::Status small =
      WithDetail(WithErrorInfo(absl::InvalidArgumentError("m"), info),
                 "formance.ledger.v2.V2BulkResponse", "abc");
  // Within the budget: the same bytes as the unbounded form, whatever the order.
  EXPECT_EQ(SerializeBoundedRpcStatusDetails(small).size(),
            SerializeRpcStatusDetails(small).size());

  absl::Status big = WithDetail(
      WithErrorInfo(absl::InvalidArgumentError(std::string(5000, 'm')), info),
      "formance.ledger.v2.V2BulkResponse", std::string(10000, 'b'));
  std::string bytes = SerializeBoundedRpcStatusDetails(big, 2000);
  EXPECT_LE(bytes.size(), 2000u);
  EXPECT_NE(bytes.find("INSUFFICIENT_FUND"), std::string::npos);
  EXPECT_NE(bytes.find("omitted_details"), std::string::npos);
  EXPECT_NE(bytes.find("V2BulkResponse (10000 bytes)"), std::string::npos);
  EXPECT_EQ(bytes.find(std::string(100, 'b')), std::string::npos);
}

TEST(StatusDetailsTest, BoundedDetailsCutAHostileErrorInfo) {
  ErrorInfo info{std::string(50000, 'R'), std::string(300, 'd'), {}};
  for (int i = 0; i < 100; ++i) {
    info.metadata[absl::StrCat("key", i)] = std::string(1000, 'v');
  }
  absl::Status s = WithErrorInfo(absl::InvalidArgumentError("x"), info);
  std::string bytes = SerializeBoundedRpcStatusDetails(s);
  EXPECT_LE(bytes.size(), kMaxStatusDetailsBytes);
  EXPECT_NE(bytes.find(std::string(128, 'R')), std::string::npos);
  EXPECT_EQ(bytes.find(std::string(129, 'R')), std::string::npos);
  EXPECT_NE(bytes.find("key0"),
            std::string::npos);  // Some metadata still fits.
}

}  // namespace
}  // namespace fgw
