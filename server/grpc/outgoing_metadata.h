// OutgoingMetadata: the one gate for what the gateway adds to a call's initial or trailing
// metadata. gRPC core aborts the whole process (an assertion in call_op_set.h) when a server
// adds a key or a value it considers invalid, so nothing reaches ServerContext::Add*Metadata
// without passing here.
//
// An entry is kept when:
// - its key is 1..64 bytes of [0-9a-z_.-], not starting with "grpc-" (reserved);
// - its value, for a key not ending in "-bin", is bytes 0x20..0x7E only (a "-bin" value may
//   hold any bytes: gRPC base64-encodes it);
// - its value is at most kMaxMetadataValueBytes, and the entries kept so far plus this one stay
//   under kMaxMetadataBytes (the trailers also carry the status; see status_details.h).
// Anything else is dropped and logged with its key (never its value).
//
// Thread safety: pure function.
#ifndef FGW_SERVER_GRPC_OUTGOING_METADATA_H_
#define FGW_SERVER_GRPC_OUTGOING_METADATA_H_

#include <string>
#include <utility>
#include <vector>

#include "absl/strings/string_view.h"

namespace fgw {

inline constexpr size_t kMaxMetadataValueBytes = 1024;
inline constexpr size_t kMaxMetadataBytes = 2048;

using MetadataList = std::vector<std::pair<std::string, std::string>>;

bool IsValidMetadataKey(absl::string_view key);
bool IsValidMetadataValue(absl::string_view key, absl::string_view value);

// The entries of `entries` that may be sent, in order. `what` ("trailing") is for the log.
MetadataList SafeMetadata(MetadataList entries, absl::string_view what);

}  // namespace fgw

#endif  // FGW_SERVER_GRPC_OUTGOING_METADATA_H_
