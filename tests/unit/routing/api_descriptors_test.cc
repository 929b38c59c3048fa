#include "server/routing/api_descriptors.h"

#include "formance/gateway/v1/options.pb.h"
#include "google/api/annotations.pb.h"
#include "google/protobuf/descriptor.pb.h"
#include "google/protobuf/struct.pb.h"
#include "gtest/gtest.h"

namespace fgw {
namespace {

TEST(ApiDescriptorsTest, LoadsTheSetWithReadableOptions) {
  auto api = ApiDescriptors::FromFile(FGW_TEST_DESCRIPTOR_SET);
  ASSERT_TRUE(api.ok()) << api.status();
  auto services = (*api)->services();
  ASSERT_EQ(services.size(), 1u);
  EXPECT_EQ(services[0]->full_name(), "fgw.test.TestService");
  const auto* method = services[0]->FindMethodByName("CreateTransaction");
  ASSERT_NE(method, nullptr);
  EXPECT_EQ(method->options().GetExtension(google::api::http).post(),
            "/api/ledger/v2/{ledger}/transactions");
  EXPECT_EQ(method->options()
                .GetExtension(formance::gateway::v1::method)
                .operation_id(),
            "v2CreateTransaction");
  const auto* posting =
      (*api)->pool()->FindMessageTypeByName("fgw.test.Posting");
  ASSERT_NE(posting, nullptr);
  EXPECT_TRUE(posting->FindFieldByName("amount")
                  ->options()
                  .GetExtension(formance::gateway::v1::field)
                  .bigint());
  // Well-known types come from the generated pool, with their generated classes.
  const auto* ledger = (*api)->pool()->FindMessageTypeByName("fgw.test.Ledger");
  const auto* st = ledger->FindFieldByName("ledger_metadata")->message_type();
  EXPECT_EQ(st, google::protobuf::Struct::descriptor());
  EXPECT_NE(
      dynamic_cast<const google::protobuf::Struct*>((*api)->Prototype(st)),
      nullptr);
}

TEST(ApiDescriptorsTest, ServesFilesForReflection) {
  auto api = ApiDescriptors::FromFile(FGW_TEST_DESCRIPTOR_SET);
  ASSERT_TRUE(api.ok());
  auto bytes =
      (*api)->SerializedFileContaining("fgw.test.TestService.GetAccount");
  ASSERT_TRUE(bytes.ok()) << bytes.status();
  google::protobuf::FileDescriptorProto file;
  ASSERT_TRUE(file.ParseFromString(*bytes));
  EXPECT_EQ(file.name(), "transcoding_test_api.proto");
  auto dep = (*api)->SerializedFile("google/protobuf/struct.proto");
  ASSERT_TRUE(dep.ok());
  EXPECT_EQ((*api)->SerializedFileContaining("no.Such").status().code(),
            absl::StatusCode::kNotFound);
  EXPECT_EQ((*api)->SerializedFile("no.proto").status().code(),
            absl::StatusCode::kNotFound);
}

TEST(ApiDescriptorsTest, RejectsGarbage) {
  EXPECT_EQ(
      ApiDescriptors::FromSerializedSet("\xff\xff garbage").status().code(),
      absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(ApiDescriptors::FromFile("/nonexistent.binpb").status().code(),
            absl::StatusCode::kNotFound);
}

}  // namespace
}  // namespace fgw
