// absl::Status -> what gRPC sends: the status (same code and message; the detail payloads of
// server/util/status_details.h as google.rpc.Status in grpc-status-details-bin).
// Also ByteBuffer <-> std::string for the generic (raw bytes) service.
//
// Thread safety: pure functions.
#ifndef FGW_SERVER_GRPC_STATUS_CONVERSION_H_
#define FGW_SERVER_GRPC_STATUS_CONVERSION_H_

#include <optional>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "grpcpp/support/byte_buffer.h"
#include "grpcpp/support/status.h"

namespace fgw {

// Same code; the message cut to kMaxStatusMessageBytes; binary details =
// SerializeBoundedRpcStatusDetails(status) when non-empty. Whatever the status holds (an
// upstream's 20 KB errorCode, a huge declared error body), the result fits in the trailers
// every gRPC client accepts, so the caller always gets the real code.
grpc::Status ToGrpcStatus(const absl::Status& status);

std::string ByteBufferToString(const grpc::ByteBuffer& buffer);
grpc::ByteBuffer StringToByteBuffer(std::string bytes);

}  // namespace fgw

#endif  // FGW_SERVER_GRPC_STATUS_CONVERSION_H_
