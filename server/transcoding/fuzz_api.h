// FuzzApi: the embedded Formance API loaded once for the transcoding fuzzers
// (*_fuzzer.cc in this folder): descriptors, route table, routes sorted by gRPC method name (so a
// seed's first bytes keep naming the same method when protos are reordered), and the codec
// plans compiled from every request and response type, as the daemon compiles them.
// Fuzzer support only: never linked into the daemon. Aborts if the embedded API does not load.
#ifndef FGW_SERVER_TRANSCODING_FUZZ_API_H_
#define FGW_SERVER_TRANSCODING_FUZZ_API_H_

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <vector>

#include "google/protobuf/stubs/logging.h"
#include "proto/embedded_descriptors.h"
#include "server/routing/api_descriptors.h"
#include "server/routing/route_table.h"
#include "server/transcoding/codec_plan.h"

namespace fgw {

struct FuzzApi {
  std::unique_ptr<ApiDescriptors> descriptors;
  std::unique_ptr<RouteTable> table;
  std::unique_ptr<const CodecPlans> plans;
  std::vector<const Route*> routes;  // By gRPC method name.
};

inline const FuzzApi& GetFuzzApi() {
  static const FuzzApi* api = [] {
    // Protobuf logs every invalid UTF-8 string it parses: noise at millions of inputs.
    google::protobuf::SetLogHandler(nullptr);
    auto* a = new FuzzApi;
    auto descriptors =
        ApiDescriptors::FromSerializedSet(EmbeddedApiDescriptorSet());
    if (!descriptors.ok()) {
      std::fprintf(stderr, "descriptors: %s\n",
                   descriptors.status().ToString().c_str());
      std::abort();
    }
    a->descriptors = *std::move(descriptors);
    auto table = RouteTable::Build(*a->descriptors);
    if (!table.ok()) {
      std::fprintf(stderr, "routes: %s\n", table.status().ToString().c_str());
      std::abort();
    }
    a->table = *std::move(table);
    for (const Route& r : a->table->routes()) a->routes.push_back(&r);
    std::sort(a->routes.begin(), a->routes.end(),
              [](const Route* x, const Route* y) {
                return x->grpc_method < y->grpc_method;
              });
    std::vector<const google::protobuf::Descriptor*> roots;
    for (const Route* r : a->routes) {
      roots.push_back(r->method->input_type());
      roots.push_back(r->method->output_type());
    }
    a->plans = CodecPlans::Compile(roots);
    return a;
  }();
  return *api;
}

}  // namespace fgw

#endif  // FGW_SERVER_TRANSCODING_FUZZ_API_H_
