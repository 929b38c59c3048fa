#include "server/routing/api_descriptors.h"

#include <fstream>
#include <sstream>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "formance/gateway/v1/options.pb.h"
#include "google/api/annotations.pb.h"
#include "google/protobuf/descriptor.pb.h"

namespace fgw {
namespace {

using google::protobuf::DescriptorPool;
using google::protobuf::FileDescriptor;
using google::protobuf::FileDescriptorProto;
using google::protobuf::FileDescriptorSet;

// Collects BuildFile errors into one message.
class ErrorCollector : public DescriptorPool::ErrorCollector {
 public:
  void AddError(const std::string& filename, const std::string& element_name,
                const google::protobuf::Message*, ErrorLocation,
                const std::string& message) override {
    errors_.push_back(
        absl::StrCat(filename, ": ", element_name, ": ", message));
  }
  std::string Joined() const { return absl::StrJoin(errors_, "; "); }

 private:
  std::vector<std::string> errors_;
};

// Touches the option extensions so their .pb.cc objects (and with them the generated
// descriptors and extension registrations) are always linked in.
void EnsureOptionTypesLinked() {
  (void)formance::gateway::v1::FieldRules::descriptor();
  (void)google::api::HttpRule::descriptor();
  (void)formance::gateway::v1::method.number();
  (void)google::api::http.number();
}

}  // namespace

ApiDescriptors::ApiDescriptors()
    : pool_(std::make_unique<DescriptorPool>(DescriptorPool::generated_pool())),
      factory_(pool_.get()) {
  factory_.SetDelegateToGeneratedFactory(true);
}

absl::StatusOr<std::unique_ptr<ApiDescriptors>>
ApiDescriptors::FromSerializedSet(absl::string_view file_descriptor_set_bytes) {
  EnsureOptionTypesLinked();
  FileDescriptorSet set;
  if (!set.ParseFromArray(file_descriptor_set_bytes.data(),
                          static_cast<int>(file_descriptor_set_bytes.size()))) {
    return absl::InvalidArgumentError(
        "descriptor set: not a serialized FileDescriptorSet");
  }
  std::unique_ptr<ApiDescriptors> api(new ApiDescriptors());
  const DescriptorPool* generated = DescriptorPool::generated_pool();
  for (const FileDescriptorProto& file : set.file()) {
    api->file_bytes_[file.name()] = file.SerializeAsString();
    if (generated->FindFileByName(file.name()) != nullptr)
      continue;  // Underlay has it.
    if (api->pool_->FindFileByName(file.name()) != nullptr)
      continue;  // Listed twice.
    ErrorCollector errors;
    const FileDescriptor* built =
        api->pool_->BuildFileCollectingErrors(file, &errors);
    if (built == nullptr) {
      return absl::InvalidArgumentError(absl::StrCat(
          "descriptor set: cannot build ", file.name(), ": ", errors.Joined()));
    }
    api->files_.push_back(built);
  }
  return api;
}

absl::StatusOr<std::unique_ptr<ApiDescriptors>> ApiDescriptors::FromFile(
    const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in)
    return absl::NotFoundError(
        absl::StrCat("cannot read descriptor set ", path));
  std::stringstream bytes;
  bytes << in.rdbuf();
  return FromSerializedSet(bytes.str());
}

std::vector<const google::protobuf::ServiceDescriptor*>
ApiDescriptors::services() const {
  std::vector<const google::protobuf::ServiceDescriptor*> out;
  for (const FileDescriptor* file : files_) {
    if (absl::StartsWith(file->package(), "google.") ||
        absl::StartsWith(file->package(), "formance.gateway.")) {
      continue;
    }
    for (int i = 0; i < file->service_count(); ++i)
      out.push_back(file->service(i));
  }
  return out;
}

const google::protobuf::Message* ApiDescriptors::Prototype(
    const google::protobuf::Descriptor* descriptor) const {
  return factory_.GetPrototype(descriptor);
}

absl::StatusOr<std::string> ApiDescriptors::SerializedFileContaining(
    absl::string_view symbol) const {
  const FileDescriptor* file =
      pool_->FindFileContainingSymbol(std::string(symbol));
  if (file == nullptr) {
    return absl::NotFoundError(absl::StrCat("symbol not found: ", symbol));
  }
  return SerializedFile(file->name());
}

absl::StatusOr<std::string> ApiDescriptors::SerializedFile(
    absl::string_view filename) const {
  auto it = file_bytes_.find(filename);
  if (it != file_bytes_.end()) return it->second;
  const FileDescriptor* file = pool_->FindFileByName(std::string(filename));
  if (file == nullptr)
    return absl::NotFoundError(absl::StrCat("file not found: ", filename));
  FileDescriptorProto proto;
  file->CopyTo(&proto);
  return proto.SerializeAsString();
}

}  // namespace fgw
