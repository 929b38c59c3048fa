// Reflection v1alpha and v1 over a real stream, served from a tiny DescriptorPool.
#include <memory>

#include "gmock/gmock.h"
#include "google/protobuf/descriptor.pb.h"
#include "google/protobuf/struct.pb.h"
#include "gtest/gtest.h"
#include "reflection.pb.h"
#include "server/grpc/gateway_server.h"
#include "server/grpc/pool_reflection_source.h"
#include "tests/unit/grpc/grpc_test_util.h"

namespace fgw {
namespace {

namespace rpb = ::grpc::reflection::v1alpha;
using ::testing::ElementsAre;
using ::testing::UnorderedElementsAre;

// test/echo.proto: package test.v1; imports google/protobuf/struct.proto.
std::unique_ptr<google::protobuf::DescriptorPool> BuildPool() {
  auto pool = std::make_unique<google::protobuf::DescriptorPool>();
  google::protobuf::FileDescriptorProto st;
  google::protobuf::Struct::descriptor()->file()->CopyTo(&st);
  EXPECT_NE(pool->BuildFile(st), nullptr);
  google::protobuf::FileDescriptorProto echo;
  echo.set_name("test/echo.proto");
  echo.set_package("test.v1");
  echo.set_syntax("proto3");
  echo.add_dependency("google/protobuf/struct.proto");
  auto* msg = echo.add_message_type();
  msg->set_name("EchoRequest");
  auto* f = msg->add_field();
  f->set_name("data");
  f->set_number(1);
  f->set_type(google::protobuf::FieldDescriptorProto::TYPE_MESSAGE);
  f->set_type_name(".google.protobuf.Struct");
  f->set_label(google::protobuf::FieldDescriptorProto::LABEL_OPTIONAL);
  auto* svc = echo.add_service();
  svc->set_name("EchoService");
  auto* m = svc->add_method();
  m->set_name("Echo");
  m->set_input_type(".test.v1.EchoRequest");
  m->set_output_type(".test.v1.EchoRequest");
  EXPECT_NE(pool->BuildFile(echo), nullptr);
  return pool;
}

// One ServerReflectionInfo stream: each request answered by one response.
class ReflectionStream {
 public:
  explicit ReflectionStream(grpc::GenericStub& stub,
                            const char* method = kReflectionMethod)
      : stream_(stub, method) {}
  rpb::ServerReflectionResponse Ask(
      const rpb::ServerReflectionRequest& request) {
    EXPECT_TRUE(stream_.Write(request.SerializeAsString()));
    std::string in;
    EXPECT_TRUE(stream_.Read(&in));
    rpb::ServerReflectionResponse response;
    EXPECT_TRUE(response.ParseFromString(in));
    return response;
  }
  grpc::Status Close() {
    stream_.WritesDone();
    return stream_.Finish();
  }

 private:
  testing::RawStream stream_;
};

std::vector<std::string> FileNames(
    const rpb::ServerReflectionResponse& response) {
  std::vector<std::string> names;
  for (const std::string& bytes :
       response.file_descriptor_response().file_descriptor_proto()) {
    google::protobuf::FileDescriptorProto file;
    EXPECT_TRUE(file.ParseFromString(bytes));
    names.push_back(file.name());
  }
  return names;
}

class ReflectionServiceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    pool_ = BuildPool();
    source_ = std::make_unique<PoolReflectionSource>(pool_.get());
    ServerOptions options;
    options.listen = "127.0.0.1:0";
    auto server = GatewayServer::Start(options, nullptr, source_.get(),
                                       {"test.v1.EchoService"});
    ASSERT_TRUE(server.ok()) << server.status();
    server_ = std::move(*server);
    stub_ = std::make_unique<grpc::GenericStub>(
        testing::Connect(server_->address()));
  }
  void TearDown() override { server_->Shutdown(absl::Seconds(5)); }

  std::unique_ptr<google::protobuf::DescriptorPool> pool_;
  std::unique_ptr<PoolReflectionSource> source_;
  std::unique_ptr<GatewayServer> server_;
  std::unique_ptr<grpc::GenericStub> stub_;
};

TEST_F(ReflectionServiceTest,
       ListsServicesAndAnswersLookupsInOrderOnOneStream) {
  ReflectionStream stream(*stub_);

  rpb::ServerReflectionRequest list;
  list.set_host("localhost");
  list.set_list_services("*");
  rpb::ServerReflectionResponse listed = stream.Ask(list);
  EXPECT_EQ(listed.valid_host(), "localhost");
  EXPECT_EQ(listed.original_request().list_services(), "*");
  std::vector<std::string> names;
  for (const auto& s : listed.list_services_response().service())
    names.push_back(s.name());
  EXPECT_THAT(names, UnorderedElementsAre(
                         "test.v1.EchoService", "grpc.health.v1.Health",
                         "grpc.reflection.v1.ServerReflection",
                         "grpc.reflection.v1alpha.ServerReflection"));

  rpb::ServerReflectionRequest by_symbol;
  by_symbol.set_file_containing_symbol("test.v1.EchoService");
  EXPECT_THAT(FileNames(stream.Ask(by_symbol)),
              ElementsAre("test/echo.proto", "google/protobuf/struct.proto"));

  rpb::ServerReflectionRequest by_method;
  by_method.set_file_containing_symbol("test.v1.EchoService.Echo");
  EXPECT_THAT(FileNames(stream.Ask(by_method)),
              ElementsAre("test/echo.proto", "google/protobuf/struct.proto"));

  rpb::ServerReflectionRequest missing;
  missing.set_file_by_filename("nope.proto");
  rpb::ServerReflectionResponse error = stream.Ask(missing);
  ASSERT_TRUE(error.has_error_response());
  EXPECT_EQ(error.error_response().error_code(),
            static_cast<int>(grpc::StatusCode::NOT_FOUND));

  // The stream goes on after an error.
  rpb::ServerReflectionRequest by_file;
  by_file.set_file_by_filename("google/protobuf/struct.proto");
  EXPECT_THAT(FileNames(stream.Ask(by_file)),
              ElementsAre("google/protobuf/struct.proto"));

  EXPECT_TRUE(stream.Close().ok());
}

TEST_F(ReflectionServiceTest,
       FallsBackOnTheGeneratedPoolForTheReflectionProtoItself) {
  ReflectionStream stream(*stub_);
  rpb::ServerReflectionRequest request;
  request.set_file_containing_symbol(
      "grpc.reflection.v1alpha.ServerReflection");
  rpb::ServerReflectionResponse response = stream.Ask(request);
  ASSERT_TRUE(response.has_file_descriptor_response())
      << response.DebugString();
  EXPECT_EQ(FileNames(response).front(), "reflection.proto");
  EXPECT_TRUE(stream.Close().ok());
}

// v1 messages are v1alpha's bytes: the v1alpha classes speak v1's method.
TEST_F(ReflectionServiceTest, ServesTheV1MethodAndDescribesTheV1Service) {
  ReflectionStream stream(*stub_, kReflectionV1Method);
  rpb::ServerReflectionRequest list;
  list.set_list_services("*");
  EXPECT_EQ(stream.Ask(list).list_services_response().service_size(), 4);

  rpb::ServerReflectionRequest by_symbol;
  by_symbol.set_file_containing_symbol("test.v1.EchoService");
  EXPECT_THAT(FileNames(stream.Ask(by_symbol)),
              ElementsAre("test/echo.proto", "google/protobuf/struct.proto"));

  rpb::ServerReflectionRequest v1;
  v1.set_file_containing_symbol("grpc.reflection.v1.ServerReflection");
  rpb::ServerReflectionResponse response = stream.Ask(v1);
  ASSERT_TRUE(response.has_file_descriptor_response())
      << response.DebugString();
  google::protobuf::FileDescriptorProto file;
  ASSERT_TRUE(file.ParseFromString(
      response.file_descriptor_response().file_descriptor_proto(0)));
  EXPECT_EQ(file.name(), "grpc/reflection/v1/reflection.proto");
  EXPECT_EQ(file.package(), "grpc.reflection.v1");
  ASSERT_EQ(file.service_size(), 1);
  EXPECT_EQ(file.service(0).method(0).input_type(),
            ".grpc.reflection.v1.ServerReflectionRequest");

  rpb::ServerReflectionRequest health;
  health.set_file_containing_symbol("grpc.health.v1.Health");
  EXPECT_THAT(FileNames(stream.Ask(health)),
              ElementsAre("grpc/health/v1/health.proto"));
  EXPECT_TRUE(stream.Close().ok());
}

TEST_F(ReflectionServiceTest, ExtensionQueriesAnswerErrorsNotCrashes) {
  ReflectionStream stream(*stub_);
  rpb::ServerReflectionRequest numbers;
  numbers.set_all_extension_numbers_of_type("test.v1.EchoRequest");
  rpb::ServerReflectionResponse response = stream.Ask(numbers);
  ASSERT_TRUE(response.has_all_extension_numbers_response())
      << response.DebugString();
  EXPECT_EQ(response.all_extension_numbers_response().base_type_name(),
            "test.v1.EchoRequest");
  EXPECT_EQ(response.all_extension_numbers_response().extension_number_size(),
            0);

  rpb::ServerReflectionRequest ext;
  ext.mutable_file_containing_extension()->set_containing_type(
      "test.v1.EchoRequest");
  ext.mutable_file_containing_extension()->set_extension_number(99);
  EXPECT_TRUE(stream.Ask(ext).has_error_response());
  EXPECT_TRUE(stream.Close().ok());
}

TEST(ReflectionServiceAnswerTest, GarbageRequestIsInvalidArgument) {
  ReflectionService service(nullptr, {});
  auto answer = service.Answer(std::string("\xff\xff\xff", 3));
  EXPECT_EQ(answer.status().code(), absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace fgw
