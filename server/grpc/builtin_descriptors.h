// Descriptors of the services the gateway serves itself, for reflection: grpc.reflection.v1
// (made from grpc.reflection.v1alpha's) and grpc.health.v1 (gRPC 1.51 ships no health.proto
// for C++; the gateway's health service encodes its messages by hand, health_service.h).
//
// v1 is v1alpha renamed: the same messages, fields and numbers under the package
// grpc.reflection.v1, so one reactor answers both ServerReflectionInfo methods (the bytes are
// identical). gRPC 1.51 ships only v1alpha's reflection.proto; this builds v1's
// FileDescriptorProto from it (package and every type reference renamed, file
// grpc/reflection/v1/reflection.proto) so that clients which describe the v1 service
// (grpcurl, Postman, grpc-js tools try v1 first) find it.
//
// Thread safety: the pool is built once, on first use (thread-safe static), and is immutable.
#ifndef FGW_SERVER_GRPC_BUILTIN_DESCRIPTORS_H_
#define FGW_SERVER_GRPC_BUILTIN_DESCRIPTORS_H_

#include "google/protobuf/descriptor.h"
#include "google/protobuf/descriptor.pb.h"

namespace fgw {

inline constexpr char kReflectionV1FileName[] =
    "grpc/reflection/v1/reflection.proto";

// v1's file made from `v1alpha` (the compiled reflection.proto's FileDescriptorProto).
google::protobuf::FileDescriptorProto ReflectionV1File(
    const google::protobuf::FileDescriptorProto& v1alpha);

inline constexpr char kHealthFileName[] = "grpc/health/v1/health.proto";

// grpc/health/v1/health.proto as published by gRPC: HealthCheckRequest {string service = 1},
// HealthCheckResponse {ServingStatus status = 1} (UNKNOWN 0, SERVING 1, NOT_SERVING 2,
// SERVICE_UNKNOWN 3), service Health {Check; Watch (server streaming)}.
google::protobuf::FileDescriptorProto HealthFile();

// A pool holding ReflectionV1File() and HealthFile() over the generated pool (which it falls back on, so it
// also resolves v1alpha and the well-known types). Never null; lives for the process.
const google::protobuf::DescriptorPool* ReflectionFallbackPool();

}  // namespace fgw

#endif  // FGW_SERVER_GRPC_BUILTIN_DESCRIPTORS_H_
