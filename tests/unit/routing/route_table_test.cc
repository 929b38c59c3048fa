#include "server/routing/route_table.h"

#include "google/api/annotations.pb.h"
#include "google/protobuf/descriptor.pb.h"
#include "gtest/gtest.h"
#include "tests/unit/transcoding/test_api.h"

namespace fgw {
namespace {

using ::fgw::testing::TestApi;

TEST(RouteTableTest, BuildsEveryMethod) {
  auto table = RouteTable::Build(TestApi());
  ASSERT_TRUE(table.ok()) << table.status();
  EXPECT_EQ((*table)->size(), 15u);
  EXPECT_EQ((*table)->Find("/fgw.test.TestService/Nope"), nullptr);

  const Route* create =
      (*table)->Find("/fgw.test.TestService/CreateTransaction");
  ASSERT_NE(create, nullptr);
  EXPECT_EQ(create->http_method, "POST");
  EXPECT_EQ(create->path.text(), "/api/ledger/v2/{ledger}/transactions");
  ASSERT_NE(create->body_field, nullptr);
  EXPECT_EQ(create->body_field->name(), "transaction");
  EXPECT_FALSE(create->body_is_whole_message);
  EXPECT_EQ(create->response_body_field, nullptr);
  ASSERT_NE(create->idempotency_key_field, nullptr);
  EXPECT_EQ(create->idempotency_key_field->name(), "idempotency_key");
  EXPECT_FALSE(create->read_only);
  EXPECT_EQ(create->module, "ledger");
  EXPECT_EQ(create->rules.operation_id(), "v2CreateTransaction");
  EXPECT_EQ(create->rules.oauth2_scopes(0), "ledger:write");

  const Route* count = (*table)->Find("/fgw.test.TestService/CountAccounts");
  ASSERT_NE(count, nullptr);
  EXPECT_EQ(count->http_method, "HEAD");
  EXPECT_TRUE(count->read_only);

  const Route* payment = (*table)->Find("/fgw.test.TestService/CreatePayment");
  ASSERT_NE(payment, nullptr);
  EXPECT_TRUE(payment->body_is_whole_message);
  EXPECT_EQ(payment->body_field, nullptr);
  EXPECT_EQ(payment->module, "payments");

  const Route* export_logs = (*table)->Find("/fgw.test.TestService/ExportLogs");
  ASSERT_NE(export_logs, nullptr);
  ASSERT_NE(export_logs->response_body_field, nullptr);
  EXPECT_EQ(export_logs->response_body_field->name(), "data");

  // Without MethodRules.module: "formance.<module>.<v>" gives <module>, else the package.
  const Route* volumes = (*table)->Find("/fgw.test.TestService/ListVolumes");
  ASSERT_NE(volumes, nullptr);
  EXPECT_EQ(volumes->module, "fgw.test");
}

// Builds a one-method service in a private pool with `rule` and returns BuildRoute's result.
absl::StatusOr<Route> RouteWithRule(const std::string& rule_text) {
  static int counter = 0;
  google::protobuf::FileDescriptorProto file;
  const std::string package =
      "formance.bad" + std::to_string(++counter) + ".v1";
  file.set_name(package + ".proto");
  file.set_package(package);
  file.set_syntax("proto3");
  auto* msg = file.add_message_type();
  msg->set_name("Req");
  auto* f = msg->add_field();
  f->set_name("ledger");
  f->set_number(1);
  f->set_type(google::protobuf::FieldDescriptorProto::TYPE_STRING);
  f->set_label(google::protobuf::FieldDescriptorProto::LABEL_OPTIONAL);
  auto* m = file.add_service();
  m->set_name("Svc");
  auto* method = m->add_method();
  method->set_name("Do");
  method->set_input_type("." + package + ".Req");
  method->set_output_type("." + package + ".Req");
  if (!rule_text.empty()) {
    google::api::HttpRule rule;
    if (!google::protobuf::TextFormat::ParseFromString(rule_text, &rule)) {
      return absl::InternalError("bad rule text");
    }
    *method->mutable_options()->MutableExtension(google::api::http) = rule;
  }
  static google::protobuf::DescriptorPool* pool =
      new google::protobuf::DescriptorPool(
          google::protobuf::DescriptorPool::generated_pool());
  const google::protobuf::FileDescriptor* built = pool->BuildFile(file);
  if (built == nullptr) return absl::InternalError("build failed");
  return RouteTable::BuildRoute(built->service(0)->method(0));
}

TEST(RouteTableTest, RejectsBadRulesNamingTheMethod) {
  auto none = RouteWithRule("");
  EXPECT_EQ(none.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(none.status().message(),
            "rpc formance.bad1.v1.Svc.Do: has no google.api.http rule");

  auto unknown_var = RouteWithRule("get: '/api/x/{nope}'");
  EXPECT_EQ(unknown_var.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(
      unknown_var.status().message(),
      "rpc formance.bad2.v1.Svc.Do: path variable {nope} names no field of "
      "formance.bad2.v1.Req");

  auto bad_body = RouteWithRule("post: '/api/x/{ledger}' body: 'missing'");
  EXPECT_EQ(bad_body.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(bad_body.status().message().find("body \"missing\" names no field"),
            absl::string_view::npos);

  auto bad_template = RouteWithRule("get: '/api/x/{a.b}'");
  EXPECT_NE(bad_template.status().message().find(
                "rpc formance.bad4.v1.Svc.Do: path template"),
            absl::string_view::npos);

  auto bad_verb = RouteWithRule("custom: {kind: 'TRACE' path: '/x'}");
  EXPECT_EQ(bad_verb.status().code(), absl::StatusCode::kInvalidArgument);

  auto ok = RouteWithRule("delete: '/api/x/{ledger}'");
  ASSERT_TRUE(ok.ok()) << ok.status();
  EXPECT_EQ(ok->grpc_method, "/formance.bad6.v1.Svc/Do");
  EXPECT_EQ(ok->http_method, "DELETE");
  EXPECT_EQ(ok->module, "bad6");
}

}  // namespace
}  // namespace fgw
