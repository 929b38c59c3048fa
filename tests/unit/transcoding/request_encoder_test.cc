#include "server/transcoding/request_encoder.h"

#include "gtest/gtest.h"
#include "tests/unit/transcoding/test_api.h"

namespace fgw {
namespace {

using ::fgw::testing::NewMessage;
using ::fgw::testing::TestRoute;

HttpRequest Encode(const std::string& method, const std::string& type,
                   const std::string& text) {
  auto m = NewMessage(type, text);
  auto req = EncodeRequest(TestRoute(method), *m);
  EXPECT_TRUE(req.ok()) << req.status();
  return req.ok() ? *req : HttpRequest{};
}

TEST(RequestEncoderTest, CreateTransactionBodyHeaderAndQuery) {
  HttpRequest r = Encode(
      "CreateTransaction", "CreateTransactionRequest",
      "ledger: 'main' dry_run: true idempotency_key: 'ik-1' transaction { "
      "postings { source: 'world' destination: 'users:001' "
      "amount: '340282366920938463463374607431768211457' asset: 'USD/2' } }");
  EXPECT_EQ(r.method, "POST");
  EXPECT_EQ(r.path_and_query, "/api/ledger/v2/main/transactions?dryRun=true");
  EXPECT_EQ(
      r.body,
      R"({"postings":[{"source":"world","destination":"users:001",)"
      R"("amount":340282366920938463463374607431768211457,"asset":"USD/2"}],"metadata":{}})");
  EXPECT_EQ(r.headers, (HttpHeaders{{"Idempotency-Key", "ik-1"},
                                    {"Content-Type", "application/json"},
                                    {"Accept", "application/json"}}));
}

TEST(RequestEncoderTest, RequiredBodyIsAlwaysWritten) {
  HttpRequest r =
      Encode("CreateTransaction", "CreateTransactionRequest", "ledger: 'l'");
  EXPECT_EQ(r.path_and_query, "/api/ledger/v2/l/transactions");
  EXPECT_EQ(r.body, R"({"metadata":{}})");
  HttpRequest meta = Encode("AddMetadataOnAccount", "AddMetadataRequest",
                            "ledger: 'l' address: 'a'");
  EXPECT_EQ(meta.body, "{}");
}

TEST(RequestEncoderTest, PathParametersAreEncodedKeepingColons) {
  HttpRequest r =
      Encode("GetAccount", "GetAccountRequest",
             "ledger: 'my ledger' address: 'users:001/a b' expand: 'volumes' "
             "expand: 'effectiveVolumes' pit: '2024-01-01T00:00:00+01:00'");
  EXPECT_EQ(r.method, "GET");
  EXPECT_EQ(
      r.path_and_query,
      "/api/ledger/v2/my%20ledger/accounts/users:001%2Fa%20b"
      "?expand=volumes,effectiveVolumes&pit=2024-01-01T00%3A00%3A00%2B01%3A00");
  EXPECT_EQ(r.body, "");
  EXPECT_EQ(r.headers, (HttpHeaders{{"Accept", "application/json"}}));
}

TEST(RequestEncoderTest, MissingPathParameter) {
  auto m = NewMessage("GetAccountRequest", "ledger: 'l'");
  auto r = EncodeRequest(TestRoute("GetAccount"), *m);
  EXPECT_EQ(r.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(r.status().message(),
            "field 'address' is required (path parameter)");
}

TEST(RequestEncoderTest, QueryStyles) {
  HttpRequest r = Encode(
      "ListAccounts", "ListAccountsRequest",
      "ledger: 'l' page_size: 0 cursor: 'abc=' "
      "query { fields { key: '$match' value { struct_value { fields { key: "
      "'address' value { "
      "string_value: 'users:' } } } } } } "
      "sort: 'date:desc' sort: 'id' "
      "metadata { key: 'b' value: 'x y' } metadata { key: 'a' value: '1' } "
      "connector: CONNECTOR_DUMMY_PAY reverse: false pagination_token: 't' "
      "amount_min: '340282366920938463463374607431768211457'");
  EXPECT_EQ(r.path_and_query,
            "/api/ledger/v2/l/accounts?pageSize=0&cursor=abc%3D"
            "&query=%7B%22%24match%22%3A%7B%22address%22%3A%22users%3A%22%7D%7D"
            "&sort=date%3Adesc&sort=id&metadata%5Ba%5D=1&metadata%5Bb%5D=x%20y&"
            "connector=DUMMY-PAY"
            "&reverse=false&pagination_token=t"
            "&amountMin=340282366920938463463374607431768211457");
  // Nothing set: no query string at all.
  EXPECT_EQ(Encode("ListAccounts", "ListAccountsRequest", "ledger: 'l'")
                .path_and_query,
            "/api/ledger/v2/l/accounts");
}

TEST(RequestEncoderTest, HeadRequest) {
  HttpRequest r =
      Encode("CountAccounts", "CountAccountsRequest", "ledger: 'l'");
  EXPECT_EQ(r.method, "HEAD");
  EXPECT_EQ(r.path_and_query, "/api/ledger/v2/l/accounts");
}

TEST(RequestEncoderTest, BulkArrayBodyWithDiscriminatedUnion) {
  HttpRequest r =
      Encode("CreateBulk", "CreateBulkRequest",
             "ledger: 'l' atomic: true elements { create_transaction { data { "
             "postings { source: 'w' "
             "destination: 'a' amount: "
             "'10000000000000000000000000000000000000000' asset: 'USD' } } } } "
             "elements { add_metadata { data { account: 'a' metadata { key: "
             "'k' value: 'v' } } } }");
  EXPECT_EQ(r.path_and_query, "/api/ledger/v2/l/_bulk?atomic=true");
  EXPECT_EQ(
      r.body,
      R"([{"action":"CREATE_TRANSACTION","data":{"postings":[{"source":"w","destination":"a",)"
      R"("amount":10000000000000000000000000000000000000000,"asset":"USD"}],"metadata":{}}},)"
      R"({"action":"ADD_METADATA","data":{"account":"a","metadata":{"k":"v"}}}])");
  EXPECT_EQ(Encode("CreateBulk", "CreateBulkRequest", "ledger: 'l'").body,
            "[]");
}

TEST(RequestEncoderTest, BareMapBody) {
  HttpRequest r = Encode(
      "AddMetadataOnAccount", "AddMetadataRequest",
      "ledger: 'l' address: 'users:001' idempotency_key: 'k' "
      "metadata { key: 'z' value: '1' } metadata { key: 'a' value: '2' }");
  EXPECT_EQ(r.path_and_query, "/api/ledger/v2/l/accounts/users:001/metadata");
  EXPECT_EQ(r.body, R"({"a":"2","z":"1"})");
}

TEST(RequestEncoderTest, OctetStreamBody) {
  HttpRequest r = Encode("ImportLogs", "ImportLogsRequest",
                         "ledger: 'l' data: 'line1\\nline2\\000'");
  EXPECT_EQ(r.body, std::string("line1\nline2\0", 12));
  EXPECT_EQ(r.headers,
            (HttpHeaders{{"Content-Type", "application/octet-stream"},
                         {"Accept", "application/json"}}));
}

TEST(RequestEncoderTest, AcceptOverride) {
  HttpRequest r = Encode("ExportLogs", "ExportLogsRequest", "ledger: 'l'");
  EXPECT_EQ(r.path_and_query, "/api/ledger/v2/l/logs/export");
  EXPECT_EQ(r.body, "");
  EXPECT_EQ(r.headers, (HttpHeaders{{"Accept", "*/*"}}));
}

TEST(RequestEncoderTest, WholeMessageBody) {
  HttpRequest r = Encode("CreatePayment", "CreatePaymentRequest",
                         "reference: 'r 1' connector: CONNECTOR_DUMMY_PAY "
                         "scheme: SCHEME_SEPA_DEBIT "
                         "amount: '-340282366920938463463374607431768211457' "
                         "idempotency_key: 'k' dry_run: true");
  EXPECT_EQ(r.path_and_query, "/api/payments/v3/payments?dryRun=true");
  EXPECT_EQ(
      r.body,
      R"({"reference":"r 1","connector":"DUMMY-PAY","scheme":"sepa debit",)"
      R"("amount":-340282366920938463463374607431768211457})");
  EXPECT_EQ(r.headers, (HttpHeaders{{"Idempotency-Key", "k"},
                                    {"Content-Type", "application/json"},
                                    {"Accept", "application/json"}}));
  HttpRequest search = Encode("Search", "GetMetricsRequest", "");
  EXPECT_EQ(search.path_and_query, "/api/search/");
  EXPECT_EQ(search.body, "{}");
}

TEST(RequestEncoderTest, InvalidValuesAreInvalidArgument) {
  auto bad_amount =
      NewMessage("CreatePaymentRequest",
                 "reference: 'r' connector: CONNECTOR_STRIPE amount: '1.5'");
  auto r = EncodeRequest(TestRoute("CreatePayment"), *bad_amount);
  EXPECT_EQ(r.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(r.status().message().find("field 'amount'"),
            absl::string_view::npos);
  auto bad_query =
      NewMessage("ListAccountsRequest", "ledger: 'l' amount_min: 'x'");
  EXPECT_EQ(
      EncodeRequest(TestRoute("ListAccounts"), *bad_query).status().code(),
      absl::StatusCode::kInvalidArgument);
  auto wrong_type = NewMessage("GetLedgerRequest", "ledger: 'l'");
  EXPECT_EQ(
      EncodeRequest(TestRoute("ListAccounts"), *wrong_type).status().code(),
      absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace fgw
