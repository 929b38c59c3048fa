#include "server/transcoding/message_json_decoder.h"

#include "gtest/gtest.h"
#include "server/transcoding/message_json_encoder.h"
#include "tests/unit/transcoding/test_api.h"

namespace fgw {
namespace {

using ::fgw::testing::NewMessage;
using ::fgw::testing::Text;

// Decodes `json` into a fgw.test.<type> and returns its text format (or the error).
std::string Decode(const std::string& type, const std::string& json) {
  auto m = NewMessage(type);
  absl::Status s = JsonToMessage(json, m.get());
  if (!s.ok()) return s.ToString();
  return Text(*m);
}

absl::Status DecodeError(const std::string& type, const std::string& json) {
  auto m = NewMessage(type);
  return JsonToMessage(json, m.get());
}

TEST(MessageJsonDecoderTest, BigintsDigitForDigit) {
  EXPECT_EQ(Decode("Volume",
                   R"({"input":340282366920938463463374607431768211457,)"
                   R"("output":10000000000000000000000000000000000000000,)"
                   R"("balance":-340282366920938463463374607431768211457})"),
            "input: \"340282366920938463463374607431768211457\" "
            "output: \"10000000000000000000000000000000000000000\" "
            "balance: \"-340282366920938463463374607431768211457\" ");
  // Integers written with a fraction or exponent; numeric strings.
  EXPECT_EQ(
      Decode("Volume", R"({"input":1.0e3,"output":"00042","balance":1E+40})"),
      "input: \"1000\" output: \"42\" "
      "balance: \"10000000000000000000000000000000000000000\" ");
  absl::Status s = DecodeError("Volume", R"({"input":1.5})");
  EXPECT_EQ(s.code(), absl::StatusCode::kInternal);
  EXPECT_EQ(s.message(),
            "upstream JSON at input: upstream sent a non-integer number for an "
            "integer field");
}

TEST(MessageJsonDecoderTest, RoundTripsThroughTheEncoder) {
  const std::string json =
      R"({"action":"CREATE_TRANSACTION","ik":"k","data":{"postings":[{"source":"world",)"
      R"("destination":"users:001","amount":340282366920938463463374607431768211457,)"
      R"("asset":"USD"}],"metadata":{"a":"1","b":""}}})";
  auto m = NewMessage("BulkElement");
  ASSERT_TRUE(JsonToMessage(json, m.get()).ok());
  EXPECT_EQ(*MessageToJson(*m), json);
}

TEST(MessageJsonDecoderTest, ScalarsEnumsAndUnknownProperties) {
  EXPECT_EQ(
      Decode("Account",
             R"({"address":"a","unknown":{"deep":[1,2,{"x":null}]},)"
             R"("sequence":"9223372036854775807","ratio":0.1,"state":"TO DO",)"
             R"("firstUsage":"2024"})"),
      "address: \"a\" first_usage: \"2024\" sequence: 9223372036854775807 "
      "ratio: 0.1 "
      "state: MIGRATION_STATE_TO_DO ");
  // Unknown enum strings read as UNSPECIFIED (singular) or are dropped (repeated).
  EXPECT_EQ(Decode("Payment", R"({"connector":"NEW-ONE","scheme":"sepa debit",)"
                              R"("schemes":["x","apple pay"]})"),
            "scheme: SCHEME_SEPA_DEBIT schemes: SCHEME_APPLE_PAY ");
  EXPECT_EQ(
      DecodeError("Account", R"({"sequence":9223372036854775808})").message(),
      "upstream JSON at sequence: integer out of range for the field's type");
  EXPECT_EQ(
      DecodeError("Account", R"({"address":1.5e3,"metadata":[1]})").message(),
      "upstream JSON at metadata: expected an object, got array");
}

TEST(MessageJsonDecoderTest, NullableNullIsKeptApartFromAbsent) {
  EXPECT_EQ(
      Decode("Ledger",
             R"({"name":"l","deletedAt":null,"metadata":null,"bucket":null})"),
      "name: \"l\" null_fields: \"deletedAt\" null_fields: \"metadata\" ");
  EXPECT_EQ(Decode("Ledger", R"({"name":"l"})"), "name: \"l\" ");
  // And back.
  auto m = NewMessage("Ledger");
  ASSERT_TRUE(JsonToMessage(R"({"name":"l","deletedAt":null})", m.get()).ok());
  EXPECT_EQ(*MessageToJson(*m), R"({"name":"l","deletedAt":null})");
}

TEST(MessageJsonDecoderTest, BareMapsAndMapsOfMaps) {
  EXPECT_EQ(
      Decode(
          "AggregatedVolumes",
          R"({"world":{"USD":{"input":0,"output":340282366920938463463374607431768211457,)"
          R"("balance":-340282366920938463463374607431768211457}}})"),
      "accounts { key: \"world\" value { volumes { key: \"USD\" value { input: "
      "\"0\" "
      "output: \"340282366920938463463374607431768211457\" "
      "balance: \"-340282366920938463463374607431768211457\" } } } } ");
  EXPECT_EQ(
      Decode(
          "Account",
          R"({"balances":{"USD":10000000000000000000000000000000000000000}})"),
      "balances { key: \"USD\" value: "
      "\"10000000000000000000000000000000000000000\" } ");
}

TEST(MessageJsonDecoderTest, StructNumbersAreDoubles) {
  EXPECT_EQ(
      Decode(
          "Ledger",
          R"({"metadata":{"n":12345678901234567890,"s":"x","l":[true,null]}})"),
      "ledger_metadata { fields { key: \"l\" value { list_value { values { "
      "bool_value: true "
      "} values { null_value: NULL_VALUE } } } } fields { key: \"n\" value { "
      "number_value: 1.2345678901234567e+19 } } fields { key: \"s\" value { "
      "string_value: \"x\" } } } ");
}

TEST(MessageJsonDecoderTest, DiscriminatedUnion) {
  EXPECT_EQ(
      Decode("BulkElement", R"({"data":{"account":"a","metadata":{"k":"v"}},)"
                            R"("action":"ADD_METADATA"})"),
      "add_metadata { action: BULK_ACTION_ADD_METADATA data { account: \"a\" "
      "metadata { "
      "key: \"k\" value: \"v\" } } } ");
}

TEST(MessageJsonDecoderTest, NonDiscriminatedUnions) {
  EXPECT_EQ(Decode("Evidence", R"([1,"a"])"),
            "as_array { values { number_value: 1 } values { string_value: "
            "\"a\" } } ");
  EXPECT_EQ(Decode("Evidence", R"({"k":2})"),
            "as_object { fields { key: \"k\" value { number_value: 2 } } } ");
  EXPECT_EQ(Decode("AmountOrText", "340282366920938463463374607431768211457"),
            "amount: \"340282366920938463463374607431768211457\" ");
  EXPECT_EQ(
      Decode("AmountOrText", R"("340282366920938463463374607431768211457")"),
      "text: \"340282366920938463463374607431768211457\" ");
  EXPECT_EQ(Decode("QueryParams", R"({"resource":"transactions","id":3})"),
            "transactions { resource: RESOURCE_TRANSACTIONS id: 3 } ");
  EXPECT_EQ(Decode("QueryParams", R"({"resource":"accounts","address":"a"})"),
            "accounts { resource: RESOURCE_ACCOUNTS address: \"a\" } ");
  absl::Status s = DecodeError("Evidence", "true");
  EXPECT_EQ(s.code(), absl::StatusCode::kInternal);
  EXPECT_EQ(s.message(), "upstream JSON at $: matches no member of Evidence");
}

TEST(MessageJsonDecoderTest, ErrorsNameThePath) {
  absl::Status s = DecodeError(
      "ListAccountsResponse",
      R"({"cursor":{"data":[{"address":"a"},{"address":"b","volumes":{"USD":{"input":"x"}}}]}})");
  EXPECT_EQ(s.code(), absl::StatusCode::kInternal);
  EXPECT_EQ(s.message(),
            "upstream JSON at cursor.data[1].volumes.USD.input: expected an "
            "integer, got a "
            "non-numeric string");
}

TEST(MessageJsonDecoderTest, MalformedAndTooDeepJson) {
  absl::Status s = DecodeError("Account", R"({"address":"secret-value",)");
  EXPECT_EQ(s.code(), absl::StatusCode::kInternal);
  EXPECT_EQ(s.message(),
            "malformed upstream JSON at offset 26: Missing a name for object "
            "member.");
  EXPECT_EQ(s.message().find("secret"), absl::string_view::npos);
  std::string deep;
  for (int i = 0; i < 100000; ++i) deep += R"({"child":)";
  s = DecodeError("Node", deep);
  EXPECT_EQ(s.message(), "upstream JSON nests deeper than 64 levels");
  std::string ok;
  for (int i = 0; i < 60; ++i) ok += R"({"child":)";
  ok += "{}";
  for (int i = 0; i < 60; ++i) ok += "}";
  EXPECT_TRUE(DecodeError("Node", ok).ok());
  EXPECT_EQ(DecodeError("Account", "\"\xff\"").code(),
            absl::StatusCode::kInternal);
  EXPECT_EQ(DecodeError("Account", "[]").message(),
            "upstream JSON at $: expected an object, got array");
}

}  // namespace
}  // namespace fgw
