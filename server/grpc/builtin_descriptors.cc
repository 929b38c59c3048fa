#include "server/grpc/builtin_descriptors.h"

#include <string>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "reflection.pb.h"

namespace fgw {
namespace {

constexpr char kV1alphaPrefix[] = ".grpc.reflection.v1alpha.";
constexpr char kV1Package[] = "grpc.reflection.v1";

void Rename(std::string* type_name) {
  if (absl::StartsWith(*type_name, kV1alphaPrefix)) {
    *type_name = absl::StrCat(".", kV1Package, ".",
                              type_name->substr(sizeof(kV1alphaPrefix) - 1));
  }
}

void RenameMessage(google::protobuf::DescriptorProto* message) {
  for (auto& field : *message->mutable_field()) {
    if (field.has_type_name()) Rename(field.mutable_type_name());
  }
  for (auto& nested : *message->mutable_nested_type()) RenameMessage(&nested);
}

}  // namespace

google::protobuf::FileDescriptorProto ReflectionV1File(
    const google::protobuf::FileDescriptorProto& v1alpha) {
  google::protobuf::FileDescriptorProto v1 = v1alpha;
  v1.set_name(kReflectionV1FileName);
  v1.set_package(kV1Package);
  v1.clear_source_code_info();
  google::protobuf::FileOptions* options = v1.mutable_options();
  if (options->has_go_package()) {
    options->set_go_package(
        "google.golang.org/grpc/reflection/grpc_reflection_v1");
  }
  if (options->has_java_package()) {
    options->set_java_package("io.grpc.reflection.v1");
  }
  for (auto& message : *v1.mutable_message_type()) RenameMessage(&message);
  for (auto& service : *v1.mutable_service()) {
    for (auto& method : *service.mutable_method()) {
      Rename(method.mutable_input_type());
      Rename(method.mutable_output_type());
    }
  }
  return v1;
}

google::protobuf::FileDescriptorProto HealthFile() {
  using google::protobuf::FieldDescriptorProto;
  google::protobuf::FileDescriptorProto file;
  file.set_name(kHealthFileName);
  file.set_package("grpc.health.v1");
  file.set_syntax("proto3");
  file.mutable_options()->set_go_package(
      "google.golang.org/grpc/health/grpc_health_v1");
  file.mutable_options()->set_java_package("io.grpc.health.v1");
  file.mutable_options()->set_java_multiple_files(true);
  auto* request = file.add_message_type();
  request->set_name("HealthCheckRequest");
  auto* service_field = request->add_field();
  service_field->set_name("service");
  service_field->set_json_name("service");
  service_field->set_number(1);
  service_field->set_label(FieldDescriptorProto::LABEL_OPTIONAL);
  service_field->set_type(FieldDescriptorProto::TYPE_STRING);
  auto* response = file.add_message_type();
  response->set_name("HealthCheckResponse");
  auto* status = response->add_enum_type();
  status->set_name("ServingStatus");
  int number = 0;
  for (const char* name :
       {"UNKNOWN", "SERVING", "NOT_SERVING", "SERVICE_UNKNOWN"}) {
    auto* value = status->add_value();
    value->set_name(name);
    value->set_number(number++);
  }
  auto* status_field = response->add_field();
  status_field->set_name("status");
  status_field->set_json_name("status");
  status_field->set_number(1);
  status_field->set_label(FieldDescriptorProto::LABEL_OPTIONAL);
  status_field->set_type(FieldDescriptorProto::TYPE_ENUM);
  status_field->set_type_name(
      ".grpc.health.v1.HealthCheckResponse.ServingStatus");
  auto* health = file.add_service();
  health->set_name("Health");
  for (const char* name : {"Check", "Watch"}) {
    auto* method = health->add_method();
    method->set_name(name);
    method->set_input_type(".grpc.health.v1.HealthCheckRequest");
    method->set_output_type(".grpc.health.v1.HealthCheckResponse");
    if (std::string(name) == "Watch") method->set_server_streaming(true);
  }
  return file;
}

const google::protobuf::DescriptorPool* ReflectionFallbackPool() {
  static const google::protobuf::DescriptorPool* pool = [] {
    auto* p = new google::protobuf::DescriptorPool(
        google::protobuf::DescriptorPool::generated_pool());
    google::protobuf::FileDescriptorProto v1alpha;
    grpc::reflection::v1alpha::ServerReflectionRequest::descriptor()
        ->file()
        ->CopyTo(&v1alpha);
    // Cannot fail (builtin_descriptors_test): fixed, self-contained files.
    p->BuildFile(ReflectionV1File(v1alpha));
    p->BuildFile(HealthFile());
    return p;
  }();
  return pool;
}

}  // namespace fgw
