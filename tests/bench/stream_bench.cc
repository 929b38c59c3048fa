// bench_stream: the same items read two ways through the gateway, for the stream row of
// tests/bench/README.md (run_stream_bench.sh):
//   --mode=stream  one StreamTransactions call (server streaming, the gateway pages);
//   --mode=pages   ListTransactions page after page, the caller following cursor.next (what
//                  every SDK leaves to its caller).
// Both read --items items (pages of --page_size) --runs times, one after the other
// (concurrency 1), and report items/s and the gateway's CPU per item (utime+stime of
// --gateway_pid from /proc over the measured runs). Messages are parsed in both modes (the
// stream's into StreamTransactionsResponse, the pages into ListTransactionsResponse), so the
// client does comparable work. Prints one JSON line.
#include <grpcpp/generic/generic_stub.h>
#include <grpcpp/grpcpp.h>
#include <grpcpp/impl/codegen/sync_stream.h>

#include <cstdio>
#include <memory>
#include <string>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/notification.h"
#include "google/protobuf/dynamic_message.h"
#include "google/protobuf/util/json_util.h"
#include "proto/embedded_descriptors.h"
#include "server/routing/api_descriptors.h"
#include "tests/bench/bench_common.h"

ABSL_FLAG(std::string, target, "127.0.0.1:50051", "Gateway address");
ABSL_FLAG(std::string, mode, "stream", "stream | pages");
ABSL_FLAG(std::string, ledger, "bench", "Ledger name");
ABSL_FLAG(int, items, 10000, "Items per run");
ABSL_FLAG(int, page_size, 100, "pageSize of the request");
ABSL_FLAG(int, runs, 5, "Measured runs (after one warm-up run)");
ABSL_FLAG(int, gateway_pid, 0, "Gateway process, for its CPU time");

namespace {

using google::protobuf::Message;

constexpr char kService[] = "formance.ledger.v2.LedgerService";

std::string ToString(const grpc::ByteBuffer& buffer) {
  std::vector<grpc::Slice> slices;
  (void)buffer.Dump(&slices);
  std::string s;
  for (const auto& slice : slices) {
    s.append(reinterpret_cast<const char*>(slice.begin()), slice.size());
  }
  return s;
}

grpc::ByteBuffer ToBuffer(const std::string& bytes) {
  grpc::Slice slice(bytes);
  return grpc::ByteBuffer(&slice, 1);
}

struct Api {
  std::unique_ptr<fgw::ApiDescriptors> descriptors;
  const Message* list_request = nullptr;
  const Message* list_response = nullptr;
  const Message* stream_response = nullptr;
};

// Items read in one run; -1 on an error (printed).
int RunStream(const Api& api, grpc::Channel* channel,
              const std::string& request) {
  grpc::ClientContext ctx;
  ctx.AddMetadata("x-formance-max-items",
                  absl::StrCat(absl::GetFlag(FLAGS_items)));
  const std::string path = absl::StrCat("/", kService, "/StreamTransactions");
  grpc::internal::RpcMethod method(path.c_str(),
                                   grpc::internal::RpcMethod::SERVER_STREAMING);
  std::unique_ptr<grpc::ClientReader<grpc::ByteBuffer>> reader(
      grpc::internal::ClientReaderFactory<grpc::ByteBuffer>::Create(
          channel, method, &ctx, ToBuffer(request)));
  std::unique_ptr<Message> message(api.stream_response->New());
  grpc::ByteBuffer buffer;
  int n = 0;
  while (reader->Read(&buffer)) {
    if (!message->ParseFromString(ToString(buffer))) return -1;
    ++n;
  }
  grpc::Status status = reader->Finish();
  if (!status.ok()) {
    fprintf(stderr, "stream: %d %s\n", status.error_code(),
            status.error_message().c_str());
    return -1;
  }
  return n;
}

int RunPages(const Api& api, grpc::GenericStub& stub,
             const std::string& request) {
  const std::string path = absl::StrCat("/", kService, "/ListTransactions");
  std::unique_ptr<Message> page(api.list_response->New());
  std::unique_ptr<Message> next_request(api.list_request->New());
  const auto* req_d = next_request->GetDescriptor();
  const auto* cursor_f = page->GetDescriptor()->FindFieldByName("cursor");
  const auto* page_d = cursor_f->message_type();
  std::string bytes = request;
  int n = 0;
  while (n < absl::GetFlag(FLAGS_items)) {
    grpc::ClientContext ctx;
    ctx.AddMetadata("x-formance-cache", "no-cache");
    grpc::ByteBuffer send = ToBuffer(bytes), recv;
    absl::Notification done;
    grpc::Status status;
    stub.UnaryCall(&ctx, path, grpc::StubOptions(), &send, &recv,
                   [&](grpc::Status s) {
                     status = std::move(s);
                     done.Notify();
                   });
    done.WaitForNotification();
    if (!status.ok()) {
      fprintf(stderr, "page: %d %s\n", status.error_code(),
              status.error_message().c_str());
      return -1;
    }
    page->Clear();
    if (!page->ParseFromString(ToString(recv))) return -1;
    const Message& cursor = page->GetReflection()->GetMessage(*page, cursor_f);
    const auto* r = cursor.GetReflection();
    n += r->FieldSize(cursor, page_d->FindFieldByName("data"));
    if (!r->GetBool(cursor, page_d->FindFieldByName("has_more"))) break;
    // The next page: the path parameter and the cursor alone.
    next_request->Clear();
    next_request->GetReflection()->SetString(next_request.get(),
                                             req_d->FindFieldByName("ledger"),
                                             absl::GetFlag(FLAGS_ledger));
    next_request->GetReflection()->SetString(
        next_request.get(), req_d->FindFieldByName("cursor"),
        r->GetString(cursor, page_d->FindFieldByName("next")));
    bytes = next_request->SerializeAsString();
  }
  return n;
}

}  // namespace

int main(int argc, char** argv) {
  absl::ParseCommandLine(argc, argv);
  Api api;
  auto descriptors =
      fgw::ApiDescriptors::FromSerializedSet(fgw::EmbeddedApiDescriptorSet());
  if (!descriptors.ok()) return 1;
  api.descriptors = *std::move(descriptors);
  const auto* pool = api.descriptors->pool();
  const auto* service = pool->FindServiceByName(kService);
  api.list_request = api.descriptors->Prototype(
      service->FindMethodByName("ListTransactions")->input_type());
  api.list_response = api.descriptors->Prototype(
      service->FindMethodByName("ListTransactions")->output_type());
  api.stream_response = api.descriptors->Prototype(
      service->FindMethodByName("StreamTransactions")->output_type());

  std::unique_ptr<Message> first(api.list_request->New());
  const std::string json = absl::StrCat(
      R"({"ledger":")", absl::GetFlag(FLAGS_ledger), R"(","pageSize":")",
      absl::GetFlag(FLAGS_page_size), R"("})");
  if (!google::protobuf::util::JsonStringToMessage(json, first.get()).ok())
    return 1;
  const std::string request =
      first->SerializeAsString();  // Same bytes for both rpcs.

  grpc::ChannelArguments args;
  args.SetMaxReceiveMessageSize(64 << 20);
  auto channel = grpc::CreateCustomChannel(
      absl::GetFlag(FLAGS_target), grpc::InsecureChannelCredentials(), args);
  grpc::GenericStub stub(channel);
  const bool stream = absl::GetFlag(FLAGS_mode) == "stream";
  auto run = [&]() {
    return stream ? RunStream(api, channel.get(), request)
                  : RunPages(api, stub, request);
  };
  if (run() < 0) return 1;  // Warm-up.
  const int pid = absl::GetFlag(FLAGS_gateway_pid);
  const int64_t cpu0 = pid > 0 ? fgw_bench::ProcessCpuNs(pid) : -1;
  const int64_t t0 = fgw_bench::NowNs();
  int64_t items = 0;
  for (int i = 0; i < absl::GetFlag(FLAGS_runs); ++i) {
    int n = run();
    if (n < 0) return 1;
    items += n;
  }
  const int64_t t1 = fgw_bench::NowNs();
  const int64_t cpu1 = pid > 0 ? fgw_bench::ProcessCpuNs(pid) : -1;
  const double seconds = (t1 - t0) / 1e9;
  printf(
      "{\"mode\":\"%s\",\"page_size\":%d,\"runs\":%d,\"items\":%lld,"
      "\"seconds\":%.3f,"
      "\"items_per_s\":%.0f,\"gateway_cpu_us_per_item\":%.2f}\n",
      stream ? "stream" : "pages", absl::GetFlag(FLAGS_page_size),
      absl::GetFlag(FLAGS_runs), static_cast<long long>(items), seconds,
      items / seconds,
      pid > 0 ? (cpu1 - cpu0) / 1e3 / static_cast<double>(items) : -1.0);
  return 0;
}
