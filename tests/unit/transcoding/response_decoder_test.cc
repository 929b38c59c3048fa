#include "server/transcoding/response_decoder.h"

#include "gtest/gtest.h"
#include "tests/unit/transcoding/test_api.h"

namespace fgw {
namespace {

using ::fgw::testing::NewMessage;
using ::fgw::testing::TestRoute;
using ::fgw::testing::Text;

std::string Decode(const std::string& method, const std::string& type,
                   HttpResponse response) {
  auto m = NewMessage(type);
  absl::Status s = DecodeResponse(TestRoute(method), response, m.get());
  if (!s.ok()) return s.ToString();
  return Text(*m);
}

TEST(ResponseDecoderTest, DataWrapperAndIdempotencyHitHeader) {
  HttpResponse r{
      200,
      {{"idempotency-hit", "true"}, {"Content-Type", "application/json"}},
      R"({"data":{"id":12,"postings":[{"source":"world","destination":"a",)"
      R"("amount":340282366920938463463374607431768211457,"asset":"USD"}],)"
      R"("metadata":{},"reverted":false,"insertedAt":"2024-01-01T00:00:00Z"}})"};
  EXPECT_EQ(
      Decode("CreateTransaction", "CreateTransactionResponse", r),
      "data { id: 12 postings { source: \"world\" destination: \"a\" amount: "
      "\"340282366920938463463374607431768211457\" asset: \"USD\" } } "
      "idempotency_hit: true ");
}

TEST(ResponseDecoderTest, CursorWrapper) {
  HttpResponse r{
      200,
      {},
      R"({"cursor":{"pageSize":2,"hasMore":true,"next":"n1","data":[)"
      R"({"address":"users:001","metadata":{"k":"v"},"volumes":{"USD":)"
      R"({"input":10000000000000000000000000000000000000000,"output":0,)"
      R"("balance":10000000000000000000000000000000000000000}}}]}})"};
  EXPECT_EQ(
      Decode("ListAccounts", "ListAccountsResponse", r),
      "cursor { page_size: 2 has_more: true next: \"n1\" data { address: "
      "\"users:001\" "
      "metadata { key: \"k\" value: \"v\" } volumes { key: \"USD\" value { "
      "input: "
      "\"10000000000000000000000000000000000000000\" output: \"0\" balance: "
      "\"10000000000000000000000000000000000000000\" } } } } ");
}

TEST(ResponseDecoderTest, CountHeaderOnHead) {
  HttpResponse r{200,
                 {{"Count", "340282366920938463463374607431768211457"},
                  {"X-Count-Int", "42"}},
                 ""};
  EXPECT_EQ(
      Decode("CountAccounts", "CountAccountsResponse", r),
      "count: \"340282366920938463463374607431768211457\" count_int: 42 ");
  HttpResponse bad{200, {{"Count", "many"}}, ""};
  EXPECT_EQ(
      Decode("CountAccounts", "CountAccountsResponse", bad),
      "INTERNAL: upstream response header Count does not fit field 'count'");
}

TEST(ResponseDecoderTest, EmptyAnd204) {
  EXPECT_EQ(
      Decode("AddMetadataOnAccount", "AddMetadataResponse", {204, {}, ""}), "");
  EXPECT_EQ(Decode("AddMetadataOnAccount", "AddMetadataResponse",
                   {204, {}, "ignored"}),
            "");
  EXPECT_EQ(Decode("GetWallet", "GetWalletResponse", {404, {}, "  \n"}), "");
}

TEST(ResponseDecoderTest, ResponseBodyFields) {
  EXPECT_EQ(Decode("ExportLogs", "ExportLogsResponse",
                   {200, {}, std::string("\x01{raw", 5)}),
            "data: \"\\001{raw\" ");
  EXPECT_EQ(Decode("GetMetrics", "GetMetricsResponse",
                   {200, {}, R"({"a":1,"b":"x"})"}),
            "metrics { key: \"a\" value { number_value: 1 } } metrics { key: "
            "\"b\" value { "
            "string_value: \"x\" } } ");
  EXPECT_EQ(
      Decode("ListVolumes", "ListVolumesResponse",
             {200, {}, R"([{"input":1,"output":2},{"input":3,"output":4}])"}),
      "volumes { input: \"1\" output: \"2\" } volumes { input: \"3\" output: "
      "\"4\" } ");
}

TEST(ResponseDecoderTest, MapOfMapsAndNullable) {
  EXPECT_EQ(
      Decode("GetAggregatedBalances", "GetAggregatedBalancesResponse",
             {200, {}, R"({"data":{"world":{"USD":{"input":1,"output":2}}}})"}),
      "data { accounts { key: \"world\" value { volumes { key: \"USD\" value { "
      "input: \"1\" "
      "output: \"2\" } } } } } ");
  EXPECT_EQ(
      Decode(
          "GetLedger", "GetLedgerResponse",
          {200,
           {},
           R"({"data":{"name":"l","deletedAt":null,"metadata":{"a":"b"}}})"}),
      "data { name: \"l\" ledger_metadata { fields { key: \"a\" value { "
      "string_value: "
      "\"b\" } } } null_fields: \"deletedAt\" } ");
}

TEST(ResponseDecoderTest, MalformedJson) {
  EXPECT_EQ(Decode("GetLedger", "GetLedgerResponse",
                   {200, {}, R"({"data": {"name": "top-secret")"}),
            "INTERNAL: malformed upstream JSON at offset 30: Missing a comma "
            "or '}' after an "
            "object member.");
  EXPECT_EQ(Decode("GetLedger", "GetLedgerResponse", {200, {}, "<html>"}),
            "INTERNAL: malformed upstream JSON at offset 0: Invalid value.");
}

TEST(ResponseDecoderTest, WrongMessageType) {
  auto m = NewMessage("GetAccountResponse");
  EXPECT_EQ(
      DecodeResponse(TestRoute("GetLedger"), {200, {}, "{}"}, m.get()).code(),
      absl::StatusCode::kInternal);
}

}  // namespace
}  // namespace fgw
