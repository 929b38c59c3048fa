// ApiDescriptors: the Formance API's protobuf descriptors, loaded at run time from a serialized
// google.protobuf.FileDescriptorSet (the embedded set, or a file for tests).
//
// Files that the binary already links (descriptor.proto, struct.proto, google/api/*.proto,
// formance/gateway/v1/options.proto) are taken from DescriptorPool::generated_pool(), which is
// the pool's underlay: so `options().GetExtension(formance::gateway::v1::method)` and
// `GetExtension(google::api::http)` work on the loaded descriptors, and well-known types
// (Struct, Value, ...) get their generated classes.
//
// Thread safety: immutable after construction; every method may be called concurrently.
#ifndef FGW_SERVER_ROUTING_API_DESCRIPTORS_H_
#define FGW_SERVER_ROUTING_API_DESCRIPTORS_H_

#include <memory>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "google/protobuf/descriptor.h"
#include "google/protobuf/dynamic_message.h"
#include "google/protobuf/message.h"

namespace fgw {

class ApiDescriptors {
 public:
  // Parses `file_descriptor_set_bytes` and builds every file in it (in the set's order, which
  // protoc writes dependencies first). INVALID_ARGUMENT when the bytes do not parse or a file
  // does not build (the message names the file and protobuf's error).
  static absl::StatusOr<std::unique_ptr<ApiDescriptors>> FromSerializedSet(
      absl::string_view file_descriptor_set_bytes);
  // Reads a FileDescriptorSet file (protoc --descriptor_set_out). NOT_FOUND when unreadable.
  static absl::StatusOr<std::unique_ptr<ApiDescriptors>> FromFile(
      const std::string& path);

  ApiDescriptors(const ApiDescriptors&) = delete;
  ApiDescriptors& operator=(const ApiDescriptors&) = delete;

  // The pool (its underlay is the generated pool). Owned by this object.
  const google::protobuf::DescriptorPool* pool() const { return pool_.get(); }

  // Every service of the loaded files, except google.* and formance.gateway.* packages,
  // in file order then declaration order.
  std::vector<const google::protobuf::ServiceDescriptor*> services() const;

  // The prototype of `descriptor` (a DynamicMessage, or the generated class for types of the
  // generated pool such as google.protobuf.Struct). Owned by this object; New() on it.
  const google::protobuf::Message* Prototype(
      const google::protobuf::Descriptor* descriptor) const;

  // Serialized FileDescriptorProto of the file defining `symbol` (a fully qualified message,
  // enum, service, method, field or extension name), for server reflection. NOT_FOUND otherwise.
  absl::StatusOr<std::string> SerializedFileContaining(
      absl::string_view symbol) const;
  // Serialized FileDescriptorProto of `filename` ("formance/ledger/v2/service.proto").
  absl::StatusOr<std::string> SerializedFile(absl::string_view filename) const;

 private:
  ApiDescriptors();

  std::unique_ptr<google::protobuf::DescriptorPool> pool_;
  // Thread-safe: DynamicMessageFactory locks internally.
  mutable google::protobuf::DynamicMessageFactory factory_;
  std::vector<const google::protobuf::FileDescriptor*>
      files_;  // Built here, in order.
  absl::flat_hash_map<std::string, std::string>
      file_bytes_;  // name -> FileDescriptorProto.
};

}  // namespace fgw

#endif  // FGW_SERVER_ROUTING_API_DESCRIPTORS_H_
