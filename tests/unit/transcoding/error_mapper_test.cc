#include "server/transcoding/error_mapper.h"

#include "gtest/gtest.h"
#include "server/util/status_details.h"
#include "tests/unit/transcoding/test_api.h"

namespace fgw {
namespace {

using ::fgw::testing::NewMessage;
using ::fgw::testing::TestApi;
using ::fgw::testing::TestRoute;
using ::fgw::testing::Text;

absl::Status Map(const std::string& method, int status,
                 const std::string& body) {
  return MapHttpError(TestRoute(method), HttpResponse{status, {}, body},
                      TestApi());
}

std::optional<ErrorInfo> InfoOf(const absl::Status& s) {
  auto payload = s.GetPayload(kErrorInfoTypeUrl);
  if (!payload.has_value()) return std::nullopt;
  return ParseErrorInfo(std::string(*payload));
}

TEST(ErrorMapperTest, IsSuccess) {
  EXPECT_TRUE(IsSuccess(TestRoute("GetLedger"), 200));
  EXPECT_TRUE(IsSuccess(TestRoute("GetLedger"), 204));
  EXPECT_FALSE(IsSuccess(TestRoute("GetLedger"), 404));
  EXPECT_FALSE(IsSuccess(TestRoute("GetLedger"), 304));
  EXPECT_TRUE(IsSuccess(TestRoute("GetWallet"), 404));
}

TEST(ErrorMapperTest, StatusTable) {
  struct Case {
    int http;
    const char* method;
    const char* error_code;
    absl::StatusCode code;
  };
  const Case cases[] = {
      {400, "GetLedger", "VALIDATION", absl::StatusCode::kInvalidArgument},
      {401, "GetLedger", "", absl::StatusCode::kUnauthenticated},
      {403, "GetLedger", "", absl::StatusCode::kPermissionDenied},
      {404, "GetLedger", "NOT_FOUND", absl::StatusCode::kNotFound},
      {405, "GetLedger", "", absl::StatusCode::kUnimplemented},
      {408, "GetLedger", "", absl::StatusCode::kDeadlineExceeded},
      {409, "CreateTransaction", "CONFLICT", absl::StatusCode::kAlreadyExists},
      {409, "CreateTransaction", "LEDGER_ALREADY_EXISTS",
       absl::StatusCode::kAlreadyExists},
      {409, "CreateTransaction", "", absl::StatusCode::kAborted},
      {409, "GetLedger", "CONFLICT", absl::StatusCode::kAborted},
      {412, "GetLedger", "", absl::StatusCode::kFailedPrecondition},
      {418, "GetLedger", "", absl::StatusCode::kFailedPrecondition},
      {422, "GetLedger", "", absl::StatusCode::kInvalidArgument},
      {429, "GetLedger", "", absl::StatusCode::kResourceExhausted},
      {499, "GetLedger", "", absl::StatusCode::kCancelled},
      {500, "GetLedger", "INTERNAL", absl::StatusCode::kInternal},
      {501, "GetLedger", "", absl::StatusCode::kUnimplemented},
      {502, "GetLedger", "", absl::StatusCode::kUnavailable},
      {503, "GetLedger", "", absl::StatusCode::kUnavailable},
      {504, "GetLedger", "", absl::StatusCode::kUnavailable},
      {507, "GetLedger", "", absl::StatusCode::kInternal},
      {302, "GetLedger", "", absl::StatusCode::kFailedPrecondition},
      {307, "CreateTransaction", "", absl::StatusCode::kFailedPrecondition},
      {101, "GetLedger", "", absl::StatusCode::kUnknown},
  };
  for (const Case& c : cases) {
    std::string body = *c.error_code == '\0'
                           ? ""
                           : absl::StrCat(R"({"errorCode":")", c.error_code,
                                          R"(","errorMessage":"m"})");
    absl::Status s = Map(c.method, c.http, body);
    EXPECT_EQ(s.code(), c.code)
        << c.http << " " << c.method << " " << c.error_code;
    EXPECT_EQ(GetHttpStatus(s), c.http);
  }
}

TEST(ErrorMapperTest, RedirectIsRefusedNamingTheLocation) {
  absl::Status s = MapHttpError(
      TestRoute("CreateTransaction"),
      HttpResponse{302, {{"Location", "http://127.0.0.2:9/collect"}}, "moved"},
      TestApi());
  EXPECT_EQ(s.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_NE(s.message().find("never follows redirects"),
            absl::string_view::npos)
      << s;
  EXPECT_NE(s.message().find("Location: http://127.0.0.2:9/collect"),
            absl::string_view::npos)
      << s;
  EXPECT_EQ(InfoOf(s)->reason, "HTTP_302");
}

TEST(ErrorMapperTest, HugeErrorCodeIsCutNotPassedOn) {
  const std::string code(20000, 'X');
  absl::Status s =
      Map("GetLedger", 400,
          R"({"errorCode":")" + code + R"(","errorMessage":"bad"})");
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_LT(s.message().size(), 300u);
  EXPECT_LE(InfoOf(s)->reason.size(), 131u);
}

TEST(ErrorMapperTest, FormanceErrorBody) {
  absl::Status s =
      Map("GetLedger", 404,
          R"({"errorCode":"NOT_FOUND","errorMessage":"ledger not found",)"
          R"("details":"https://play.numscript.org/?payload=x"})");
  EXPECT_EQ(s.code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(s.message(), "ledger 404: NOT_FOUND: ledger not found");
  auto info = InfoOf(s);
  ASSERT_TRUE(info.has_value());
  EXPECT_EQ(info->reason, "NOT_FOUND");
  EXPECT_EQ(info->domain, "ledger");
  EXPECT_EQ(info->metadata,
            (std::map<std::string, std::string>{
                {"details", "https://play.numscript.org/?payload=x"},
                {"http_status", "404"},
                {"operation_id", "v2GetLedger"}}));
}

TEST(ErrorMapperTest, NonJsonBodyIsNeverQuoted) {
  absl::Status s =
      Map("CreatePayment", 502, "<html>secret upstream page</html>");
  EXPECT_EQ(s.code(), absl::StatusCode::kUnavailable);
  EXPECT_EQ(s.message(), "payments 502 Bad Gateway");
  auto info = InfoOf(s);
  ASSERT_TRUE(info.has_value());
  EXPECT_EQ(info->reason, "HTTP_502");
  EXPECT_EQ(info->domain, "payments");
  EXPECT_EQ(info->metadata.at("http_status"), "502");
  EXPECT_EQ(info->metadata.count("details"), 0u);
  EXPECT_EQ(Map("GetLedger", 599, "").message(), "ledger 599");
}

TEST(ErrorMapperTest, PartialBodiesAndStructuredDetails) {
  EXPECT_EQ(Map("GetLedger", 400, R"({"errorMessage":"bad"})").message(),
            "ledger 400: bad");
  EXPECT_EQ(Map("GetLedger", 400, R"({"errorCode":"VALIDATION"})").message(),
            "ledger 400: VALIDATION");
  absl::Status s = Map(
      "GetLedger", 400,
      R"({"errorCode":"VALIDATION","errorMessage":"x","details":{"a":[1,2]}})");
  EXPECT_EQ(InfoOf(s)->metadata.at("details"), R"({"a":[1,2]})");
  std::string long_message(2000, 'm');
  s = Map("GetLedger", 400,
          absl::StrCat(R"({"errorCode":"V","errorMessage":")", long_message,
                       R"(","details":")", std::string(3000, 'd'), R"("})"));
  EXPECT_EQ(s.message().size(),
            std::string("ledger 400: V: ").size() + 512 + 3);
  EXPECT_EQ(InfoOf(s)->metadata.at("details").size(), 1024u + 3);
}

TEST(ErrorMapperTest, DeclaredBodyIsAttached) {
  absl::Status s = Map(
      "CreateBulk", 400,
      R"({"errorCode":"VALIDATION","errorMessage":"element 1 failed","data":[)"
      R"({"responseType":"CREATE_TRANSACTION","data":{"id":1,"postings":[],)"
      R"("metadata":{},"reverted":false}},)"
      R"({"responseType":"ERROR","errorCode":"INSUFFICIENT_FUND"}]})");
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(s.message(), "ledger 400: VALIDATION: element 1 failed");
  auto payload = s.GetPayload("type.googleapis.com/fgw.test.BulkResponse");
  ASSERT_TRUE(payload.has_value());
  auto body = NewMessage("BulkResponse");
  ASSERT_TRUE(body->ParseFromString(std::string(*payload)));
  EXPECT_EQ(
      Text(*body),
      "data { response_type: \"CREATE_TRANSACTION\" data { id: 1 } } data { "
      "response_type: \"ERROR\" error_code: \"INSUFFICIENT_FUND\" } "
      "error_code: "
      "\"VALIDATION\" error_message: \"element 1 failed\" ");
  // Another status: no declared body.
  EXPECT_FALSE(Map("CreateBulk", 500, R"({"errorCode":"X","errorMessage":"y"})")
                   .GetPayload("type.googleapis.com/fgw.test.BulkResponse")
                   .has_value());
  // A declared body that does not parse is left out, the status stays.
  absl::Status bad = Map("CreateBulk", 400, "{oops");
  EXPECT_EQ(bad.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_FALSE(
      bad.GetPayload("type.googleapis.com/fgw.test.BulkResponse").has_value());
}

}  // namespace
}  // namespace fgw
