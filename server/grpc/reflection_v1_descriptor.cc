#include "server/grpc/reflection_v1_descriptor.h"

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

const google::protobuf::DescriptorPool* ReflectionFallbackPool() {
  static const google::protobuf::DescriptorPool* pool = [] {
    auto* p = new google::protobuf::DescriptorPool(
        google::protobuf::DescriptorPool::generated_pool());
    google::protobuf::FileDescriptorProto v1alpha;
    grpc::reflection::v1alpha::ServerReflectionRequest::descriptor()
        ->file()
        ->CopyTo(&v1alpha);
    // Cannot fail (reflection_v1_descriptor_test): the compiled file, renamed
    // consistently.
    p->BuildFile(ReflectionV1File(v1alpha));
    return p;
  }();
  return pool;
}

}  // namespace fgw
