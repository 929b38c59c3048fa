// The Formance API's FileDescriptorSet (every proto under proto/formance, imports included),
// compiled by protoc at build time and embedded in the binary.
#ifndef FGW_PROTO_EMBEDDED_DESCRIPTORS_H_
#define FGW_PROTO_EMBEDDED_DESCRIPTORS_H_

#include "absl/strings/string_view.h"

namespace fgw {

// The serialized google.protobuf.FileDescriptorSet. Static storage; never empty in a real build.
absl::string_view EmbeddedApiDescriptorSet();

}  // namespace fgw

#endif  // FGW_PROTO_EMBEDDED_DESCRIPTORS_H_
