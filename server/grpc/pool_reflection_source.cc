#include "server/grpc/pool_reflection_source.h"

#include <algorithm>
#include <deque>
#include <set>

#include "absl/strings/str_cat.h"
#include "google/protobuf/descriptor.pb.h"

namespace fgw {

std::vector<std::string> PoolReflectionSource::SerializeWithDependencies(
    const google::protobuf::FileDescriptor* file) {
  std::vector<std::string> out;
  std::set<std::string> seen{file->name()};
  std::deque<const google::protobuf::FileDescriptor*> queue{file};
  while (!queue.empty()) {
    const google::protobuf::FileDescriptor* f = queue.front();
    queue.pop_front();
    google::protobuf::FileDescriptorProto proto;
    f->CopyTo(&proto);
    // CopyTo omits json_name; clients (grpc-js) want the same names the server uses.
    f->CopyJsonNameTo(&proto);
    out.push_back(proto.SerializeAsString());
    for (int i = 0; i < f->dependency_count(); ++i) {
      const google::protobuf::FileDescriptor* dep = f->dependency(i);
      if (seen.insert(dep->name()).second) queue.push_back(dep);
    }
  }
  return out;
}

absl::StatusOr<std::vector<std::string>> PoolReflectionSource::FileByFilename(
    const std::string& filename) const {
  const google::protobuf::FileDescriptor* file =
      pool_->FindFileByName(filename);
  if (file == nullptr)
    return absl::NotFoundError(absl::StrCat("file not found: ", filename));
  return SerializeWithDependencies(file);
}

absl::StatusOr<std::vector<std::string>>
PoolReflectionSource::FileContainingSymbol(const std::string& symbol) const {
  const google::protobuf::FileDescriptor* file =
      pool_->FindFileContainingSymbol(symbol);
  if (file == nullptr)
    return absl::NotFoundError(absl::StrCat("symbol not found: ", symbol));
  return SerializeWithDependencies(file);
}

absl::StatusOr<std::vector<std::string>>
PoolReflectionSource::FileContainingExtension(
    const std::string& containing_type, int field_number) const {
  const google::protobuf::Descriptor* type =
      pool_->FindMessageTypeByName(containing_type);
  if (type == nullptr) {
    return absl::NotFoundError(
        absl::StrCat("type not found: ", containing_type));
  }
  const google::protobuf::FieldDescriptor* ext =
      pool_->FindExtensionByNumber(type, field_number);
  if (ext == nullptr) {
    return absl::NotFoundError(absl::StrCat(
        "extension not found: ", containing_type, " ", field_number));
  }
  return SerializeWithDependencies(ext->file());
}

absl::StatusOr<std::vector<int>>
PoolReflectionSource::AllExtensionNumbersOfType(
    const std::string& type_name) const {
  const google::protobuf::Descriptor* type =
      pool_->FindMessageTypeByName(type_name);
  if (type == nullptr)
    return absl::NotFoundError(absl::StrCat("type not found: ", type_name));
  std::vector<const google::protobuf::FieldDescriptor*> extensions;
  pool_->FindAllExtensions(type, &extensions);
  std::vector<int> numbers;
  for (const auto* ext : extensions) numbers.push_back(ext->number());
  std::sort(numbers.begin(), numbers.end());
  return numbers;
}

}  // namespace fgw
