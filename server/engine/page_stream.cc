#include "server/engine/page_stream.h"

#include <algorithm>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "google/protobuf/arena.h"
#include "server/engine/stream_cursor.h"
#include "server/transcoding/error_mapper.h"
#include "server/transcoding/request_encoder.h"
#include "server/transcoding/response_decoder.h"
#include "server/util/status_details.h"
#include "spdlog/spdlog.h"

namespace fgw {
namespace {

using google::protobuf::Message;
using google::protobuf::Reflection;

void AppendVarint(uint64_t v, std::string& out) {
  while (v >= 0x80) {
    out.push_back(static_cast<char>((v & 0x7F) | 0x80));
    v >>= 7;
  }
  out.push_back(static_cast<char>(v));
}

// A length-delimited field: tag, length, bytes.
void AppendBytesField(int number, absl::string_view bytes, std::string& out) {
  AppendVarint((static_cast<uint64_t>(number) << 3) | 2, out);
  AppendVarint(bytes.size(), out);
  out.append(bytes.data(), bytes.size());
}

// The message holding the last field of `path` (every earlier step a singular message).
const Message& Parent(const Message& root, const FieldPath& path) {
  const Message* at = &root;
  for (size_t i = 0; i + 1 < path.size(); ++i) {
    at = &at->GetReflection()->GetMessage(*at, path[i]);
  }
  return *at;
}

std::string FormatPit(absl::Time t) {
  return absl::FormatTime("%Y-%m-%dT%H:%M:%E6SZ", t, absl::UTCTimeZone());
}

}  // namespace

void PageStream::Start(const StreamMethod* method,
                       const ApiDescriptors* descriptors, UpstreamChain* chain,
                       Clock* clock, const UpstreamLimits& limits,
                       std::unique_ptr<Message> request,
                       PageStreamOptions options,
                       std::shared_ptr<StreamSink> sink) {
  auto stream = std::make_shared<PageStream>(
      method, descriptors, chain, clock, limits, std::move(request),
      std::move(options), std::move(sink));
  if (absl::Status ready = stream->Prepare(); !ready.ok()) {
    stream->Finish(std::move(ready));
    return;
  }
  stream->Fetch();
}

PageStream::PageStream(const StreamMethod* method,
                       const ApiDescriptors* descriptors, UpstreamChain* chain,
                       Clock* clock, const UpstreamLimits& limits,
                       std::unique_ptr<Message> request,
                       PageStreamOptions options,
                       std::shared_ptr<StreamSink> sink)
    : method_(method),
      descriptors_(descriptors),
      chain_(chain),
      clock_(clock),
      limits_(limits),
      request_(std::move(request)),
      options_(std::move(options)),
      sink_(std::move(sink)),
      start_(clock->Now()) {}

absl::Status PageStream::Prepare() {
  const Reflection* r = request_->GetReflection();
  const bool has_cursor = r->HasField(*request_, method_->cursor);
  absl::StatusOr<StreamCursor> cursor = ParseStreamCursor(
      has_cursor ? r->GetString(*request_, method_->cursor) : "");
  if (!cursor.ok()) return cursor.status();
  skip_ = cursor->skip;
  if (method_->pit != nullptr) {
    if (r->HasField(*request_, method_->pit)) {
      pit_ = r->GetString(*request_, method_->pit);
    } else if (!cursor->pit.empty()) {
      pit_ = cursor->pit;
    } else if (cursor->upstream.empty()) {
      pit_ = FormatPit(clock_->Now());  // Pinned to the stream's start.
    }
  }
  if (!cursor->upstream.empty()) {
    PageRequest(cursor->upstream);
  } else {
    if (has_cursor) r->ClearField(request_.get(), method_->cursor);
    if (!pit_.empty()) r->SetString(request_.get(), method_->pit, pit_);
  }
  return absl::OkStatus();
}

void PageStream::PageRequest(const std::string& cursor) {
  // Path parameters are of any type (payments v1 `connector` is an enum): everything else is
  // cleared in place rather than copied.
  const Reflection* r = request_->GetReflection();
  const auto* d = request_->GetDescriptor();
  for (int i = 0; i < d->field_count(); ++i) {
    const auto* f = d->field(i);
    if (std::find(method_->path_fields.begin(), method_->path_fields.end(),
                  f) == method_->path_fields.end()) {
      r->ClearField(request_.get(), f);
    }
  }
  r->SetString(request_.get(), method_->cursor, cursor);
  page_cursor_ = cursor;
}

void PageStream::Fetch() {
  if (options_.cancellation != nullptr &&
      options_.cancellation->IsCancelled()) {
    Finish(absl::CancelledError("call cancelled"));
    return;
  }
  if (clock_->Now() >= options_.deadline) {
    Finish(absl::DeadlineExceededError(
        absl::StrCat("deadline exceeded before page ", pages_ + 1)));
    return;
  }
  absl::StatusOr<HttpRequest> http =
      EncodeRequest(*method_->list->request_plan, *request_, limits_);
  if (!http.ok()) {
    Finish(http.status());
    return;
  }
  CallContext ctx;
  ctx.deadline = options_.deadline;
  ctx.cancellation = options_.cancellation;
  ctx.options = options_.call;
  ctx.options.bypass_cache = true;
  ctx.caller = options_.caller;
  ++pages_;
  chain_->Call(method_->spec, *std::move(http), ctx,
               [self = shared_from_this()](CallOutcome outcome) {
                 StreamSink* sink = self->sink_.get();
                 sink->Resume([self = std::move(self),
                               outcome = std::move(outcome)]() mutable {
                   self->OnPage(outcome);
                 });
               });
}

void PageStream::OnPage(CallOutcome& outcome) {
  attempts_ += outcome.attempts;
  if (!outcome.response.ok()) {
    Finish(outcome.response.status());
    return;
  }
  const HttpResponse& response = *outcome.response;
  const Route& route = *method_->list->route;
  http_status_ = response.status;
  if (!IsSuccess(route, response.status)) {
    Finish(MapHttpError(route, response, *descriptors_));
    return;
  }
  google::protobuf::ArenaOptions arena_options;
  arena_options.start_block_size = 1024;
  arena_options.max_block_size = 1 << 20;
  google::protobuf::Arena arena(arena_options);
  Message* page = method_->list->response_prototype->New(&arena);
  if (absl::Status decoded =
          DecodeResponse(route, *method_->list->response_plan, response, page);
      !decoded.ok()) {
    Finish(std::move(decoded));
    return;
  }
  const Message& holder = Parent(*page, method_->items);
  const Reflection* hr = holder.GetReflection();
  const int count = hr->FieldSize(holder, method_->items.back());
  const Message& next_holder = Parent(*page, method_->next_cursor);
  std::string next = next_holder.GetReflection()->GetString(
      next_holder, method_->next_cursor.back());
  bool more = !next.empty();
  if (more && !method_->has_more.empty()) {
    const Message& m = Parent(*page, method_->has_more);
    more = m.GetReflection()->GetBool(m, method_->has_more.back());
  }
  if (more && next == page_cursor_) {
    Finish(absl::InternalError(absl::StrCat(
        "the upstream's next cursor repeats the current one (page ", pages_,
        ")")));
    return;
  }

  std::vector<std::string> messages;
  std::string item;
  bool full = false;
  for (int i = static_cast<int>(std::min<int64_t>(skip_, count)); i < count;
       ++i) {
    if (options_.max_items > 0 && items_ >= options_.max_items) {
      full = true;
      break;
    }
    item.clear();
    hr->GetRepeatedMessage(holder, method_->items.back(), i)
        .SerializePartialToString(&item);
    std::string cursor;
    if (i + 1 < count) {
      cursor = FormatStreamCursor({page_cursor_, i + 1, pit_});
    } else if (more) {
      cursor = FormatStreamCursor({next, 0, pit_});
    }
    std::string& out = messages.emplace_back();
    out.reserve(item.size() + cursor.size() + 16);
    AppendBytesField(method_->item_number, item, out);
    if (!cursor.empty()) AppendBytesField(method_->cursor_number, cursor, out);
    ++items_;
  }
  if (options_.max_items > 0 && items_ >= options_.max_items) full = true;
  const bool done = full || !more;
  empty_pages_ = messages.empty() ? empty_pages_ + 1 : 0;
  if (!done && empty_pages_ >= kMaxEmptyPages) {
    Finish(
        absl::InternalError(absl::StrCat("the upstream sent ", kMaxEmptyPages,
                                         " pages in a row without an item")));
    return;
  }
  if (done) {
    sink_->Write(std::move(messages), {});
    Finish(absl::OkStatus());
    return;
  }
  PageRequest(next);
  skip_ = 0;
  // The next page only once this one is out (flow control).
  sink_->Write(std::move(messages),
               [self = shared_from_this()]() { self->Fetch(); });
}

void PageStream::Finish(absl::Status status) {
  StreamSink::Metadata trailers;
  trailers.emplace_back("formance-pages", absl::StrCat(pages_));
  trailers.emplace_back("formance-items", absl::StrCat(items_));
  trailers.emplace_back("formance-attempts", absl::StrCat(attempts_));
  if (http_status_ != 0) {
    trailers.emplace_back(kHttpStatusTrailer, absl::StrCat(http_status_));
  }
  spdlog::info("stream {} pages={} items={} code={} attempts={} {:.1f}ms",
               method_->grpc_method, pages_, items_,
               absl::StatusCodeToString(status.code()), attempts_,
               absl::ToDoubleMilliseconds(clock_->Now() - start_));
  sink_->Finish(std::move(status), std::move(trailers));
}

}  // namespace fgw
