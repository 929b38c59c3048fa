// libFuzzer target for EncodeRequest over the real Formance API (the embedded descriptor set).
//
// Input: bytes 0-1 (big-endian) pick one of the 276 methods (modulo their count, in gRPC
// method-name order, so seeds survive a reordering of the protos); the rest is the request
// message in protobuf wire format (parsed partially: required-ness is EncodeRequest's job).
// Encoded as the daemon does it (engine/method_table.cc): codec plans compiled once for every
// method, one RequestPlan per method, the default UpstreamLimits.
//
// Invariants (a violation aborts, which libFuzzer reports as a crash):
// - EncodeRequest returns OK or INVALID_ARGUMENT;
// - on OK: the method is the route's; path_and_query starts with '/' and holds visible ASCII
//   only; the path has as many segments as the template (a value never adds a '/') and no
//   segment is "." or ".." (a normalising proxy would route it elsewhere); a JSON body is
//   well-formed UTF-8 JSON; and the request passes the transport's own last check
//   (CheckOutgoingRequest: header values, request target, sizes), i.e. whatever the encoder
//   accepts can be sent, and whatever cannot be sent was refused naming its field.
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

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "google/protobuf/stubs/logging.h"
#include "proto/embedded_descriptors.h"
#include "rapidjson/document.h"
#include "rapidjson/error/en.h"
#include "server/routing/api_descriptors.h"
#include "server/routing/route_table.h"
#include "server/transcoding/codec_plan.h"
#include "server/transcoding/fuzz_api.h"
#include "server/transcoding/request_encoder.h"
#include "server/upstream/http_field.h"
#include "server/upstream/http_message.h"
#include "server/upstream/upstream_limits.h"

namespace fgw {
namespace {

// The request plans of FuzzApi's routes, in the same order, compiled as the method table does.
const std::vector<std::unique_ptr<const RequestPlan>>& RequestPlans() {
  static const auto* plans = [] {
    const FuzzApi& api = GetFuzzApi();
    auto* out = new std::vector<std::unique_ptr<const RequestPlan>>();
    for (const Route* r : api.routes) {
      out->push_back(
          RequestPlan::Compile(*r, *api.plans->Find(r->method->input_type())));
    }
    return out;
  }();
  return *plans;
}

// The harness's own byte-by-byte checks are not coverage-instrumented: their comparisons would
// only steer the fuzzer into the checker.
#define FGW_FUZZ_CHECKER __attribute__((no_sanitize("coverage")))

[[noreturn]] void Fail(const Route& route, const char* what,
                       absl::string_view detail) {
  std::fprintf(stderr, "INVARIANT VIOLATED for %s: %s: %.*s\n",
               route.grpc_method.c_str(), what, static_cast<int>(detail.size()),
               detail.data());
  std::abort();
}

FGW_FUZZ_CHECKER size_t Count(absl::string_view s, char c) {
  size_t n = 0;
  for (char x : s) n += x == c;
  return n;
}

FGW_FUZZ_CHECKER void CheckRequest(const Route& route,
                                   const HttpRequest& request) {
  const std::string& target = request.path_and_query;
  if (request.method != route.http_method)
    Fail(route, "method", request.method);
  if (target.empty() || target[0] != '/')
    Fail(route, "target does not start with '/'", target);
  for (char c : target) {
    if (c <= 0x20 || c >= 0x7f) Fail(route, "raw byte in target", target);
  }
  const absl::string_view path =
      absl::string_view(target).substr(0, target.find('?'));
  if (Count(path, '/') != Count(route.path.text(), '/'))
    Fail(route, "a value changed the number of path segments", target);
  size_t start = 1;
  while (start <= path.size()) {
    size_t end = path.find('/', start);
    if (end == absl::string_view::npos) end = path.size();
    const absl::string_view segment = path.substr(start, end - start);
    if (segment == "." || segment == "..") Fail(route, "dot segment", target);
    start = end + 1;
  }
  const std::string* type = FindHeader(request.headers, "Content-Type");
  if (type != nullptr && *type == "application/json") {
    rapidjson::Document doc;
    doc.Parse<rapidjson::kParseValidateEncodingFlag>(request.body.data(),
                                                     request.body.size());
    if (doc.HasParseError()) {
      Fail(route, rapidjson::GetParseError_En(doc.GetParseError()),
           request.body);
    }
  }
  const absl::Status sendable = CheckOutgoingRequest(request, UpstreamLimits());
  if (!sendable.ok())
    Fail(route, "the transport would refuse it", sendable.ToString());
}

}  // namespace
}  // namespace fgw

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const fgw::FuzzApi& api = fgw::GetFuzzApi();
  if (size < 2) return 0;
  const size_t pick = (static_cast<size_t>(data[0]) << 8) | data[1];
  const size_t index = pick % api.routes.size();
  const fgw::Route& route = *api.routes[index];
  std::unique_ptr<google::protobuf::Message> request(
      api.descriptors->Prototype(route.method->input_type())->New());
  if (!request->ParsePartialFromArray(data + 2, static_cast<int>(size - 2)))
    return 0;
  absl::StatusOr<fgw::HttpRequest> encoded =
      fgw::EncodeRequest(*fgw::RequestPlans()[index], *request);
  if (!encoded.ok()) {
    if (encoded.status().code() != absl::StatusCode::kInvalidArgument) {
      fgw::Fail(route, "status is neither OK nor INVALID_ARGUMENT",
                encoded.status().ToString());
    }
    return 0;
  }
  fgw::CheckRequest(route, *encoded);
  return 0;
}
