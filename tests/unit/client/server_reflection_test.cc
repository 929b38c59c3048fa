// The CLI's reflection client against a real GatewayServer (reflection v1, descriptors from a
// small pool), and with no server at all.
#include "client/cli/server_reflection.h"

#include <memory>

#include "gmock/gmock.h"
#include "google/protobuf/descriptor.pb.h"
#include "google/protobuf/struct.pb.h"
#include "grpcpp/create_channel.h"
#include "gtest/gtest.h"
#include "server/grpc/gateway_server.h"
#include "server/grpc/pool_reflection_source.h"

namespace fgw::cli {
namespace {

using ::testing::Contains;
using ::testing::HasSubstr;

// test/echo.proto (package test.v1, imports struct.proto): service EchoService {Echo}.
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
  auto* m = echo.add_service()->add_method();
  echo.mutable_service(0)->set_name("EchoService");
  m->set_name("Echo");
  m->set_input_type(".test.v1.EchoRequest");
  m->set_output_type(".test.v1.EchoRequest");
  EXPECT_NE(pool->BuildFile(echo), nullptr);
  return pool;
}

TEST(ServerReflectionTest, ListsAndLoadsFromTheServer) {
  auto pool = BuildPool();
  PoolReflectionSource source(pool.get());
  ServerOptions options;
  options.listen = "127.0.0.1:0";
  auto server =
      GatewayServer::Start(options, nullptr, &source, {"test.v1.EchoService"});
  ASSERT_TRUE(server.ok()) << server.status();
  ServerReflection reflection(
      grpc::CreateChannel((*server)->address(),
                          grpc::InsecureChannelCredentials()),
      (*server)->address(), absl::Seconds(10), {{"x-test", "1"}});

  auto services = reflection.ListServices();
  ASSERT_TRUE(services.ok()) << services.status();
  EXPECT_THAT(*services, Contains("test.v1.EchoService"));
  EXPECT_THAT(*services, Contains("grpc.reflection.v1.ServerReflection"));

  ASSERT_TRUE(reflection.LoadSymbol("test.v1.EchoService").ok());
  const auto* service =
      reflection.pool()->FindServiceByName("test.v1.EchoService");
  ASSERT_NE(service, nullptr);
  EXPECT_EQ(
      service->method(0)->input_type()->field(0)->message_type()->full_name(),
      "google.protobuf.Struct");
  ASSERT_TRUE(reflection.LoadSymbol("grpc.health.v1.Health").ok());
  EXPECT_NE(reflection.pool()->FindServiceByName("grpc.health.v1.Health"),
            nullptr);

  absl::Status missing = reflection.LoadSymbol("no.such.Service");
  EXPECT_TRUE(absl::IsNotFound(missing)) << missing;
  (*server)->Shutdown(absl::Seconds(5));
}

TEST(ServerReflectionTest, NoServerIsUnavailableNamingTheAddress) {
  // A port nobody listens on: bind a server, note its port, shut it down.
  ServerOptions options;
  options.listen = "127.0.0.1:0";
  auto server = GatewayServer::Start(options, nullptr, nullptr, {});
  ASSERT_TRUE(server.ok()) << server.status();
  std::string addr = (*server)->address();
  (*server)->Shutdown(absl::Seconds(1));
  server->reset();
  ServerReflection reflection(
      grpc::CreateChannel(addr, grpc::InsecureChannelCredentials()), addr,
      absl::Seconds(5), {});
  auto services = reflection.ListServices();
  ASSERT_FALSE(services.ok());
  EXPECT_TRUE(absl::IsUnavailable(services.status())) << services.status();
  EXPECT_THAT(services.status().message(),
              HasSubstr("no gateway answers at " + addr));
}

}  // namespace
}  // namespace fgw::cli
