#include "server/engine/stream_handler.h"

#include <utility>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "server/engine/body_stream.h"
#include "server/engine/page_stream.h"

namespace fgw {
namespace {

const std::string* FindMetadata(const IncomingCall& call,
                                absl::string_view key) {
  for (const auto& [k, v] : call.metadata) {
    if (k == key) return &v;
  }
  return nullptr;
}

}  // namespace

StreamHandler::StreamHandler(const ApiDescriptors* descriptors,
                             const StreamMethods* streams, UpstreamChain* chain,
                             Clock* clock, const UpstreamLimits& limits)
    : descriptors_(descriptors),
      streams_(streams),
      chain_(chain),
      clock_(clock),
      limits_(limits) {}

bool StreamHandler::IsStream(absl::string_view method) const {
  return streams_->Find(method) != nullptr;
}

void StreamHandler::HandleStream(const IncomingCall& call, std::string request,
                                 std::shared_ptr<StreamSink> sink) {
  const StreamMethod* method = streams_->Find(call.method);
  if (method == nullptr) {
    sink->Finish(absl::UnimplementedError(absl::StrCat(
                     "method ", call.method, " is not a stream served here")),
                 {});
    return;
  }
  std::unique_ptr<google::protobuf::Message> message(
      method->list->request_prototype->New());
  if (!message->ParsePartialFromString(request)) {
    sink->Finish(absl::InvalidArgumentError(absl::StrCat(
                     "request does not parse as ",
                     method->list->route->method->input_type()->full_name())),
                 {});
    return;
  }
  PageStreamOptions options;
  options.deadline = call.deadline;
  options.cancellation = call.cancellation;
  options.caller = call.credential;
  if (const std::string* v = FindMetadata(call, "x-formance-max-items")) {
    if (!absl::SimpleAtoi(*v, &options.max_items) || options.max_items < 1) {
      sink->Finish(absl::InvalidArgumentError(
                       "x-formance-max-items must be a whole number of at "
                       "least 1"),
                   {});
      return;
    }
  }
  if (const std::string* v = FindMetadata(call, "x-formance-max-attempts")) {
    int n = 0;
    if (!absl::SimpleAtoi(*v, &n) || n < 1) {
      sink->Finish(absl::InvalidArgumentError(
                       "x-formance-max-attempts must be a whole number of at "
                       "least 1"),
                   {});
      return;
    }
    options.call.max_attempts = n;  // The retry filter caps it.
  }
  if (method->raw_body) {
    BodyStream::Start(method, descriptors_, chain_, clock_, limits_,
                      std::move(message), std::move(options), std::move(sink));
    return;
  }
  PageStream::Start(method, descriptors_, chain_, clock_, limits_,
                    std::move(message), std::move(options), std::move(sink));
}

}  // namespace fgw
