// libFuzzer target for DecodeResponse over the real Formance API (the embedded descriptor set).
//
// Input: bytes 0-1 (big-endian) pick one of the 276 methods (modulo their count, in gRPC
// method-name order); byte 2 is flags: bit 0 = 204 instead of 200, bit 1 = the rest starts
// with one line that becomes the value of every response header the method reads
// (FieldRules.location HEADER). The rest is the HTTP body, decoded into the method's response
// message, as the daemon decodes it: with the response type's plan from codec plans compiled
// once for every method (engine/method_table.cc).
//
// Invariants: never crashes, any status is fine (malformed upstream data is INTERNAL); a
// decoded message serializes, and encodes back to JSON (any status) without crashing.
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
#include "server/transcoding/codec_plan.h"
#include "server/transcoding/fuzz_api.h"
#include "server/transcoding/message_json_encoder.h"
#include "server/transcoding/response_decoder.h"
#include "server/upstream/http_message.h"

namespace fgw {
namespace {}  // namespace
}  // namespace fgw

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const fgw::FuzzApi& api = fgw::GetFuzzApi();
  if (size < 3) return 0;
  const size_t pick = (static_cast<size_t>(data[0]) << 8) | data[1];
  const fgw::Route& route = *api.routes[pick % api.routes.size()];
  const fgw::MessagePlan& plan = *api.plans->Find(route.method->output_type());
  const uint8_t flags = data[2];
  absl::string_view rest(reinterpret_cast<const char*>(data + 3), size - 3);

  fgw::HttpResponse response;
  response.status = (flags & 1) ? 204 : 200;
  if (flags & 2) {
    const size_t eol = rest.find('\n');
    const absl::string_view value = rest.substr(0, eol);
    rest = eol == absl::string_view::npos ? absl::string_view()
                                          : rest.substr(eol + 1);
    for (const fgw::FieldPlan& fp : plan.fields) {
      if (fp.location == formance::gateway::v1::FIELD_LOCATION_HEADER)
        response.headers.emplace_back(fp.wire_name, std::string(value));
    }
  }
  response.body = std::string(rest);

  std::unique_ptr<google::protobuf::Message> out(
      api.descriptors->Prototype(route.method->output_type())->New());
  const absl::Status decoded =
      fgw::DecodeResponse(route, plan, response, out.get());
  if (!decoded.ok()) return 0;
  std::string wire;
  if (!out->SerializePartialToString(&wire)) {
    std::fprintf(stderr, "%s: decoded message does not serialize\n",
                 route.grpc_method.c_str());
    std::abort();
  }
  (void)fgw::MessageToJson(*out);
  return 0;
}
