#include "server/grpc/status_conversion.h"

#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "grpcpp/support/slice.h"
#include "server/util/status_details.h"

namespace fgw {

grpc::Status ToGrpcStatus(const absl::Status& status) {
  if (status.ok()) return grpc::Status::OK;
  // absl and gRPC share the canonical code numbering (0..16).
  auto code = static_cast<grpc::StatusCode>(static_cast<int>(status.code()));
  std::string message = TruncateUtf8(status.message(), kMaxStatusMessageBytes);
  std::string details = SerializeBoundedRpcStatusDetails(status);
  if (details.empty()) return grpc::Status(code, std::move(message));
  return grpc::Status(code, std::move(message), std::move(details));
}

std::string ByteBufferToString(const grpc::ByteBuffer& buffer) {
  std::vector<grpc::Slice> slices;
  std::string out;
  if (!buffer.Dump(&slices).ok()) return out;
  out.reserve(buffer.Length());
  for (const grpc::Slice& s : slices) {
    out.append(reinterpret_cast<const char*>(s.begin()), s.size());
  }
  return out;
}

grpc::ByteBuffer StringToByteBuffer(std::string bytes) {
  // Small replies: one copy into an inline/refcounted slice is cheaper than a heap string.
  // Large ones (pages of transactions): the slice takes the string over, no copy.
  constexpr size_t kCopyBelow = 4096;
  if (bytes.size() < kCopyBelow) {
    grpc::Slice slice(bytes);
    return grpc::ByteBuffer(&slice, 1);
  }
  auto* owned = new std::string(std::move(bytes));
  grpc::Slice slice(
      owned->data(), owned->size(),
      [](void* p) { delete static_cast<std::string*>(p); }, owned);
  return grpc::ByteBuffer(&slice, 1);
}

}  // namespace fgw
