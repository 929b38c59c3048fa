// Server reflection, grpc.reflection.v1 and v1alpha (v1 is what current grpcurl, Postman and
// grpc-js tools try first; gRPC 1.51 clients speak v1alpha), served from a descriptor source
// rather than from registered services: the gateway registers no generated service, so
// gRPC's own reflection would list nothing. v1 is v1alpha under another package name: the
// messages are byte-identical, so both methods get the same reactor.
//
// The server routes kReflectionMethod and kReflectionV1Method to NewReactor() (a reactor of
// its one generic service, server_call.h). Each stream answers every ServerReflectionRequest
// with one ServerReflectionResponse, in order, until the client half-closes.
//   list_services                 the names given at construction, plus grpc.health.v1.Health,
//                                 grpc.reflection.v1.ServerReflection and
//                                 grpc.reflection.v1alpha.ServerReflection
//   file_by_filename,
//   file_containing_symbol,
//   file_containing_extension     the file and its transitive dependencies, each once
//   all_extension_numbers_of_type the field numbers
// A source error becomes an ErrorResponse with its code and message; the stream goes on. A
// request that does not parse ends the stream with INVALID_ARGUMENT.
//
// Do NOT link grpc++_reflection into the same binary: it defines the same generated symbols
// (duplicate registration aborts at start).
#ifndef FGW_SERVER_GRPC_REFLECTION_SERVICE_H_
#define FGW_SERVER_GRPC_REFLECTION_SERVICE_H_

#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "server/grpc/server_call.h"

namespace fgw {

inline constexpr char kReflectionMethod[] =
    "/grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo";
inline constexpr char kReflectionServiceName[] =
    "grpc.reflection.v1alpha.ServerReflection";
inline constexpr char kReflectionV1Method[] =
    "/grpc.reflection.v1.ServerReflection/ServerReflectionInfo";
inline constexpr char kReflectionV1ServiceName[] =
    "grpc.reflection.v1.ServerReflection";
inline constexpr char kHealthServiceName[] = "grpc.health.v1.Health";

// Where reflection finds descriptors. Each lookup returns serialized FileDescriptorProtos:
// the file asked for first, then every file it depends on, transitively, each once.
// NOT_FOUND when unknown. Implementations must be thread-safe (calls come from any gRPC
// thread) and must not block. The engine implements it over its DescriptorPool;
// PoolReflectionSource (pool_reflection_source.h) is a ready implementation.
class ReflectionSource {
 public:
  virtual ~ReflectionSource() = default;
  virtual absl::StatusOr<std::vector<std::string>> FileByFilename(
      const std::string& filename) const = 0;
  // `symbol`: a fully-qualified service, method, message, enum or extension name.
  virtual absl::StatusOr<std::vector<std::string>> FileContainingSymbol(
      const std::string& symbol) const = 0;
  // The default implementations answer NOT_FOUND.
  virtual absl::StatusOr<std::vector<std::string>> FileContainingExtension(
      const std::string& containing_type, int field_number) const;
  virtual absl::StatusOr<std::vector<int>> AllExtensionNumbersOfType(
      const std::string& type) const;
};

class ReflectionService {
 public:
  // `source` must outlive this object and every stream it serves; null: every lookup answers
  // NOT_FOUND (list_services still works). Lookups the source answers NOT_FOUND fall back on
  // the protobuf generated pool (the reflection proto, well-known types) and on
  // grpc/reflection/v1/reflection.proto (builtin_descriptors.h).
  ReflectionService(const ReflectionSource* source,
                    std::vector<std::string> service_names);

  // Serves one ServerReflectionInfo stream.
  std::unique_ptr<CallReactor> NewReactor() const;

  // Answers one request (serialized ServerReflectionRequest -> ServerReflectionResponse);
  // exposed for tests. INVALID_ARGUMENT when the request does not parse.
  absl::StatusOr<std::string> Answer(const std::string& request) const;

  const std::vector<std::string>& listed_services() const {
    return listed_services_;
  }

 private:
  const ReflectionSource* const source_;
  std::vector<std::string> listed_services_;
};

}  // namespace fgw

#endif  // FGW_SERVER_GRPC_REFLECTION_SERVICE_H_
