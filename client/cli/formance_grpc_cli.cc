// formance-grpc-cli: a small command-line client for the gateway, for a first call and for
// scripts (Debian has neither grpcurl nor grpc_cli). It knows the Formance API from the same
// embedded descriptors as the daemon, and speaks proto3 JSON (big integers are strings).
//
//   formance-grpc-cli [--addr=127.0.0.1:50051] list [SERVICE]
//   formance-grpc-cli [--addr=...] describe SYMBOL
//   formance-grpc-cli [--addr=...] [--timeout=10s] [-H key=value]... call METHOD [JSON|-]
//
// METHOD is "formance.ledger.v2.LedgerService/ListLedgers" or "ledger.v2.ListLedgers". A
// Stream rpc (ledger.v2.StreamTransactions) prints one JSON line per message.
// Exit status: 0 on OK, 1 on a gRPC error (code, message and ErrorInfo printed), 2 on usage.
#include <iostream>
#include <iterator>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/synchronization/notification.h"
#include "absl/time/time.h"
#include "client/cli/stream_printer.h"
#include "google/protobuf/io/coded_stream.h"
#include "google/protobuf/util/json_util.h"
#include "grpcpp/generic/generic_stub.h"
#include "grpcpp/grpcpp.h"
#include "proto/embedded_descriptors.h"
#include "server/routing/api_descriptors.h"
#include "server/util/status_details.h"

namespace fgw {
namespace {

using google::protobuf::MethodDescriptor;
using google::protobuf::ServiceDescriptor;

struct Options {
  std::string addr = "127.0.0.1:50051";
  absl::Duration timeout = absl::Seconds(10);
  std::vector<std::pair<std::string, std::string>> metadata;
  std::vector<std::string> args;
};

int Usage() {
  std::cerr << "usage: formance-grpc-cli [--addr=HOST:PORT|unix:PATH] "
               "[--timeout=10s] "
               "[-H key=value]... (list [SERVICE] | describe SYMBOL | call "
               "METHOD [JSON|-])\n";
  return 2;
}

const MethodDescriptor* FindMethod(const ApiDescriptors& api,
                                   absl::string_view name) {
  std::string full(name);
  if (!absl::StartsWith(full, "formance."))
    full = absl::StrCat("formance.", full);
  // "formance.ledger.v2.ListLedgers" -> look in every service of that package.
  std::vector<std::string> slash = absl::StrSplit(full, '/');
  if (slash.size() == 2) {
    const ServiceDescriptor* s = api.pool()->FindServiceByName(slash[0]);
    return s ? s->FindMethodByName(slash[1]) : nullptr;
  }
  for (const ServiceDescriptor* s : api.services()) {
    if (absl::StartsWith(full, s->file()->package() + ".")) {
      const MethodDescriptor* m =
          s->FindMethodByName(full.substr(s->file()->package().size() + 1));
      if (m != nullptr) return m;
    }
  }
  return nullptr;
}

int List(const ApiDescriptors& api, const Options& opts) {
  for (const ServiceDescriptor* s : api.services()) {
    if (opts.args.size() > 1 && s->full_name() != opts.args[1]) continue;
    std::cout << s->full_name() << "\n";
    if (opts.args.size() > 1) {
      for (int i = 0; i < s->method_count(); ++i) {
        std::cout << "  " << s->method(i)->name() << "\n";
      }
    }
  }
  return 0;
}

int Describe(const ApiDescriptors& api, const Options& opts) {
  if (opts.args.size() != 2) return Usage();
  const std::string& symbol = opts.args[1];
  if (const MethodDescriptor* m = FindMethod(api, symbol)) {
    std::cout << m->DebugString() << "\n"
              << m->input_type()->DebugString() << "\n"
              << m->output_type()->DebugString();
    return 0;
  }
  if (auto* d = api.pool()->FindMessageTypeByName(symbol)) {
    std::cout << d->DebugString();
    return 0;
  }
  if (auto* s = api.pool()->FindServiceByName(symbol)) {
    std::cout << s->DebugString();
    return 0;
  }
  if (auto* e = api.pool()->FindEnumTypeByName(symbol)) {
    std::cout << e->DebugString();
    return 0;
  }
  std::cerr << "unknown symbol: " << symbol << "\n";
  return 1;
}

int Call(const ApiDescriptors& api, const Options& opts) {
  if (opts.args.size() < 2 || opts.args.size() > 3) return Usage();
  const MethodDescriptor* method = FindMethod(api, opts.args[1]);
  if (method == nullptr) {
    std::cerr << "unknown method: " << opts.args[1] << "\n";
    return 2;
  }
  std::string json = opts.args.size() == 3 ? opts.args[2] : "{}";
  if (json == "-") json.assign(std::istreambuf_iterator<char>(std::cin), {});
  std::unique_ptr<google::protobuf::Message> request(
      api.Prototype(method->input_type())->New());
  auto parsed =
      google::protobuf::util::JsonStringToMessage(json, request.get());
  if (!parsed.ok()) {
    std::cerr << "request JSON does not match "
              << method->input_type()->full_name() << ": " << parsed.message()
              << "\n";
    return 2;
  }
  auto channel =
      grpc::CreateChannel(opts.addr, grpc::InsecureChannelCredentials());
  if (method
          ->server_streaming()) {  // Stream rpcs: JSON lines (stream_printer.h).
    return PrintStream(channel, method, *request,
                       *api.Prototype(method->output_type()), opts.metadata,
                       absl::Now() + opts.timeout, std::cout, std::cerr);
  }
  grpc::GenericStub stub(channel);
  grpc::ClientContext ctx;
  ctx.set_deadline(absl::ToChronoTime(absl::Now() + opts.timeout));
  for (const auto& [k, v] : opts.metadata) ctx.AddMetadata(k, v);
  std::string bytes = request->SerializeAsString();
  grpc::Slice slice(bytes);
  grpc::ByteBuffer send(&slice, 1), recv;
  std::string path =
      absl::StrCat("/", method->service()->full_name(), "/", method->name());
  absl::Notification done;
  grpc::Status status;
  stub.UnaryCall(&ctx, path, grpc::StubOptions(), &send, &recv,
                 [&](grpc::Status s) {
                   status = std::move(s);
                   done.Notify();
                 });
  done.WaitForNotification();
  for (const auto& [k, v] : ctx.GetServerTrailingMetadata()) {
    if (absl::StartsWith(std::string(k.data(), k.size()), "formance-")) {
      std::cerr << std::string(k.data(), k.size()) << ": "
                << std::string(v.data(), v.size()) << "\n";
    }
  }
  if (!status.ok()) {
    std::cerr << "ERROR " << status.error_code() << ": "
              << status.error_message() << "\n";
    // google.rpc.Status.details -> ErrorInfo, by wire format (see status_details.h).
    const std::string& details = status.error_details();
    size_t at = details.find(kErrorInfoTypeUrl);
    if (at != std::string::npos) {
      // The Any's value follows its type URL: tag 0x12, length, bytes.
      size_t v = at + sizeof(kErrorInfoTypeUrl) - 1;
      if (v + 2 <= details.size() && details[v] == 0x12) {
        google::protobuf::io::CodedInputStream in(
            reinterpret_cast<const uint8_t*>(details.data() + v + 1),
            static_cast<int>(details.size() - v - 1));
        uint32_t len = 0;
        std::string value;
        if (in.ReadVarint32(&len) &&
            in.ReadString(&value, static_cast<int>(len))) {
          if (auto info = ParseErrorInfo(value)) {
            std::cerr << "  reason: " << info->reason
                      << "\n  domain: " << info->domain << "\n";
            for (const auto& [k, val] : info->metadata)
              std::cerr << "  " << k << ": " << val << "\n";
          }
        }
      }
    }
    return 1;
  }
  std::unique_ptr<google::protobuf::Message> reply(
      api.Prototype(method->output_type())->New());
  grpc::Slice out;
  std::vector<grpc::Slice> slices;
  recv.Dump(&slices);
  std::string reply_bytes;
  for (const auto& s : slices)
    reply_bytes.append(reinterpret_cast<const char*>(s.begin()), s.size());
  if (!reply->ParseFromString(reply_bytes)) {
    std::cerr << "reply does not parse as "
              << method->output_type()->full_name() << "\n";
    return 1;
  }
  google::protobuf::util::JsonPrintOptions print;
  print.add_whitespace = true;
  std::string text;
  (void)google::protobuf::util::MessageToJsonString(*reply, &text, print);
  std::cout << text;
  return 0;
}

int Main(int argc, char** argv) {
  Options opts;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (absl::StartsWith(a, "--addr=")) {
      opts.addr = a.substr(7);
    } else if (absl::StartsWith(a, "--timeout=")) {
      if (!absl::ParseDuration(a.substr(10), &opts.timeout)) return Usage();
    } else if (a == "-H" && i + 1 < argc) {
      std::pair<std::string, std::string> kv =
          absl::StrSplit(argv[++i], absl::MaxSplits('=', 1));
      opts.metadata.push_back(kv);
    } else if (a == "--help" || a == "-h") {
      Usage();
      return 0;
    } else {
      opts.args.push_back(a);
    }
  }
  if (opts.args.empty()) return Usage();
  auto api = ApiDescriptors::FromSerializedSet(EmbeddedApiDescriptorSet());
  if (!api.ok()) {
    std::cerr << api.status() << "\n";
    return 1;
  }
  if (opts.args[0] == "list") return List(**api, opts);
  if (opts.args[0] == "describe") return Describe(**api, opts);
  if (opts.args[0] == "call") return Call(**api, opts);
  return Usage();
}

}  // namespace
}  // namespace fgw

int main(int argc, char** argv) { return fgw::Main(argc, argv); }
