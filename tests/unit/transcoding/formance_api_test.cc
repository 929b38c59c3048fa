// The transcoder over the real generated Formance protos (the embedded descriptor set).
#include <memory>
#include <string>

#include "absl/strings/match.h"
#include "absl/strings/str_split.h"
#include "formance/gateway/v1/options.pb.h"
#include "google/protobuf/text_format.h"
#include "gtest/gtest.h"
#include "proto/embedded_descriptors.h"
#include "server/routing/api_descriptors.h"
#include "server/routing/route_table.h"
#include "server/transcoding/error_mapper.h"
#include "server/transcoding/request_encoder.h"
#include "server/transcoding/response_decoder.h"
#include "server/upstream/http_field.h"

namespace fgw {
namespace {

class FormanceApiTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    auto api = ApiDescriptors::FromSerializedSet(EmbeddedApiDescriptorSet());
    ASSERT_TRUE(api.ok()) << api.status();
    api_ = api->release();
    auto table = RouteTable::Build(*api_);
    ASSERT_TRUE(table.ok()) << table.status();
    routes_ = table->release();
  }

  static const Route& RouteOf(const std::string& method) {
    const Route* route = routes_->Find(method);
    if (route == nullptr) {
      ADD_FAILURE() << "no route " << method;
      std::abort();
    }
    return *route;
  }

  static std::unique_ptr<google::protobuf::Message> Input(
      const Route& route, const std::string& text) {
    std::unique_ptr<google::protobuf::Message> m(
        api_->Prototype(route.method->input_type())->New());
    EXPECT_TRUE(google::protobuf::TextFormat::ParseFromString(text, m.get()))
        << text;
    return m;
  }

  static std::unique_ptr<google::protobuf::Message> Output(const Route& route) {
    return std::unique_ptr<google::protobuf::Message>(
        api_->Prototype(route.method->output_type())->New());
  }

  static const ApiDescriptors* api_;
  static const RouteTable* routes_;
};

const ApiDescriptors* FormanceApiTest::api_ = nullptr;
const RouteTable* FormanceApiTest::routes_ = nullptr;

std::string Text(const google::protobuf::Message& m) {
  std::string out;
  google::protobuf::TextFormat::Printer printer;
  printer.SetSingleLineMode(true);
  printer.PrintToString(m, &out);
  return out;
}

TEST_F(FormanceApiTest, EveryOperationHasARoute) {
  EXPECT_EQ(routes_->size(), 276u);
  EXPECT_EQ(api_->services().size(), 12u);
  for (const Route& route : routes_->routes()) {
    EXPECT_FALSE(route.rules.operation_id().empty()) << route.grpc_method;
    EXPECT_FALSE(route.module.empty()) << route.grpc_method;
    // Every route's request encodes from an empty message, or fails only because a path
    // parameter or a required enum/bigint is missing.
    std::unique_ptr<google::protobuf::Message> empty(
        api_->Prototype(route.method->input_type())->New());
    auto request = EncodeRequest(route, *empty);
    if (!request.ok()) {
      EXPECT_EQ(request.status().code(), absl::StatusCode::kInvalidArgument)
          << route.grpc_method;
      EXPECT_NE(request.status().message().find("required"),
                absl::string_view::npos)
          << route.grpc_method << ": " << request.status();
    } else {
      EXPECT_EQ(request->method, route.http_method);
    }
  }
}

// Sets every path parameter of `route` to a valid value ("1" for text, the first named
// value for an enum, 1 for a number or text); returns the string-typed ones.
std::vector<const google::protobuf::FieldDescriptor*> FillPath(
    const Route& route, google::protobuf::Message* m) {
  using google::protobuf::FieldDescriptor;
  std::vector<const FieldDescriptor*> text_fields;
  const google::protobuf::Reflection* r = m->GetReflection();
  for (const std::string& var : route.path.variables()) {
    const FieldDescriptor* f = m->GetDescriptor()->FindFieldByName(var);
    if (f == nullptr) {
      ADD_FAILURE() << route.grpc_method << ": no field " << var;
      continue;
    }
    switch (f->cpp_type()) {
      case FieldDescriptor::CPPTYPE_STRING:
        r->SetString(m, f, "1");  // Also valid where the text is a number.
        text_fields.push_back(f);
        break;
      case FieldDescriptor::CPPTYPE_ENUM:
        r->SetEnumValue(
            m, f,
            f->enum_type()->value(f->enum_type()->value_count() - 1)->number());
        break;
      case FieldDescriptor::CPPTYPE_INT32:
        r->SetInt32(m, f, 1);
        break;
      case FieldDescriptor::CPPTYPE_INT64:
        r->SetInt64(m, f, 1);
        break;
      default:
        ADD_FAILURE() << route.grpc_method << ": path field " << var
                      << " of an unexpected type";
    }
  }
  return text_fields;
}

// Issue 9: a path parameter can never form a dot segment or add a segment, for every path
// parameter of every operation.
TEST_F(FormanceApiTest, NoPathParameterCanFormADotSegmentOrChangeTheRoute) {
  int checked = 0;
  for (const Route& route : routes_->routes()) {
    std::unique_ptr<google::protobuf::Message> m(
        api_->Prototype(route.method->input_type())->New());
    std::vector<const google::protobuf::FieldDescriptor*> text =
        FillPath(route, m.get());
    auto base = EncodeRequest(route, *m);
    if (!base.ok())
      continue;  // Fails for a required non-path field: covered elsewhere.
    const absl::string_view base_path =
        absl::string_view(base->path_and_query)
            .substr(0, base->path_and_query.find('?'));
    const size_t segments =
        std::vector<absl::string_view>(absl::StrSplit(base_path, '/')).size();
    for (const auto* f : text) {
      for (const char* dots : {".", ".."}) {
        m->GetReflection()->SetString(m.get(), f, dots);
        auto r = EncodeRequest(route, *m);
        ASSERT_FALSE(r.ok())
            << route.grpc_method << " " << f->name() << "=" << dots << " -> "
            << (r.ok() ? r->path_and_query : "");
        EXPECT_EQ(r.status().code(), absl::StatusCode::kInvalidArgument);
        EXPECT_TRUE(absl::StrContains(r.status().message(), f->name()))
            << r.status();
        ++checked;
      }
      m->GetReflection()->SetString(m.get(), f, "seg");
      if (!EncodeRequest(route, *m).ok()) {  // Text that must be a number.
        m->GetReflection()->SetString(m.get(), f, "1");
        continue;
      }
      for (const char* hostile :
           {"a/../b", "%2e%2E", "../x", "a?b#c", "x y/z"}) {
        m->GetReflection()->SetString(m.get(), f, hostile);
        auto r = EncodeRequest(route, *m);
        ASSERT_TRUE(r.ok())
            << route.grpc_method << " " << f->name() << ": " << r.status();
        const absl::string_view path =
            absl::string_view(r->path_and_query)
                .substr(0, r->path_and_query.find('?'));
        EXPECT_EQ(
            std::vector<absl::string_view>(absl::StrSplit(path, '/')).size(),
            segments)
            << route.grpc_method << ": " << r->path_and_query;
        EXPECT_TRUE(CheckOutgoingRequest(*r, UpstreamLimits()).ok())
            << route.grpc_method << ": " << r->path_and_query;
        ++checked;
      }
      m->GetReflection()->SetString(m.get(), f, "1");
    }
  }
  EXPECT_GT(checked, 1000);
}

// Issue 9: no header field of any operation lets a CR/LF, NUL or non-ASCII byte through.
TEST_F(FormanceApiTest, EveryHeaderFieldRefusesBytesThatAreNotAHeaderValue) {
  int checked = 0;
  for (const Route& route : routes_->routes()) {
    std::unique_ptr<google::protobuf::Message> m(
        api_->Prototype(route.method->input_type())->New());
    FillPath(route, m.get());
    const google::protobuf::Descriptor* d = m->GetDescriptor();
    for (int i = 0; i < d->field_count(); ++i) {
      const auto* f = d->field(i);
      const auto& rules =
          f->options().GetExtension(formance::gateway::v1::field);
      if (rules.location() != formance::gateway::v1::FIELD_LOCATION_HEADER ||
          f->cpp_type() != google::protobuf::FieldDescriptor::CPPTYPE_STRING ||
          f->is_repeated()) {
        continue;
      }
      for (const std::string& bad :
           {std::string("a\r\nX-Evil: 1"), std::string("a\0b", 3),
            std::string("caf\xc3\xa9"), std::string(20000, 'k')}) {
        m->GetReflection()->SetString(m.get(), f, bad);
        auto r = EncodeRequest(route, *m);
        ASSERT_FALSE(r.ok()) << route.grpc_method << " " << f->name();
        EXPECT_EQ(r.status().code(), absl::StatusCode::kInvalidArgument);
        EXPECT_TRUE(
            absl::StrContains(r.status().message(), rules.wire_name()) ||
            absl::StrContains(r.status().message(), "header fields hold"))
            << r.status();
        ++checked;
      }
      m->GetReflection()->ClearField(m.get(), f);
    }
  }
  EXPECT_GT(checked, 40);
}

TEST_F(FormanceApiTest, AHugePathParameterIsRefusedBeforeItIsEncoded) {
  const Route& route = RouteOf("/formance.ledger.v2.LedgerService/GetAccount");
  auto m = Input(route, "ledger: 'main'");
  m->GetReflection()->SetString(m.get(),
                                m->GetDescriptor()->FindFieldByName("address"),
                                std::string(15 << 20, '/'));
  auto r = EncodeRequest(route, *m);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_TRUE(
      absl::StrContains(r.status().message(), "max_request_target_bytes"))
      << r.status();
  UpstreamLimits tight;
  tight.max_request_target_bytes = 40;
  m->GetReflection()->SetString(m.get(),
                                m->GetDescriptor()->FindFieldByName("address"),
                                "////////");  // 8 bytes, 24 once encoded.
  r = EncodeRequest(route, *m, tight);
  ASSERT_FALSE(r.ok()) << r->path_and_query;
  EXPECT_TRUE(
      absl::StrContains(r.status().message(), "max_request_target_bytes"));
}

TEST_F(FormanceApiTest, LedgerV2CreateTransactionKeepsEveryDigit) {
  const Route& route =
      RouteOf("/formance.ledger.v2.LedgerService/CreateTransaction");
  auto request =
      Input(route,
            "ledger: 'main' dry_run: false idempotency_key: 'ik-42' "
            "v2_post_transaction { postings { amount: "
            "'340282366920938463463374607431768211457' asset: 'USD/2' "
            "source: 'world' destination: 'users:001' } reference: 'ref-1' }");
  auto http = EncodeRequest(route, *request);
  ASSERT_TRUE(http.ok()) << http.status();
  EXPECT_EQ(http->method, "POST");
  EXPECT_EQ(http->path_and_query,
            "/api/ledger/v2/main/transactions?dryRun=false");
  EXPECT_EQ(
      http->body,
      R"({"postings":[{"amount":340282366920938463463374607431768211457,"asset":"USD/2",)"
      R"("destination":"users:001","source":"world"}],"reference":"ref-1","metadata":{}})");
  EXPECT_EQ(http->headers, (HttpHeaders{{"Idempotency-Key", "ik-42"},
                                        {"Content-Type", "application/json"},
                                        {"Accept", "application/json"}}));
  ASSERT_NE(route.idempotency_key_field, nullptr);

  auto response = Output(route);
  ASSERT_TRUE(
      DecodeResponse(
          route,
          {200,
           {{"Idempotency-Hit", "true"}},
           R"({"data":{"id":7,"postings":[{"amount":)"
           R"(340282366920938463463374607431768211457,"asset":"USD/2",)"
           R"("source":"world","destination":"users:001"}],"metadata":{},)"
           R"("timestamp":"2024-01-01T00:00:00Z","reverted":false}})"},
          response.get())
          .ok());
  EXPECT_NE(Text(*response).find(
                "amount: \"340282366920938463463374607431768211457\""),
            std::string::npos)
      << Text(*response);
  EXPECT_NE(Text(*response).find("idempotency_hit: \"true\""),
            std::string::npos);
}

TEST_F(FormanceApiTest, LedgerV2GetAccountVolumes) {
  const Route& route = RouteOf("/formance.ledger.v2.LedgerService/GetAccount");
  auto request =
      Input(route, "ledger: 'main' address: 'users:001' expand: 'volumes'");
  auto http = EncodeRequest(route, *request);
  ASSERT_TRUE(http.ok()) << http.status();
  EXPECT_EQ(http->method, "GET");
  EXPECT_EQ(http->path_and_query,
            "/api/ledger/v2/main/accounts/users:001?expand=volumes");
  auto response = Output(route);
  absl::Status s = DecodeResponse(
      route,
      {200,
       {},
       R"({"data":{"address":"users:001","metadata":{"tier":"gold"},"volumes":{"USD/2":)"
       R"({"input":10000000000000000000000000000000000000000,"output":1,)"
       R"("balance":9999999999999999999999999999999999999999}}}})"},
      response.get());
  ASSERT_TRUE(s.ok()) << s;
  EXPECT_EQ(
      Text(*response),
      "data { address: \"users:001\" metadata { key: \"tier\" value: \"gold\" "
      "} volumes { "
      "key: \"USD/2\" value { input: "
      "\"10000000000000000000000000000000000000000\" output: "
      "\"1\" balance: \"9999999999999999999999999999999999999999\" } } } ");
}

TEST_F(FormanceApiTest, PaymentsV3BigintFields) {
  const Route& route =
      RouteOf("/formance.payments.v3.PaymentsService/CreatePayment");
  auto request = Input(
      route,
      "v3_create_payment_request { reference: 'r' connector_id: 'abc' "
      "created_at: '2024-01-01T00:00:00Z' type: V3_PAYMENT_TYPE_ENUM_PAY_IN "
      "initial_amount: '340282366920938463463374607431768211457' "
      "amount: '10000000000000000000000000000000000000000' asset: 'USD/2' "
      "scheme: 'sepa debit' null_fields: 'metadata' }");
  auto http = EncodeRequest(route, *request);
  ASSERT_TRUE(http.ok()) << http.status();
  EXPECT_EQ(http->path_and_query, "/api/payments/v3/payments");
  EXPECT_EQ(
      http->body,
      R"({"reference":"r","connectorID":"abc","createdAt":"2024-01-01T00:00:00Z",)"
      R"("type":"PAY-IN","initialAmount":340282366920938463463374607431768211457,)"
      R"("amount":10000000000000000000000000000000000000000,"asset":"USD/2",)"
      R"("scheme":"sepa debit","metadata":null})");
}

TEST_F(FormanceApiTest, WalletsCreditWithBigAmount) {
  const Route& route =
      RouteOf("/formance.wallets.v1.WalletsService/CreditWallet");
  auto request = Input(
      route,
      "id: 'w 1' idempotency_key: 'k' credit_wallet_request { amount { asset: "
      "'USD/2' amount: '-340282366920938463463374607431768211457' } }");
  auto http = EncodeRequest(route, *request);
  ASSERT_TRUE(http.ok()) << http.status();
  EXPECT_EQ(http->path_and_query, "/api/wallets/wallets/w%201/credit");
  EXPECT_EQ(
      http->body,
      R"({"amount":{"asset":"USD/2","amount":-340282366920938463463374607431768211457}})");
}

TEST_F(FormanceApiTest, LedgerV2ErrorBody) {
  const Route& route =
      RouteOf("/formance.ledger.v2.LedgerService/CreateTransaction");
  absl::Status s = MapHttpError(
      route,
      {400,
       {},
       R"({"errorCode":"INSUFFICIENT_FUND","errorMessage":"account had insufficient funds"})"},
      *api_);
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(s.message(),
            "ledger 400: INSUFFICIENT_FUND: account had insufficient funds");
}

}  // namespace
}  // namespace fgw

namespace fgw {
namespace {

// V2ChartSegment is a bare map that also has named properties (".self", ".pattern", ...):
// both live in one JSON object, named ones first, both ways.
TEST_F(FormanceApiTest, ChartSegmentMixesNamedPropertiesAndMapEntries) {
  const Route& insert =
      RouteOf("/formance.ledger.v2.LedgerService/InsertSchema");
  auto in = Input(insert, R"pb(
    ledger: "l"
    version: "v1"
    v2_schema_data {
      chart {
        key: "users"
        value {
          entries {
            key: "$userID"
            value {
              dot_pattern: "^[0-9]{16}$"
              dot_metadata {
                key: "tier"
                value {}
              }
            }
          }
        }
      }
    }
  )pb");
  absl::StatusOr<HttpRequest> request = EncodeRequest(insert, *in);
  ASSERT_TRUE(request.ok()) << request.status();
  EXPECT_EQ(
      request->body,
      R"({"chart":{"users":{"$userID":{".pattern":"^[0-9]{16}$",".metadata":{"tier":{}}}}}})");

  const Route& get = RouteOf("/formance.ledger.v2.LedgerService/GetSchema");
  HttpResponse response;
  response.status = 200;
  response.body =
      R"({"data":{"version":"v1","createdAt":"2026-01-01T00:00:00Z","chart":{"users":{)"
      R"(".self":{},"$userID":{".pattern":"^[0-9]{16}$"},"main":{}}}}})";
  auto out = Output(get);
  ASSERT_TRUE(DecodeResponse(get, response, out.get()).ok());
  const std::string text = Text(*out);
  EXPECT_NE(text.find(R"(key: "$userID" value { dot_pattern: "^[0-9]{16}$" })"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find(R"(key: "main")"), std::string::npos) << text;
  EXPECT_NE(text.find("dot_self {"), std::string::npos) << text;
}

}  // namespace
}  // namespace fgw
