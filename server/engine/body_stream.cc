#include "server/engine/body_stream.h"

#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "server/transcoding/error_mapper.h"
#include "server/transcoding/request_encoder.h"
#include "server/util/status_details.h"
#include "spdlog/spdlog.h"

namespace fgw {
namespace {

void AppendVarint(uint64_t v, std::string& out) {
  while (v >= 0x80) {
    out.push_back(static_cast<char>((v & 0x7F) | 0x80));
    v >>= 7;
  }
  out.push_back(static_cast<char>(v));
}

// Runs `more` exactly once: when the write completes, or when the pending write is dropped
// (the call ended), so the transport is never left waiting.
class MoreOnce {
 public:
  explicit MoreOnce(std::function<void()> more) : more_(std::move(more)) {}
  ~MoreOnce() { Run(); }
  void Run() {
    std::function<void()> more = std::move(more_);
    more_ = nullptr;
    if (more) more();
  }

 private:
  std::function<void()> more_;
};

}  // namespace

void BodyStream::Start(const StreamMethod* method,
                       const ApiDescriptors* descriptors, UpstreamChain* chain,
                       Clock* clock, const UpstreamLimits& limits,
                       std::unique_ptr<google::protobuf::Message> request,
                       PageStreamOptions options,
                       std::shared_ptr<StreamSink> sink) {
  absl::StatusOr<HttpRequest> http =
      EncodeRequest(*method->list->request_plan, *request, limits);
  if (!http.ok()) {
    sink->Finish(http.status(), {});
    return;
  }
  auto stream = std::make_shared<BodyStream>(method, descriptors, clock,
                                             options, std::move(sink));
  CallContext ctx;
  ctx.deadline = options.deadline;
  ctx.cancellation = options.cancellation;
  ctx.options = options.call;
  ctx.options.bypass_cache = true;
  ctx.caller = options.caller;
  // The transport keeps the sink until its request is over, which may be after the chain's
  // answer (a cancel answers at once).
  ctx.options.body_sink = stream;
  chain->Call(method->spec, *std::move(http), ctx,
              [stream](CallOutcome outcome) {
                StreamSink* sink = stream->sink_.get();
                sink->Resume([stream = std::move(stream),
                              outcome = std::move(outcome)]() mutable {
                  stream->OnDone(outcome);
                });
              });
}

BodyStream::BodyStream(const StreamMethod* method,
                       const ApiDescriptors* descriptors, Clock* clock,
                       PageStreamOptions options,
                       std::shared_ptr<StreamSink> sink)
    : method_(method),
      descriptors_(descriptors),
      clock_(clock),
      options_(std::move(options)),
      sink_(std::move(sink)),
      start_(clock->Now()) {}

bool BodyStream::WantsBody(int status) {
  return IsSuccess(*method_->list->route, status);
}

void BodyStream::OnChunk(std::string chunk, std::function<void()> more) {
  auto once = std::make_shared<MoreOnce>(std::move(more));
  if (options_.cancellation != nullptr &&
      options_.cancellation->IsCancelled()) {
    return;  // `once` runs `more`; the request's cancellation ends it.
  }
  chunks_.fetch_add(1, std::memory_order_relaxed);
  bytes_.fetch_add(static_cast<int64_t>(chunk.size()),
                   std::memory_order_relaxed);
  std::string message;
  message.reserve(chunk.size() + 8);
  AppendVarint((static_cast<uint64_t>(method_->chunk_number) << 3) | 2,
               message);
  AppendVarint(chunk.size(), message);
  message.append(chunk);
  std::vector<std::string> messages;
  messages.push_back(std::move(message));
  sink_->Write(std::move(messages), [once]() { once->Run(); });
}

void BodyStream::OnDone(CallOutcome& outcome) {
  absl::Status status;
  int http_status = 0;
  if (!outcome.response.ok()) {
    status = outcome.response.status();
  } else {
    http_status = outcome.response->status;
    if (!IsSuccess(*method_->list->route, http_status)) {
      status =
          MapHttpError(*method_->list->route, *outcome.response, *descriptors_);
    }
  }
  StreamSink::Metadata trailers;
  trailers.emplace_back("formance-chunks", absl::StrCat(chunks_.load()));
  trailers.emplace_back("formance-bytes", absl::StrCat(bytes_.load()));
  trailers.emplace_back("formance-attempts", absl::StrCat(outcome.attempts));
  if (http_status != 0) {
    trailers.emplace_back(kHttpStatusTrailer, absl::StrCat(http_status));
  }
  spdlog::info("stream {} chunks={} bytes={} code={} attempts={} {:.1f}ms",
               method_->grpc_method, chunks_.load(), bytes_.load(),
               absl::StatusCodeToString(status.code()), outcome.attempts,
               absl::ToDoubleMilliseconds(clock_->Now() - start_));
  sink_->Finish(std::move(status), std::move(trailers));
}

}  // namespace fgw
