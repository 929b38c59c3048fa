// grpc.reflection.v1's descriptor is v1alpha's, renamed; health.proto is gRPC's; both
// resolve in the fallback pool.
#include "server/grpc/builtin_descriptors.h"

#include "gtest/gtest.h"
#include "reflection.pb.h"

namespace fgw {
namespace {

namespace pb = ::google::protobuf;

pb::FileDescriptorProto V1alpha() {
  pb::FileDescriptorProto file;
  grpc::reflection::v1alpha::ServerReflectionRequest::descriptor()
      ->file()
      ->CopyTo(&file);
  return file;
}

TEST(BuiltinDescriptorsTest, RenamesThePackageAndEveryTypeReference) {
  pb::FileDescriptorProto v1 = ReflectionV1File(V1alpha());
  EXPECT_EQ(v1.name(), kReflectionV1FileName);
  EXPECT_EQ(v1.package(), "grpc.reflection.v1");
  std::string text = v1.DebugString();
  EXPECT_EQ(text.find("v1alpha"), std::string::npos) << text;
  // Same messages, same fields and numbers.
  pb::FileDescriptorProto alpha = V1alpha();
  ASSERT_EQ(v1.message_type_size(), alpha.message_type_size());
  for (int i = 0; i < v1.message_type_size(); ++i) {
    EXPECT_EQ(v1.message_type(i).name(), alpha.message_type(i).name());
    ASSERT_EQ(v1.message_type(i).field_size(),
              alpha.message_type(i).field_size());
    for (int j = 0; j < v1.message_type(i).field_size(); ++j) {
      EXPECT_EQ(v1.message_type(i).field(j).number(),
                alpha.message_type(i).field(j).number());
    }
  }
}

TEST(BuiltinDescriptorsTest, FallbackPoolResolvesV1V1alphaAndWellKnownTypes) {
  const pb::DescriptorPool* pool = ReflectionFallbackPool();
  ASSERT_NE(pool, nullptr);
  const pb::ServiceDescriptor* v1 =
      pool->FindServiceByName("grpc.reflection.v1.ServerReflection");
  ASSERT_NE(v1, nullptr);
  EXPECT_EQ(v1->file()->name(), kReflectionV1FileName);
  ASSERT_EQ(v1->method_count(), 1);
  EXPECT_EQ(v1->method(0)->input_type()->full_name(),
            "grpc.reflection.v1.ServerReflectionRequest");
  EXPECT_TRUE(v1->method(0)->client_streaming());
  EXPECT_TRUE(v1->method(0)->server_streaming());
  EXPECT_NE(pool->FindServiceByName("grpc.reflection.v1alpha.ServerReflection"),
            nullptr);
  EXPECT_NE(pool->FindMessageTypeByName("google.protobuf.Struct"), nullptr);
  EXPECT_EQ(pool, ReflectionFallbackPool());
}

TEST(BuiltinDescriptorsTest, HealthIsGrpcsHealthProto) {
  const pb::DescriptorPool* pool = ReflectionFallbackPool();
  const pb::ServiceDescriptor* health =
      pool->FindServiceByName("grpc.health.v1.Health");
  ASSERT_NE(health, nullptr);
  EXPECT_EQ(health->file()->name(), kHealthFileName);
  ASSERT_NE(health->FindMethodByName("Check"), nullptr);
  EXPECT_FALSE(health->FindMethodByName("Check")->server_streaming());
  ASSERT_NE(health->FindMethodByName("Watch"), nullptr);
  EXPECT_TRUE(health->FindMethodByName("Watch")->server_streaming());
  const pb::EnumDescriptor* status = pool->FindEnumTypeByName(
      "grpc.health.v1.HealthCheckResponse.ServingStatus");
  ASSERT_NE(status, nullptr);
  EXPECT_EQ(status->FindValueByName("SERVING")->number(), 1);
  EXPECT_EQ(status->FindValueByName("SERVICE_UNKNOWN")->number(), 3);
  const pb::Descriptor* request =
      pool->FindMessageTypeByName("grpc.health.v1.HealthCheckRequest");
  ASSERT_NE(request, nullptr);
  EXPECT_EQ(request->FindFieldByNumber(1)->name(), "service");
}

}  // namespace
}  // namespace fgw
