#include "server/grpc/reflection_service.h"

#include <algorithm>
#include <utility>

#include "absl/strings/str_cat.h"
#include "google/protobuf/descriptor.h"
#include "reflection.pb.h"
#include "server/grpc/builtin_descriptors.h"
#include "server/grpc/pool_reflection_source.h"
#include "server/grpc/status_conversion.h"

namespace fgw {
namespace {

namespace rpb = ::grpc::reflection::v1alpha;

// Serves one ServerReflectionInfo stream: read a request, write its answer, repeat. Only one
// operation is outstanding at a time, so the reactions never run concurrently.
// Answers each request as it arrives; the writes queue in order on the call.
class ReflectionReactor final : public CallReactor {
 public:
  explicit ReflectionReactor(const ReflectionService* service)
      : service_(service) {}

  void OnMessage(ServerCall* call, std::string message) override {
    absl::StatusOr<std::string> answer = service_->Answer(message);
    if (!answer.ok()) {
      call->Finish(ToGrpcStatus(answer.status()));
      return;
    }
    call->Write(*std::move(answer));
  }
  void OnHalfClose(ServerCall* call) override {
    call->Finish(grpc::Status::OK);
  }

 private:
  const ReflectionService* const service_;
};

void SetError(const absl::Status& status,
              rpb::ServerReflectionResponse* response) {
  rpb::ErrorResponse* error = response->mutable_error_response();
  error->set_error_code(static_cast<int>(status.code()));
  error->set_error_message(std::string(status.message()));
}

void SetFiles(const absl::StatusOr<std::vector<std::string>>& files,
              rpb::ServerReflectionResponse* response) {
  if (!files.ok()) return SetError(files.status(), response);
  auto* out = response->mutable_file_descriptor_response();
  for (const std::string& file : *files) out->add_file_descriptor_proto(file);
}

// Asks `source`, then (on NOT_FOUND or no source) the generated pool with reflection v1.
template <typename Lookup>
auto WithFallback(const ReflectionSource* source, Lookup lookup) {
  static const PoolReflectionSource* generated =
      new PoolReflectionSource(ReflectionFallbackPool());
  if (source != nullptr) {
    auto result = lookup(*source);
    if (result.ok() || !absl::IsNotFound(result.status())) return result;
    auto fallback = lookup(*generated);
    return fallback.ok() ? fallback : result;
  }
  return lookup(*generated);
}

}  // namespace

absl::StatusOr<std::vector<std::string>>
ReflectionSource::FileContainingExtension(const std::string& containing_type,
                                          int field_number) const {
  return absl::NotFoundError(absl::StrCat(
      "extension not found: ", containing_type, " ", field_number));
}

absl::StatusOr<std::vector<int>> ReflectionSource::AllExtensionNumbersOfType(
    const std::string& type) const {
  return absl::NotFoundError(absl::StrCat("type not found: ", type));
}

ReflectionService::ReflectionService(const ReflectionSource* source,
                                     std::vector<std::string> service_names)
    : source_(source), listed_services_(std::move(service_names)) {
  for (const char* builtin :
       {kHealthServiceName, kReflectionV1ServiceName, kReflectionServiceName}) {
    if (std::find(listed_services_.begin(), listed_services_.end(), builtin) ==
        listed_services_.end()) {
      listed_services_.push_back(builtin);
    }
  }
}

std::unique_ptr<CallReactor> ReflectionService::NewReactor() const {
  return std::make_unique<ReflectionReactor>(this);
}

absl::StatusOr<std::string> ReflectionService::Answer(
    const std::string& bytes) const {
  rpb::ServerReflectionRequest request;
  if (!request.ParseFromString(bytes)) {
    return absl::InvalidArgumentError("ServerReflectionRequest does not parse");
  }
  rpb::ServerReflectionResponse response;
  response.set_valid_host(request.host());
  *response.mutable_original_request() = request;
  switch (request.message_request_case()) {
    case rpb::ServerReflectionRequest::kListServices: {
      auto* list = response.mutable_list_services_response();
      for (const std::string& name : listed_services_)
        list->add_service()->set_name(name);
      break;
    }
    case rpb::ServerReflectionRequest::kFileByFilename:
      SetFiles(
          WithFallback(source_,
                       [&](const ReflectionSource& s) {
                         return s.FileByFilename(request.file_by_filename());
                       }),
          &response);
      break;
    case rpb::ServerReflectionRequest::kFileContainingSymbol:
      SetFiles(WithFallback(source_,
                            [&](const ReflectionSource& s) {
                              return s.FileContainingSymbol(
                                  request.file_containing_symbol());
                            }),
               &response);
      break;
    case rpb::ServerReflectionRequest::kFileContainingExtension: {
      const rpb::ExtensionRequest& ext = request.file_containing_extension();
      SetFiles(WithFallback(source_,
                            [&](const ReflectionSource& s) {
                              return s.FileContainingExtension(
                                  ext.containing_type(),
                                  ext.extension_number());
                            }),
               &response);
      break;
    }
    case rpb::ServerReflectionRequest::kAllExtensionNumbersOfType: {
      const std::string& type = request.all_extension_numbers_of_type();
      auto numbers = WithFallback(source_, [&](const ReflectionSource& s) {
        return s.AllExtensionNumbersOfType(type);
      });
      if (!numbers.ok()) {
        SetError(numbers.status(), &response);
        break;
      }
      auto* out = response.mutable_all_extension_numbers_response();
      out->set_base_type_name(type);
      for (int n : *numbers) out->add_extension_number(n);
      break;
    }
    default:
      SetError(absl::UnimplementedError("unknown reflection request"),
               &response);
      break;
  }
  return response.SerializeAsString();
}

}  // namespace fgw
