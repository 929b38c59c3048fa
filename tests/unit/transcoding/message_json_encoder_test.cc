#include "server/transcoding/message_json_encoder.h"

#include "gtest/gtest.h"
#include "tests/unit/transcoding/test_api.h"

namespace fgw {
namespace {

using ::fgw::testing::NewMessage;

std::string Json(const std::string& type, const std::string& text) {
  auto m = NewMessage(type, text);
  auto json = MessageToJson(*m);
  EXPECT_TRUE(json.ok()) << json.status();
  return json.ok() ? *json : json.status().ToString();
}

absl::Status JsonError(const std::string& type, const std::string& text) {
  auto m = NewMessage(type, text);
  return MessageToJson(*m).status();
}

TEST(MessageJsonEncoderTest, BigintsAreBareNumbersDigitForDigit) {
  EXPECT_EQ(
      Json("Posting",
           "source: 'world' destination: 'users:001' "
           "amount: '340282366920938463463374607431768211457' asset: 'USD/2'"),
      R"({"source":"world","destination":"users:001",)"
      R"("amount":340282366920938463463374607431768211457,"asset":"USD/2"})");
  EXPECT_EQ(
      Json("Volume",
           "input: '10000000000000000000000000000000000000000' "
           "output: '0' balance: '-10000000000000000000000000000000000000000'"),
      R"({"input":10000000000000000000000000000000000000000,"output":0,)"
      R"("balance":-10000000000000000000000000000000000000000})");
  // Leading zeros are dropped; "-0" is 0.
  EXPECT_EQ(Json("Volume", "input: '007' output: '-0'"),
            R"({"input":7,"output":0})");
}

TEST(MessageJsonEncoderTest, MalformedBigintIsInvalidArgumentNamingTheField) {
  for (const char* bad : {"1.5", "1e3", "12a", "-", "+1", " 1", "0x10"}) {
    absl::Status s = JsonError("Posting", absl::StrCat("amount: '", bad, "'"));
    EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument) << bad;
    EXPECT_NE(s.message().find("field 'amount'"), absl::string_view::npos) << s;
  }
  // Required and empty.
  absl::Status empty = JsonError("Posting", "source: 'a'");
  EXPECT_EQ(empty.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(empty.message(),
            "field 'amount' (Posting): is required (empty integer)");
}

TEST(MessageJsonEncoderTest, BigintMapValuesAndRepeated) {
  EXPECT_EQ(Json("Account",
                 "address: 'a' balances {key: 'USD' value: "
                 "'340282366920938463463374607431768211457'} "
                 "balances {key: 'EUR' value: '-5'}"),
            R"({"address":"a","metadata":{},"balances":{"EUR":-5,)"
            R"("USD":340282366920938463463374607431768211457}})");
  EXPECT_EQ(
      Json("Payment",
           "reference: 'r' connector: CONNECTOR_STRIPE amount: '1' "
           "amounts: '10000000000000000000000000000000000000000' amounts: '2'"),
      R"({"reference":"r","connector":"STRIPE","amount":1,)"
      R"("amounts":[10000000000000000000000000000000000000000,2]})");
}

TEST(MessageJsonEncoderTest, RequiredFieldsAreAlwaysWritten) {
  EXPECT_EQ(Json("PostTransaction", ""), R"({"metadata":{}})");
  EXPECT_EQ(Json("Transaction", ""),
            R"({"id":0,"postings":[],"metadata":{},"reverted":false})");
  // A required message that is unset is written in its empty form.
  EXPECT_EQ(Json("BulkAddMetadata", ""), R"({"data":{"metadata":{}}})");
  EXPECT_EQ(Json("AccountsCursor", ""),
            R"({"pageSize":0,"hasMore":false,"data":[]})");
}

TEST(MessageJsonEncoderTest, OptionalPresenceAndDefaults) {
  EXPECT_EQ(Json("PostTransaction", "reference: ''"),
            R"({"metadata":{},"reference":""})");
  EXPECT_EQ(
      Json("Account", "address: 'a' first_usage: '' sequence: 0 ratio: 0"),
      R"({"address":"a","metadata":{},"firstUsage":""})");
  EXPECT_EQ(
      Json("Account", "address: 'a' sequence: 9223372036854775807 ratio: 0.1"),
      R"({"address":"a","metadata":{},"sequence":9223372036854775807,"ratio":0.1})");
  EXPECT_EQ(Json("Account", "address: 'a' ratio: 1e300"),
            R"({"address":"a","metadata":{},"ratio":1e300})");
  EXPECT_EQ(Json("Account", "address: 'a' ratio: 3"),
            R"({"address":"a","metadata":{},"ratio":3})");
}

TEST(MessageJsonEncoderTest, EnumsByWireValue) {
  EXPECT_EQ(
      Json("Payment",
           "reference: 'r' connector: CONNECTOR_DUMMY_PAY amount: '1' "
           "scheme: SCHEME_SEPA_DEBIT schemes: SCHEME_APPLE_PAY"),
      R"({"reference":"r","connector":"DUMMY-PAY","scheme":"sepa debit","amount":1,)"
      R"("schemes":["apple pay"]})");
  EXPECT_EQ(Json("Account", "address: 'a' state: MIGRATION_STATE_TO_DO"),
            R"({"address":"a","metadata":{},"state":"TO DO"})");
  absl::Status s = JsonError("Payment", "reference: 'r' amount: '1'");
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(
      s.message(),
      "field 'connector' (Payment): is required (enum value is UNSPECIFIED)");
}

TEST(MessageJsonEncoderTest, MapsSortedAndEscaped) {
  EXPECT_EQ(
      Json(
          "PostTransaction",
          R"(metadata {key: 'b' value: 'x"y'} metadata {key: 'a' value: '\n\u00e9'})"),
      "{\"metadata\":{\"a\":\"\\n\xc3\xa9\",\"b\":\"x\\\"y\"}}");
}

TEST(MessageJsonEncoderTest, BareMapsAndMapsOfMaps) {
  EXPECT_EQ(
      Json("Volumes",
           "volumes {key: 'USD' value {input: '1' output: '2' balance: '-1'}}"),
      R"({"USD":{"input":1,"output":2,"balance":-1}})");
  EXPECT_EQ(Json("AggregatedVolumes",
                 "accounts {key: 'world' value {volumes {key: 'USD' value "
                 "{input: '0' output: "
                 "'340282366920938463463374607431768211457'}}}} accounts {key: "
                 "'bank' value {}}"),
            R"({"bank":{},"world":{"USD":{"input":0,)"
            R"("output":340282366920938463463374607431768211457}}})");
}

TEST(MessageJsonEncoderTest, NullableNullsAreWrittenAsNull) {
  EXPECT_EQ(Json("Ledger",
                 "name: 'l' null_fields: 'deletedAt' null_fields: 'metadata'"),
            R"({"name":"l","deletedAt":null,"metadata":null})");
  EXPECT_EQ(Json("Ledger", "name: 'l' deleted_at: '2024-01-01T00:00:00Z'"),
            R"({"name":"l","deletedAt":"2024-01-01T00:00:00Z"})");
}

TEST(MessageJsonEncoderTest, StructIsFreeJson) {
  EXPECT_EQ(
      Json(
          "Ledger",
          "name: 'l' ledger_metadata { fields { key: 'z' value { number_value: "
          "100 } } "
          "fields { key: 'a' value { list_value { values { string_value: 's' } "
          "values { bool_value: true } values { null_value: NULL_VALUE } "
          "values { number_value: 1.5 } values { struct_value {} } } } } }"),
      R"({"name":"l","metadata":{"a":["s",true,null,1.5,{}],"z":100}})");
}

TEST(MessageJsonEncoderTest, DiscriminatedUnionWritesTheTagFirst) {
  EXPECT_EQ(
      Json("BulkElement",
           "create_transaction { ik: 'k1' data { postings { source: 'world' "
           "destination: "
           "'a' amount: '340282366920938463463374607431768211457' asset: 'USD' "
           "} } }"),
      R"({"action":"CREATE_TRANSACTION","ik":"k1","data":{"postings":[{"source":"world",)"
      R"("destination":"a","amount":340282366920938463463374607431768211457,)"
      R"("asset":"USD"}],"metadata":{}}})");
  // The member's own `action` field never duplicates the tag.
  EXPECT_EQ(
      Json("BulkElement",
           "add_metadata { action: BULK_ACTION_ADD_METADATA data { account: "
           "'a' } }"),
      R"({"action":"ADD_METADATA","data":{"account":"a","metadata":{}}})");
  absl::Status s = JsonError("BulkElement", "");
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(s.message(), "BulkElement: one member of 'element' must be set");
}

TEST(MessageJsonEncoderTest, NonDiscriminatedUnionWritesTheMemberInline) {
  EXPECT_EQ(Json("Evidence", "as_array { values { number_value: 1 } }"), "[1]");
  EXPECT_EQ(
      Json("Evidence",
           "as_object { fields { key: 'k' value { string_value: 'v' } } }"),
      R"({"k":"v"})");
  EXPECT_EQ(Json("AmountOrText",
                 "amount: '10000000000000000000000000000000000000000'"),
            "10000000000000000000000000000000000000000");
  EXPECT_EQ(Json("AmountOrText", "text: 'abc'"), R"("abc")");
  EXPECT_EQ(Json("QueryParams",
                 "transactions { resource: RESOURCE_TRANSACTIONS id: 3 }"),
            R"({"resource":"transactions","id":3})");
}

TEST(MessageJsonEncoderTest, BytesAreBase64) {
  EXPECT_EQ(
      Json("Payment",
           "reference: 'r' connector: CONNECTOR_STRIPE amount: '1' "
           "raw_bytes: '\\x00\\xff'"),
      R"({"reference":"r","connector":"STRIPE","amount":1,"rawBytes":"AP8="})");
}

TEST(MessageJsonEncoderTest, DeepNestingIsAnErrorNotACrash) {
  auto root = NewMessage("Node");
  google::protobuf::Message* m = root.get();
  const auto* child = m->GetDescriptor()->FindFieldByName("child");
  for (int i = 0; i < 100; ++i)
    m = m->GetReflection()->MutableMessage(m, child);
  absl::Status s = MessageToJson(*root).status();
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(s.message(), "message nests deeper than 64 levels");
  auto shallow = NewMessage("Node", "child { child { name: 'x' } }");
  EXPECT_EQ(*MessageToJson(*shallow), R"({"child":{"child":{"name":"x"}}})");
}

TEST(MessageJsonEncoderTest, FieldJson) {
  auto m = NewMessage(
      "CreateBulkRequest",
      "elements { add_metadata { data { account: 'a' } } } atomic: true");
  std::string out;
  ASSERT_TRUE(
      AppendFieldJson(*m, m->GetDescriptor()->FindFieldByName("elements"), &out)
          .ok());
  EXPECT_EQ(
      out,
      R"([{"action":"ADD_METADATA","data":{"account":"a","metadata":{}}}])");
}

}  // namespace
}  // namespace fgw
