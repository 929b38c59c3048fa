// libFuzzer target for MapHttpError over the real Formance API (the embedded descriptor set).
//
// Input: bytes 0-1 (big-endian) pick one of the 276 methods (modulo their count, in gRPC
// method-name order); bytes 2-3 (big-endian): the low 15 bits modulo 1000 are the HTTP status,
// and when the top bit is set the rest starts with one line that is the Location header (what
// a 3xx names). The rest is the upstream's error body (a Formance error object, or anything).
//
// Invariants: never crashes; the status is never OK; its message is bounded (kMaxMessage
// below), whatever the body holds, so the mapped code always reaches the caller.
//
// Build: cmake -DFGW_BUILD_FUZZERS=ON with clang (see tests/fuzz/README.md).
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "google/protobuf/stubs/logging.h"
#include "proto/embedded_descriptors.h"
#include "server/routing/api_descriptors.h"
#include "server/routing/route_table.h"
#include "server/transcoding/error_mapper.h"
#include "server/transcoding/fuzz_api.h"
#include "server/upstream/http_message.h"

namespace fgw {
namespace {

// "A few KB": the mapper cuts errorCode to 128 bytes, errorMessage to 512 and Location to 256;
// the module and status add a few. gRPC sends the message in a trailer, which must stay far
// below its 8-16 KiB limits whatever the upstream sent.
constexpr size_t kMaxMessage = 4096;

}  // namespace
}  // namespace fgw

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const fgw::FuzzApi& api = fgw::GetFuzzApi();
  if (size < 4) return 0;
  const size_t pick = (static_cast<size_t>(data[0]) << 8) | data[1];
  const fgw::Route& route = *api.routes[pick % api.routes.size()];
  const int word = (data[2] << 8) | data[3];
  fgw::HttpResponse response;
  response.status = (word & 0x7FFF) % 1000;
  absl::string_view rest(reinterpret_cast<const char*>(data + 4), size - 4);
  if (word & 0x8000) {
    const size_t eol = rest.find('\n');
    response.headers.emplace_back("Location", std::string(rest.substr(0, eol)));
    rest = eol == absl::string_view::npos ? absl::string_view()
                                          : rest.substr(eol + 1);
  }
  response.body = std::string(rest);

  const absl::Status status =
      fgw::MapHttpError(route, response, *api.descriptors);
  if (status.ok()) {
    std::fprintf(stderr, "%s: HTTP %d mapped to OK\n",
                 route.grpc_method.c_str(), response.status);
    std::abort();
  }
  if (status.message().size() > fgw::kMaxMessage) {
    std::fprintf(stderr, "%s: HTTP %d: message of %zu bytes (max %zu)\n",
                 route.grpc_method.c_str(), response.status,
                 status.message().size(), fgw::kMaxMessage);
    std::abort();
  }
  return 0;
}
