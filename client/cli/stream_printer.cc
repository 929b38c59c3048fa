#include "client/cli/stream_printer.h"

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "client/cli/status_output.h"
#include "google/protobuf/util/json_util.h"
#include "grpcpp/client_context.h"
#include "grpcpp/impl/codegen/sync_stream.h"
#include "grpcpp/support/byte_buffer.h"

namespace fgw {

int PrintStream(
    const std::shared_ptr<grpc::Channel>& channel,
    const google::protobuf::MethodDescriptor* method,
    const google::protobuf::Message& request,
    const google::protobuf::Message& response_prototype,
    const std::vector<std::pair<std::string, std::string>>& metadata,
    absl::Time deadline, std::ostream& out, std::ostream& err) {
  grpc::ClientContext ctx;
  ctx.set_deadline(absl::ToChronoTime(deadline));
  for (const auto& [k, v] : metadata) ctx.AddMetadata(k, v);
  const std::string path =
      absl::StrCat("/", method->service()->full_name(), "/", method->name());
  grpc::internal::RpcMethod rpc(path.c_str(),
                                grpc::internal::RpcMethod::SERVER_STREAMING);
  std::string bytes = request.SerializeAsString();
  grpc::Slice slice(bytes);
  grpc::ByteBuffer send(&slice, 1);
  std::unique_ptr<grpc::ClientReader<grpc::ByteBuffer>> reader(
      grpc::internal::ClientReaderFactory<grpc::ByteBuffer>::Create(
          channel.get(), rpc, &ctx, send));
  std::unique_ptr<google::protobuf::Message> reply(response_prototype.New());
  google::protobuf::util::JsonPrintOptions print;  // One line per message.
  grpc::ByteBuffer recv;
  bool parse_error = false;
  while (reader->Read(&recv)) {
    std::vector<grpc::Slice> slices;
    (void)recv.Dump(&slices);
    std::string data;
    for (const auto& s : slices) {
      data.append(reinterpret_cast<const char*>(s.begin()), s.size());
    }
    reply->Clear();
    if (!reply->ParseFromString(data)) {
      err << "a message does not parse as "
          << response_prototype.GetDescriptor()->full_name() << "\n";
      parse_error = true;
      ctx.TryCancel();
      break;
    }
    std::string line;
    (void)google::protobuf::util::MessageToJsonString(*reply, &line, print);
    out << line << "\n";
  }
  grpc::Status status = reader->Finish();
  for (const auto& [k, v] : ctx.GetServerTrailingMetadata()) {
    if (absl::StartsWith(absl::string_view(k.data(), k.size()), "formance-")) {
      err << std::string(k.data(), k.size()) << ": "
          << std::string(v.data(), v.size()) << "\n";
    }
  }
  if (parse_error) return 1;
  if (!status.ok()) {
    err << cli::FormatError(status.error_code(), status.error_message(),
                            status.error_details());
    return 1;
  }
  return 0;
}

}  // namespace fgw
