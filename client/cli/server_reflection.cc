#include "client/cli/server_reflection.h"

#include "absl/strings/str_cat.h"
#include "client/cli/status_output.h"
#include "google/protobuf/descriptor.pb.h"
#include "grpcpp/client_context.h"
#include "grpcpp/generic/generic_stub.h"
#include "grpcpp/support/byte_buffer.h"
#include "reflection.pb.h"

namespace fgw::cli {
namespace {

namespace rpb = ::grpc::reflection::v1alpha;

constexpr char kV1Method[] =
    "/grpc.reflection.v1.ServerReflection/ServerReflectionInfo";
constexpr char kV1alphaMethod[] =
    "/grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo";

std::string ToString(const grpc::ByteBuffer& buffer) {
  std::vector<grpc::Slice> slices;
  (void)buffer.Dump(&slices);
  std::string out;
  for (const grpc::Slice& s : slices) {
    out.append(reinterpret_cast<const char*>(s.begin()), s.size());
  }
  return out;
}

// Waits for the one outstanding operation on `cq`.
bool Wait(grpc::CompletionQueue& cq) {
  void* tag = nullptr;
  bool ok = false;
  return cq.Next(&tag, &ok) && ok;
}

}  // namespace

ServerReflection::ServerReflection(
    std::shared_ptr<grpc::Channel> channel, std::string addr,
    absl::Duration timeout,
    std::vector<std::pair<std::string, std::string>> metadata)
    : channel_(std::move(channel)),
      addr_(std::move(addr)),
      timeout_(timeout),
      metadata_(std::move(metadata)) {}

absl::StatusOr<std::string> ServerReflection::AskOn(
    const std::string& method, const std::string& request) {
  grpc::ClientContext ctx;
  ctx.set_deadline(absl::ToChronoTime(absl::Now() + timeout_));
  for (const auto& [k, v] : metadata_) ctx.AddMetadata(k, v);
  grpc::CompletionQueue cq;
  grpc::GenericStub stub(channel_);
  std::unique_ptr<grpc::GenericClientAsyncReaderWriter> call =
      stub.PrepareCall(&ctx, method, &cq);
  void* const tag = call.get();
  call->StartCall(tag);
  bool ok = Wait(cq);
  grpc::Slice slice(request);
  grpc::ByteBuffer out(&slice, 1), in;
  if (ok) {
    call->Write(out, tag);
    ok = Wait(cq);
  }
  if (ok) {
    call->WritesDone(tag);
    ok = Wait(cq);
  }
  bool have_answer = false;
  if (ok) {
    call->Read(&in, tag);
    have_answer = Wait(cq);
  }
  grpc::Status status;
  call->Finish(&status, tag);
  Wait(cq);
  cq.Shutdown();
  void* drained_tag = nullptr;
  bool drained_ok = false;
  while (cq.Next(&drained_tag, &drained_ok)) {
  }
  if (have_answer) return ToString(in);
  if (status.ok()) {
    status = grpc::Status(grpc::StatusCode::INTERNAL,
                          "reflection stream ended without an answer");
  }
  std::string what =
      status.error_code() == grpc::StatusCode::UNAVAILABLE ||
              status.error_code() == grpc::StatusCode::DEADLINE_EXCEEDED
          ? absl::StrCat("no gateway answers at ", addr_, ": ")
          : absl::StrCat("server reflection at ", addr_, ": ");
  return absl::Status(static_cast<absl::StatusCode>(status.error_code()),
                      absl::StrCat(what, StatusCodeName(status.error_code()),
                                   ": ", status.error_message()));
}

absl::StatusOr<std::string> ServerReflection::Ask(const std::string& request) {
  if (!v1alpha_only_) {
    absl::StatusOr<std::string> answer = AskOn(kV1Method, request);
    if (!absl::IsUnimplemented(answer.status())) return answer;
    v1alpha_only_ = true;
  }
  return AskOn(kV1alphaMethod, request);
}

absl::StatusOr<std::vector<std::string>> ServerReflection::ListServices() {
  rpb::ServerReflectionRequest request;
  request.set_list_services("*");
  absl::StatusOr<std::string> answer = Ask(request.SerializeAsString());
  if (!answer.ok()) return answer.status();
  rpb::ServerReflectionResponse response;
  if (!response.ParseFromString(*answer) ||
      !response.has_list_services_response()) {
    return absl::InternalError("reflection: no service list in the answer");
  }
  std::vector<std::string> names;
  for (const auto& s : response.list_services_response().service()) {
    names.push_back(s.name());
  }
  return names;
}

absl::Status ServerReflection::AddFiles(const std::string& bytes) {
  rpb::ServerReflectionResponse response;
  if (!response.ParseFromString(bytes)) {
    return absl::InternalError("reflection: answer does not parse");
  }
  if (response.has_error_response()) {
    return absl::Status(
        static_cast<absl::StatusCode>(response.error_response().error_code()),
        response.error_response().error_message());
  }
  std::vector<std::string> missing;
  for (const std::string& file_bytes :
       response.file_descriptor_response().file_descriptor_proto()) {
    google::protobuf::FileDescriptorProto file;
    if (!file.ParseFromString(file_bytes) || ++fetched_ > kMaxReflectedFiles) {
      return absl::InternalError("reflection: bad or too many files");
    }
    if (!known_files_.insert(file.name()).second) continue;
    for (const std::string& dep : file.dependency()) missing.push_back(dep);
    if (!database_.Add(file)) {
      return absl::InternalError(
          absl::StrCat("reflection: conflicting file ", file.name()));
    }
  }
  for (const std::string& dep : missing) {
    if (known_files_.count(dep)) continue;
    rpb::ServerReflectionRequest request;
    request.set_file_by_filename(dep);
    absl::StatusOr<std::string> answer = Ask(request.SerializeAsString());
    if (!answer.ok()) return answer.status();
    if (absl::Status s = AddFiles(*answer); !s.ok()) return s;
  }
  return absl::OkStatus();
}

absl::Status ServerReflection::LoadSymbol(const std::string& symbol) {
  if (pool_.FindFileContainingSymbol(symbol) != nullptr) {
    return absl::OkStatus();
  }
  rpb::ServerReflectionRequest request;
  request.set_file_containing_symbol(symbol);
  absl::StatusOr<std::string> answer = Ask(request.SerializeAsString());
  if (!answer.ok()) return answer.status();
  return AddFiles(*answer);
}

}  // namespace fgw::cli
