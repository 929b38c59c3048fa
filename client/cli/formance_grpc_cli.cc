// formance-grpc-cli: a small command-line client for the gateway, for a first call, for
// scripts and for container health checks (Debian has neither grpcurl nor grpc_cli). It
// follows grpcurl's habits (cli_options.h) and learns the API from the server's reflection
// (server_reflection.h), so it describes whatever the running gateway serves. It speaks
// proto3 JSON (big integers are strings).
//
// A server-streaming method (the Stream rpcs: ledger.v2.StreamTransactions) prints one JSON
// line per message (stream_printer.h).
//
// Exit status: 0 on OK (health: iff SERVING), 1 on a gRPC error (code name, message and
// ErrorInfo on stderr, status_output.h) or when no gateway answers, 2 on usage.
#include <iostream>
#include <iterator>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/notification.h"
#include "client/cli/cli_options.h"
#include "client/cli/server_reflection.h"
#include "client/cli/status_output.h"
#include "client/cli/stream_printer.h"
#include "google/protobuf/dynamic_message.h"
#include "google/protobuf/io/coded_stream.h"
#include "google/protobuf/util/json_util.h"
#include "grpcpp/generic/generic_stub.h"
#include "grpcpp/grpcpp.h"

namespace fgw::cli {
namespace {

using google::protobuf::MethodDescriptor;
using google::protobuf::ServiceDescriptor;

int Fail(const absl::Status& status) {
  std::cerr << status.message() << "\n";
  return 1;
}

// Unary call of `path` with raw bytes; prints formance-* trailers and errors to stderr.
grpc::Status UnaryCall(grpc::Channel* channel, const Options& opts,
                       const std::string& path, const std::string& request,
                       std::string* reply) {
  grpc::GenericStub stub(std::shared_ptr<grpc::Channel>(channel, [](auto*) {}));
  grpc::ClientContext ctx;
  ctx.set_deadline(absl::ToChronoTime(absl::Now() + opts.timeout));
  for (const auto& [k, v] : opts.metadata) ctx.AddMetadata(k, v);
  grpc::Slice slice(request);
  grpc::ByteBuffer send(&slice, 1), recv;
  absl::Notification done;
  grpc::Status status;
  stub.UnaryCall(&ctx, path, grpc::StubOptions(), &send, &recv,
                 [&](grpc::Status s) {
                   status = std::move(s);
                   done.Notify();
                 });
  done.WaitForNotification();
  for (const auto& [k, v] : ctx.GetServerTrailingMetadata()) {
    if (absl::StartsWith(absl::string_view(k.data(), k.size()), "formance-")) {
      std::cerr << absl::string_view(k.data(), k.size()) << ": "
                << absl::string_view(v.data(), v.size()) << "\n";
    }
  }
  if (!status.ok()) {
    std::cerr << FormatError(status.error_code(), status.error_message(),
                             status.error_details());
    return status;
  }
  std::vector<grpc::Slice> slices;
  (void)recv.Dump(&slices);
  for (const auto& s : slices) {
    reply->append(reinterpret_cast<const char*>(s.begin()), s.size());
  }
  return status;
}

// `name` as Service/Method, Service.Method or the short package.Method
// (ledger.v2.ListLedgers); "formance." may be left out.
absl::StatusOr<const MethodDescriptor*> ResolveMethod(
    ServerReflection& reflection, const std::string& name) {
  size_t cut = name.rfind('/');
  if (cut == std::string::npos) cut = name.rfind('.');
  if (cut == std::string::npos || cut == 0 || cut + 1 == name.size()) {
    return absl::InvalidArgumentError(
        absl::StrCat("not a method name (Service/Method): ", name));
  }
  std::string prefix = name.substr(0, cut), method = name.substr(cut + 1);
  for (const std::string& service : {prefix, "formance." + prefix}) {
    absl::Status loaded = reflection.LoadSymbol(service);
    if (absl::IsUnavailable(loaded) || absl::IsDeadlineExceeded(loaded)) {
      return loaded;
    }
    const ServiceDescriptor* s =
        loaded.ok() ? reflection.pool()->FindServiceByName(service) : nullptr;
    if (s != nullptr) {
      if (const MethodDescriptor* m = s->FindMethodByName(method)) return m;
      return absl::NotFoundError(
          absl::StrCat("service ", service, " has no method ", method));
    }
  }
  // Short form: the package's service(s).
  absl::StatusOr<std::vector<std::string>> services = reflection.ListServices();
  if (!services.ok()) return services.status();
  for (const std::string& package : {prefix, "formance." + prefix}) {
    for (const std::string& service : *services) {
      if (!absl::StartsWith(service, package + ".") ||
          service.find('.', package.size() + 1) != std::string::npos ||
          !reflection.LoadSymbol(service).ok()) {
        continue;
      }
      const ServiceDescriptor* s =
          reflection.pool()->FindServiceByName(service);
      if (s == nullptr) continue;
      if (const MethodDescriptor* m = s->FindMethodByName(method)) return m;
    }
  }
  return absl::NotFoundError(absl::StrCat("unknown method: ", name));
}

int List(ServerReflection& reflection, const Options& opts) {
  if (opts.args.empty()) {
    absl::StatusOr<std::vector<std::string>> services =
        reflection.ListServices();
    if (!services.ok()) return Fail(services.status());
    for (const std::string& s : *services) std::cout << s << "\n";
    return 0;
  }
  const std::string& name = opts.args[0];
  if (absl::Status s = reflection.LoadSymbol(name); !s.ok()) return Fail(s);
  const ServiceDescriptor* service = reflection.pool()->FindServiceByName(name);
  if (service == nullptr)
    return Fail(absl::NotFoundError("not a service: " + name));
  for (int i = 0; i < service->method_count(); ++i) {
    std::cout << service->method(i)->full_name() << "\n";
  }
  return 0;
}

int Describe(ServerReflection& reflection, const Options& opts) {
  const std::string& symbol = opts.args[0];
  const google::protobuf::DescriptorPool* pool = reflection.pool();
  absl::Status loaded = reflection.LoadSymbol(symbol);
  if (absl::IsUnavailable(loaded) || absl::IsDeadlineExceeded(loaded)) {
    return Fail(loaded);
  }
  if (loaded.ok()) {
    if (auto* s = pool->FindServiceByName(symbol)) {
      std::cout << s->DebugString();
      return 0;
    }
    if (auto* d = pool->FindMessageTypeByName(symbol)) {
      std::cout << d->DebugString();
      return 0;
    }
    if (auto* e = pool->FindEnumTypeByName(symbol)) {
      std::cout << e->DebugString();
      return 0;
    }
  }
  absl::StatusOr<const MethodDescriptor*> m = ResolveMethod(reflection, symbol);
  if (!m.ok()) return Fail(loaded.ok() ? m.status() : loaded);
  std::cout << (*m)->DebugString() << "\n"
            << (*m)->input_type()->DebugString() << "\n"
            << (*m)->output_type()->DebugString();
  return 0;
}

int Call(grpc::Channel* channel, ServerReflection& reflection,
         const Options& opts) {
  absl::StatusOr<const MethodDescriptor*> method =
      ResolveMethod(reflection, opts.args[0]);
  if (!method.ok()) return Fail(method.status());
  if ((*method)->client_streaming()) {
    std::cerr << (*method)->full_name() << " is a client-streaming method\n";
    return 2;
  }
  std::string json = opts.data.empty() ? "{}" : opts.data;
  if (json == "-") json.assign(std::istreambuf_iterator<char>(std::cin), {});
  google::protobuf::DynamicMessageFactory factory(reflection.pool());
  std::unique_ptr<google::protobuf::Message> request(
      factory.GetPrototype((*method)->input_type())->New());
  auto parsed =
      google::protobuf::util::JsonStringToMessage(json, request.get());
  if (!parsed.ok()) {
    std::cerr << "request JSON does not match "
              << (*method)->input_type()->full_name() << ": "
              << parsed.message() << "\n";
    return 2;
  }
  // Stream rpcs: JSON lines (stream_printer.h).
  if ((*method)->server_streaming()) {
    return PrintStream(
        std::shared_ptr<grpc::Channel>(channel, [](auto*) {}), *method,
        *request, *factory.GetPrototype((*method)->output_type()),
        opts.metadata, absl::Now() + opts.timeout, std::cout, std::cerr);
  }
  std::string path = absl::StrCat("/", (*method)->service()->full_name(), "/",
                                  (*method)->name());
  std::string reply_bytes;
  if (!UnaryCall(channel, opts, path, request->SerializeAsString(),
                 &reply_bytes)
           .ok()) {
    return 1;
  }
  std::unique_ptr<google::protobuf::Message> reply(
      factory.GetPrototype((*method)->output_type())->New());
  if (!reply->ParseFromString(reply_bytes)) {
    std::cerr << "reply does not parse as "
              << (*method)->output_type()->full_name() << "\n";
    return 1;
  }
  google::protobuf::util::JsonPrintOptions print;
  print.add_whitespace = true;
  std::string text;
  (void)google::protobuf::util::MessageToJsonString(*reply, &text, print);
  std::cout << text;
  return 0;
}

// grpc.health.v1.Health/Check, encoded by hand (no reflection needed): exit 0 iff SERVING.
int Health(grpc::Channel* channel, const Options& opts) {
  std::string request;
  if (!opts.args.empty()) {
    google::protobuf::io::StringOutputStream raw(&request);
    google::protobuf::io::CodedOutputStream out(&raw);
    out.WriteTag(0x0a);  // service = 1, length-delimited
    out.WriteVarint32(static_cast<uint32_t>(opts.args[0].size()));
    out.WriteString(opts.args[0]);
  }
  std::string reply;
  grpc::Status status =
      UnaryCall(channel, opts, "/grpc.health.v1.Health/Check", request, &reply);
  if (!status.ok()) return 1;
  google::protobuf::io::CodedInputStream in(
      reinterpret_cast<const uint8_t*>(reply.data()),
      static_cast<int>(reply.size()));
  uint32_t serving_status = 0;  // UNKNOWN
  while (uint32_t tag = in.ReadTag()) {
    if (tag == 0x08) {  // status = 1, varint
      if (!in.ReadVarint32(&serving_status)) break;
    } else if (!google::protobuf::internal::WireFormatLite::SkipField(&in,
                                                                      tag)) {
      break;
    }
  }
  static const char* const kNames[] = {"UNKNOWN", "SERVING", "NOT_SERVING",
                                       "SERVICE_UNKNOWN"};
  std::cout << (serving_status < 4 ? kNames[serving_status] : "UNKNOWN")
            << "\n";
  return serving_status == 1 ? 0 : 1;
}

int Main(int argc, char** argv) {
  absl::StatusOr<Options> opts =
      ParseOptions(std::vector<std::string>(argv + 1, argv + argc));
  if (!opts.ok()) {
    bool help = argc == 2 && (std::string(argv[1]) == "--help" ||
                              std::string(argv[1]) == "-h");
    if (!help) std::cerr << opts.status().message() << "\n";
    (help ? std::cout : std::cerr) << UsageText();
    return help ? 0 : 2;
  }
  std::shared_ptr<grpc::Channel> channel =
      grpc::CreateChannel(opts->addr, grpc::InsecureChannelCredentials());
  if (opts->command == "health") return Health(channel.get(), *opts);
  ServerReflection reflection(channel, opts->addr, opts->timeout,
                              opts->metadata);
  if (opts->command == "list") return List(reflection, *opts);
  if (opts->command == "describe") return Describe(reflection, *opts);
  return Call(channel.get(), reflection, *opts);
}

}  // namespace
}  // namespace fgw::cli

int main(int argc, char** argv) { return fgw::cli::Main(argc, argv); }
