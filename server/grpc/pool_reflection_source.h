// PoolReflectionSource: a ReflectionSource over a google::protobuf::DescriptorPool (the
// engine's pool built from the embedded FileDescriptorSet, or the generated pool).
//
// Thread safety: DescriptorPool lookups are thread-safe; the pool must outlive this object.
#ifndef FGW_SERVER_GRPC_POOL_REFLECTION_SOURCE_H_
#define FGW_SERVER_GRPC_POOL_REFLECTION_SOURCE_H_

#include <string>
#include <vector>

#include "google/protobuf/descriptor.h"
#include "server/grpc/reflection_service.h"

namespace fgw {

class PoolReflectionSource final : public ReflectionSource {
 public:
  explicit PoolReflectionSource(const google::protobuf::DescriptorPool* pool)
      : pool_(pool) {}

  absl::StatusOr<std::vector<std::string>> FileByFilename(
      const std::string& filename) const override;
  absl::StatusOr<std::vector<std::string>> FileContainingSymbol(
      const std::string& symbol) const override;
  absl::StatusOr<std::vector<std::string>> FileContainingExtension(
      const std::string& containing_type, int field_number) const override;
  absl::StatusOr<std::vector<int>> AllExtensionNumbersOfType(
      const std::string& type) const override;

  // `file` then its transitive dependencies, each once, serialized.
  static std::vector<std::string> SerializeWithDependencies(
      const google::protobuf::FileDescriptor* file);

 private:
  const google::protobuf::DescriptorPool* const pool_;
};

}  // namespace fgw

#endif  // FGW_SERVER_GRPC_POOL_REFLECTION_SOURCE_H_
