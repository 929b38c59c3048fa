// bench_grpc: gRPC load generator against the gateway. The request message is built once, as a
// protobuf DynamicMessage of the method's input type from the Formance API descriptor set (the one
// embedded in the gateway, or --descriptor_set), filled from --request_json, and serialized; every
// call then sends those bytes through grpc::GenericStub with the async completion-queue API
// (--cq_threads threads poll; each owns a share of the in-flight loops).
//
// Prints one JSON line (bench_common.h). Example (one command line):
//   bench_grpc --target 127.0.0.1:50051 --method /formance.ledger.v2.LedgerService/GetAccount
//              --request_json '{"ledger":"bench","address":"users:001"}' --concurrency 64
#include <grpcpp/generic/generic_stub.h>
#include <grpcpp/grpcpp.h>

#include <fstream>
#include <iterator>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/strings/str_replace.h"
#include "google/protobuf/descriptor.h"
#include "google/protobuf/descriptor.pb.h"
#include "google/protobuf/descriptor_database.h"
#include "google/protobuf/dynamic_message.h"
#include "google/protobuf/util/json_util.h"
#include "proto/embedded_descriptors.h"
#include "tests/bench/bench_common.h"

ABSL_FLAG(std::string, target, "127.0.0.1:50051", "Gateway address");
ABSL_FLAG(std::string, method, "/formance.ledger.v2.LedgerService/GetAccount",
          "Full gRPC method name");
ABSL_FLAG(std::string, request_json,
          "{\"ledger\":\"bench\",\"address\":\"users:001\"}",
          "Request message in proto3 JSON");
ABSL_FLAG(std::string, descriptor_set, "",
          "FileDescriptorSet file; empty: the embedded one");
ABSL_FLAG(std::string, label, "grpc", "Row label in the JSON result");
ABSL_FLAG(int, concurrency, 1, "Calls in flight");
ABSL_FLAG(double, duration, 3.0, "Measured seconds");
ABSL_FLAG(double, warmup, 0.5,
          "Warm-up seconds before the window (not counted)");
ABSL_FLAG(int, cq_threads, 1, "Completion-queue polling threads");
ABSL_FLAG(int, channels, 1, "gRPC channels (each its own HTTP/2 connection)");
ABSL_FLAG(int, deadline_ms, 10000, "Per-call deadline; 0: none");
ABSL_FLAG(bool, dump_first, false,
          "Decode the first response and print it as JSON on stderr");
ABSL_FLAG(std::string, curve_out, "",
          "Write the latency percentile curve here");
ABSL_FLAG(int, watch_pid, 0,
          "Sample this process's CPU time and peak RSS over the window");
ABSL_FLAG(int, upstream_pid, 0,
          "Sample this process's CPU time too (nginx's worker)");

namespace {

namespace pb = google::protobuf;
using fgw_bench::LoopStats;
using fgw_bench::NowNs;
using fgw_bench::Window;

struct Call {
  grpc::ClientContext context;
  grpc::ByteBuffer response;
  grpc::Status status;
  std::unique_ptr<grpc::GenericClientAsyncResponseReader> reader;
  int64_t start = 0;
  int loop = 0;
};

struct Api {
  pb::SimpleDescriptorDatabase database;
  std::unique_ptr<pb::DescriptorPool> pool;
  pb::DynamicMessageFactory factory;
};

bool LoadApi(Api* api) {
  std::string bytes;
  if (absl::GetFlag(FLAGS_descriptor_set).empty()) {
    bytes = std::string(fgw::EmbeddedApiDescriptorSet());
  } else {
    std::ifstream f(absl::GetFlag(FLAGS_descriptor_set), std::ios::binary);
    bytes.assign(std::istreambuf_iterator<char>(f),
                 std::istreambuf_iterator<char>());
  }
  pb::FileDescriptorSet set;
  if (!set.ParseFromString(bytes)) return false;
  for (const auto& file : set.file()) api->database.Add(file);
  api->pool = std::make_unique<pb::DescriptorPool>(&api->database);
  return true;
}

}  // namespace

int main(int argc, char** argv) {
  absl::ParseCommandLine(argc, argv);
  const std::string method = absl::GetFlag(FLAGS_method);

  Api api;
  if (!LoadApi(&api)) {
    std::fprintf(stderr, "cannot parse the descriptor set\n");
    return 2;
  }
  // "/pkg.Service/Method" -> "pkg.Service.Method".
  std::string method_name = absl::StrReplaceAll(method.substr(1), {{"/", "."}});
  const pb::MethodDescriptor* md = api.pool->FindMethodByName(method_name);
  if (md == nullptr) {
    std::fprintf(stderr, "unknown method %s\n", method.c_str());
    return 2;
  }
  std::unique_ptr<pb::Message> request(
      api.factory.GetPrototype(md->input_type())->New());
  auto parsed = pb::util::JsonStringToMessage(absl::GetFlag(FLAGS_request_json),
                                              request.get());
  if (!parsed.ok()) {
    std::fprintf(stderr, "bad --request_json: %s\n", parsed.ToString().c_str());
    return 2;
  }
  const std::string request_bytes = request->SerializeAsString();
  grpc::Slice request_slice(request_bytes);
  const grpc::ByteBuffer request_buffer(&request_slice, 1);

  const int nchannels = std::max(1, absl::GetFlag(FLAGS_channels));
  std::vector<std::unique_ptr<grpc::GenericStub>> stubs;
  for (int i = 0; i < nchannels; ++i) {
    grpc::ChannelArguments args;
    args.SetInt("fgw.bench.channel",
                i);  // Distinct args: no shared subchannel, own connection.
    args.SetMaxReceiveMessageSize(64 << 20);
    auto channel = grpc::CreateCustomChannel(
        absl::GetFlag(FLAGS_target), grpc::InsecureChannelCredentials(), args);
    if (!channel->WaitForConnected(std::chrono::system_clock::now() +
                                   std::chrono::seconds(5))) {
      std::fprintf(stderr, "cannot connect to %s\n",
                   absl::GetFlag(FLAGS_target).c_str());
      return 2;
    }
    stubs.push_back(std::make_unique<grpc::GenericStub>(channel));
  }

  if (absl::GetFlag(FLAGS_dump_first)) {
    grpc::ClientContext context;
    grpc::ByteBuffer response;
    grpc::Status status;
    grpc::CompletionQueue cq;
    auto reader =
        stubs[0]->PrepareUnaryCall(&context, method, request_buffer, &cq);
    reader->StartCall();
    reader->Finish(&response, &status, reinterpret_cast<void*>(1));
    void* tag;
    bool ok;
    cq.Next(&tag, &ok);
    if (!status.ok()) {
      std::fprintf(stderr, "first call: %d %s\n", status.error_code(),
                   status.error_message().c_str());
      return 1;
    }
    std::vector<grpc::Slice> slices;
    (void)response.Dump(&slices);
    std::string bytes;
    for (const auto& s : slices)
      bytes.append(reinterpret_cast<const char*>(s.begin()), s.size());
    std::unique_ptr<pb::Message> decoded(
        api.factory.GetPrototype(md->output_type())->New());
    decoded->ParseFromString(bytes);
    std::string json;
    (void)pb::util::MessageToJsonString(*decoded, &json);
    std::fprintf(stderr, "%s\n", json.c_str());
    cq.Shutdown();
    while (cq.Next(&tag, &ok)) {
    }
  }

  const int concurrency = std::max(1, absl::GetFlag(FLAGS_concurrency));
  const int nthreads =
      std::max(1, std::min(absl::GetFlag(FLAGS_cq_threads), concurrency));
  const int deadline_ms = absl::GetFlag(FLAGS_deadline_ms);
  std::vector<LoopStats> loops(concurrency);
  for (auto& l : loops) l.latencies_ns.reserve(1 << 16);
  std::vector<std::unique_ptr<grpc::CompletionQueue>> cqs;
  for (int t = 0; t < nthreads; ++t)
    cqs.push_back(std::make_unique<grpc::CompletionQueue>());
  std::atomic<int64_t> response_bytes{0};

  Window window(absl::GetFlag(FLAGS_warmup), absl::GetFlag(FLAGS_duration),
                absl::GetFlag(FLAGS_watch_pid),
                absl::GetFlag(FLAGS_upstream_pid));
  auto start_call = [&](int loop, grpc::CompletionQueue* cq) {
    auto* call = new Call;
    call->loop = loop;
    call->start = NowNs();
    if (deadline_ms > 0) {
      call->context.set_deadline(std::chrono::system_clock::now() +
                                 std::chrono::milliseconds(deadline_ms));
    }
    call->reader = stubs[loop % stubs.size()]->PrepareUnaryCall(
        &call->context, method, request_buffer, cq);
    call->reader->StartCall();
    call->reader->Finish(&call->response, &call->status, call);
  };
  std::vector<std::thread> threads;
  for (int t = 0; t < nthreads; ++t) {
    threads.emplace_back([&, t] {
      grpc::CompletionQueue* cq = cqs[t].get();
      int running = 0;
      for (int loop = t; loop < concurrency; loop += nthreads) {
        start_call(loop, cq);
        ++running;
      }
      void* tag;
      bool ok;
      while (running > 0 && cq->Next(&tag, &ok)) {
        auto* call = static_cast<Call*>(tag);
        const int64_t finish = NowNs();
        LoopStats& stats = loops[call->loop];
        if (window.Counts(call->start, finish)) {
          if (call->status.ok()) {
            stats.latencies_ns.push_back(finish - call->start);
          } else {
            ++stats.errors;
            if (stats.first_error.empty()) {
              stats.first_error = std::to_string(call->status.error_code()) +
                                  " " + call->status.error_message();
            }
          }
        }
        response_bytes.store(static_cast<int64_t>(call->response.Length()),
                             std::memory_order_relaxed);
        const int loop = call->loop;
        delete call;
        if (window.Over(finish)) {
          --running;
        } else {
          start_call(loop, cq);
        }
      }
    });
  }
  for (auto& th : threads) th.join();
  window.Join();
  fgw_bench::Report(absl::GetFlag(FLAGS_label), concurrency, window, loops,
                    absl::GetFlag(FLAGS_curve_out), response_bytes.load());
  for (auto& cq : cqs) {
    cq->Shutdown();
    void* tag;
    bool ok;
    while (cq->Next(&tag, &ok)) {
    }
  }
  return 0;
}
