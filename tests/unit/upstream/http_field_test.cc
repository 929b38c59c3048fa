#include "server/upstream/http_field.h"

#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace fgw {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

TEST(HttpFieldTest, TokensAreTchars) {
  EXPECT_TRUE(IsHttpToken("Idempotency-Key"));
  EXPECT_TRUE(IsHttpToken("x!#$%&'*+-.^_`|~9"));
  EXPECT_FALSE(IsHttpToken(""));
  EXPECT_FALSE(IsHttpToken("A B"));
  EXPECT_FALSE(IsHttpToken("A:B"));
  EXPECT_FALSE(IsHttpToken("A\r\nB"));
}

TEST(HttpFieldTest, FieldValuesAreVisibleAsciiWithInnerSpaces) {
  EXPECT_EQ(FirstInvalidFieldValueByte(""), std::nullopt);
  EXPECT_EQ(FirstInvalidFieldValueByte("W/\"abc\", \"def\""), std::nullopt);
  EXPECT_EQ(FirstInvalidFieldValueByte("Bearer a.b_c-d~e+f/g=="), std::nullopt);
  EXPECT_EQ(FirstInvalidFieldValueByte("a\rb"), 1u);
  EXPECT_EQ(FirstInvalidFieldValueByte("a\nb"), 1u);
  EXPECT_EQ(FirstInvalidFieldValueByte(std::string("a\0b", 3)), 1u);
  EXPECT_EQ(FirstInvalidFieldValueByte("caf\xc3\xa9"), 3u);
  EXPECT_EQ(FirstInvalidFieldValueByte("a\tb"), 1u);
  EXPECT_EQ(FirstInvalidFieldValueByte("\x7f"), 0u);
  EXPECT_EQ(FirstInvalidFieldValueByte(" a"), 0u);
  EXPECT_EQ(FirstInvalidFieldValueByte("a "), 1u);
  EXPECT_EQ(FirstInvalidFieldValueByte(" "), 0u);
}

TEST(HttpFieldTest, DotSegmentsInAnyEncoding) {
  for (const char* s : {".", "..", "%2E", "%2e", ".%2E", "%2e.", "%2E%2e"}) {
    EXPECT_TRUE(IsDotSegment(s)) << s;
  }
  for (const char* s :
       {"", "...", "a.", ".a", "%2E%2E%2E", "%2", "%2F", "users:001"}) {
    EXPECT_FALSE(IsDotSegment(s)) << s;
  }
}

TEST(HttpFieldTest, CheckFieldValueNamesTheFieldNeverTheValue) {
  absl::Status s =
      CheckFieldValue("field 'if_none_match' (header If-None-Match)",
                      "secret\r\nX-Evil: 1", 100);
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(s.message(), HasSubstr("field 'if_none_match'"));
  EXPECT_THAT(s.message(), HasSubstr("0x0D at offset 6"));
  EXPECT_THAT(s.message(), Not(HasSubstr("secret")));
  EXPECT_THAT(s.message(), Not(HasSubstr("Evil")));
  s = CheckFieldValue("header X", std::string(101, 'a'), 100);
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(s.message(), HasSubstr("101 bytes, over the limit of 100"));
  EXPECT_TRUE(CheckFieldValue("header X", std::string(100, 'a'), 100).ok());
}

HttpRequest Request(std::string target) {
  HttpRequest r;
  r.method = "GET";
  r.path_and_query = std::move(target);
  return r;
}

TEST(HttpFieldTest, OutgoingRequestTargets) {
  UpstreamLimits limits;
  EXPECT_TRUE(CheckOutgoingRequest(
                  Request("/api/ledger/v2/main/accounts/users:001?pageSize=2&"
                          "cursor=a%2Fb&x=%5B%5D"),
                  limits)
                  .ok());
  EXPECT_TRUE(CheckOutgoingRequest(Request("/api/search/"), limits).ok());
  for (const char* bad :
       {"", "x", "/a b", "/a\r\n", "/a#b", "/a%", "/a%4", "/a%G0", "/a/../b",
        "/a/./b", "/a/%2E%2E", "/a/..", "/a\"b", "/a<b>", "/a\\b", "/a{b}",
        "/a|b", "/\x80"}) {
    EXPECT_EQ(CheckOutgoingRequest(Request(bad), limits).code(),
              absl::StatusCode::kInvalidArgument)
        << bad;
  }
  // A dot segment only counts in the path, not in the query.
  EXPECT_TRUE(CheckOutgoingRequest(Request("/a?x=..&y=."), limits).ok());
  HttpRequest method = Request("/a");
  method.method = "GET /evil";
  EXPECT_FALSE(CheckOutgoingRequest(method, limits).ok());
}

TEST(HttpFieldTest, OutgoingRequestSizes) {
  UpstreamLimits limits;
  limits.max_request_target_bytes = 10;
  limits.max_request_header_bytes = 20;
  EXPECT_TRUE(CheckOutgoingRequest(Request("/123456789"), limits).ok());
  absl::Status s = CheckOutgoingRequest(Request("/1234567890"), limits);
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(s.message(), HasSubstr("max_request_target_bytes"));
  HttpRequest r = Request("/");
  r.headers = {{"A", "0123456789"}};  // 1 + 2 + 10 + 2 = 15 bytes.
  EXPECT_TRUE(CheckOutgoingRequest(r, limits).ok());
  r.headers.push_back({"B", "1"});  // 15 + 6 = 21.
  s = CheckOutgoingRequest(r, limits);
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(s.message(), HasSubstr("max_request_header_bytes"));
  EXPECT_THAT(s.message(), HasSubstr("at header B"));
}

TEST(HttpFieldTest, AuthorizationValueNeverAppearsInTheError) {
  HttpRequest r = Request("/");
  r.headers = {{"Authorization", "Bearer tok\r\nen"}};
  absl::Status s = CheckOutgoingRequest(r, UpstreamLimits());
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(s.message(), HasSubstr("header Authorization"));
  EXPECT_THAT(s.message(), Not(HasSubstr("tok")));
}

}  // namespace
}  // namespace fgw
