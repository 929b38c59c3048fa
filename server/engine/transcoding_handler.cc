#include "server/engine/transcoding_handler.h"

#include <algorithm>
#include <utility>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "google/protobuf/arena.h"
#include "server/transcoding/error_mapper.h"
#include "server/transcoding/request_encoder.h"
#include "server/transcoding/response_decoder.h"
#include "server/upstream/http_field.h"
#include "server/util/call_log.h"
#include "server/util/status_details.h"
#include "server/util/trace_context.h"
#include "spdlog/spdlog.h"

namespace fgw {
namespace {

const std::string* FindMetadata(const IncomingCall& call,
                                absl::string_view key) {
  for (const auto& [k, v] : call.metadata) {
    if (k == key) return &v;
  }
  return nullptr;
}

// Arena blocks sized from the wire size, so a page of 1,000 transactions takes a few large
// blocks rather than hundreds of 8 KiB ones.
google::protobuf::ArenaOptions ArenaOptionsFor(size_t wire_bytes) {
  google::protobuf::ArenaOptions options;
  options.start_block_size = 1024;
  options.max_block_size =
      std::max<size_t>(8192, std::min<size_t>(wire_bytes, 1 << 20));
  return options;
}

void Fail(const std::function<void(CallResult)>& done, absl::Status status) {
  CallResult result;
  result.status = std::move(status);
  done(std::move(result));
}

// A call refused before the chain (it does not parse, cannot be encoded): counted and logged
// like the others, with no HTTP status and no attempt.
void Refuse(const MethodEntry& entry, Clock* clock, absl::Time start,
            const std::function<void(CallResult)>& done, absl::Status status) {
  const absl::Duration latency = clock->Now() - start;
  if (entry.spec.metrics != nullptr) {
    entry.spec.metrics->Handled(status.code(), latency);
  }
  if (spdlog::should_log(spdlog::level::info)) {
    CallLogRecord record;
    record.method = entry.spec.method;
    record.operation_id = entry.route->rules.operation_id();
    record.code = status.code();
    record.latency = latency;
    spdlog::info("{}", FormatCallLog(record, LogFormatInUse()));
  }
  Fail(done, std::move(status));
}

// The response message or the mapped error, from the chain's outcome.
void BuildReply(const MethodEntry& entry, const ApiDescriptors& descriptors,
                CallOutcome& outcome, CallResult& result) {
  const Route& route = *entry.route;
  int http_status = 0;
  if (!outcome.response.ok()) {
    result.status = outcome.response.status();
  } else {
    const HttpResponse& response = *outcome.response;
    http_status = response.status;
    if (IsSuccess(route, response.status)) {
      // One arena per reply: no per-field malloc, and the tree is freed in a few blocks.
      google::protobuf::Arena arena(ArenaOptionsFor(response.body.size()));
      google::protobuf::Message* reply = entry.response_prototype->New(&arena);
      result.status =
          DecodeResponse(route, *entry.response_plan, response, reply);
      // Partial: proto3 has no required fields, the full check would only walk the tree.
      if (result.status.ok() &&
          !reply->SerializePartialToString(&result.response)) {
        result.status = absl::InternalError("response does not serialize");
      }
    } else {
      result.status = MapHttpError(route, response, descriptors);
    }
  }
  result.trailing_metadata.emplace_back("formance-attempts",
                                        absl::StrCat(outcome.attempts));
  if (!outcome.idempotency_key.empty()) {
    result.trailing_metadata.emplace_back("formance-idempotency-key",
                                          outcome.idempotency_key);
  }
  if (outcome.cache_hit) {
    result.trailing_metadata.emplace_back("formance-cache", "hit");
  }
  if (http_status != 0) {  // Success or error alike.
    result.trailing_metadata.emplace_back(kHttpStatusTrailer,
                                          absl::StrCat(http_status));
  }
}

}  // namespace

TranscodingHandler::TranscodingHandler(const ApiDescriptors* descriptors,
                                       const MethodTable* methods,
                                       UpstreamChain* chain, Clock* clock,
                                       const UpstreamLimits& limits)
    : descriptors_(descriptors),
      methods_(methods),
      chain_(chain),
      clock_(clock),
      limits_(limits) {}

void TranscodingHandler::HandleUnary(const IncomingCall& call,
                                     std::string request,
                                     std::function<void(CallResult)> done) {
  const MethodEntry* entry = methods_->Find(call.method);
  if (entry == nullptr) {
    Fail(done, absl::UnimplementedError(
                   absl::StrCat("method ", call.method,
                                " is not a Formance operation served here")));
    return;
  }
  const Route& route = *entry->route;
  const absl::Time start = clock_->Now();
  if (entry->spec.metrics != nullptr) entry->spec.metrics->Started();

  google::protobuf::Arena request_arena(ArenaOptionsFor(request.size()));
  google::protobuf::Message* message =
      entry->request_prototype->New(&request_arena);
  if (!message->ParsePartialFromString(request)) {
    Refuse(*entry, clock_, start, done,
           absl::InvalidArgumentError(
               absl::StrCat("request does not parse as ",
                            route.method->input_type()->full_name())));
    return;
  }
  absl::StatusOr<HttpRequest> http =
      EncodeRequest(*entry->request_plan, *message, limits_);
  if (!http.ok()) {
    Refuse(*entry, clock_, start, done, http.status());
    return;
  }
  if (entry->spec.accepts_idempotency_key &&
      FindHeader(http->headers, kIdempotencyKeyHeader) == nullptr) {
    if (const std::string* key = FindMetadata(call, "idempotency-key");
        key != nullptr && !key->empty()) {
      absl::Status valid = CheckFieldValue(
          "the idempotency-key metadata", *key,
          static_cast<size_t>(limits_.max_request_header_bytes));
      if (!valid.ok()) {
        Refuse(*entry, clock_, start, done, std::move(valid));
        return;
      }
      SetHeader(http->headers, kIdempotencyKeyHeader, *key);
    }
  }

  CallContext ctx;
  ctx.deadline = call.deadline;
  ctx.cancellation = call.cancellation;
  ctx.caller = call.credential;
  if (const std::string* v = FindMetadata(call, "x-formance-max-attempts")) {
    int n = 0;
    if (!absl::SimpleAtoi(*v, &n) || n < 1) {
      Refuse(*entry, clock_, start, done,
             absl::InvalidArgumentError(
                 "x-formance-max-attempts must be a whole number of at "
                 "least 1"));
      return;
    }
    ctx.options.max_attempts = n;  // The retry filter caps it.
  }
  if (const std::string* v = FindMetadata(call, "x-formance-cache")) {
    ctx.options.bypass_cache = (*v == "no-cache");
  }
  // Raw: the observe filter validates them (never logged, never sent as given).
  if (const std::string* v = FindMetadata(call, kTraceParentHeader)) {
    ctx.traceparent = v->substr(0, 64);  // Longer is invalid anyway.
  }
  if (const std::string* v = FindMetadata(call, kTraceStateHeader)) {
    ctx.tracestate = v->substr(0, 513);  // Over 512 bytes is dropped.
  }

  const ApiDescriptors* descriptors = descriptors_;
  Clock* clock = clock_;
  chain_->Call(
      entry->spec, *std::move(http), ctx,
      [entry, descriptors, clock, start,
       done = std::move(done)](CallOutcome outcome) {
        CallResult result;
        result.build = [entry, descriptors, clock, start,
                        outcome = std::move(outcome)](CallResult& out) mutable {
          BuildReply(*entry, *descriptors, outcome, out);
          const absl::Duration latency = clock->Now() - start;
          if (entry->spec.metrics != nullptr) {
            entry->spec.metrics->Handled(out.status.code(), latency);
          }
          if (spdlog::should_log(spdlog::level::info)) {
            CallLogRecord record;
            record.method = entry->spec.method;
            record.operation_id = entry->route->rules.operation_id();
            record.code = out.status.code();
            record.http_status =
                outcome.response.ok() ? outcome.response->status : 0;
            record.attempts = outcome.attempts;
            record.cache_hit = outcome.cache_hit;
            record.latency = latency;
            record.trace_id = outcome.trace_id;
            record.caller = outcome.caller;
            spdlog::info("{}", FormatCallLog(record, LogFormatInUse()));
          }
        };
        done(std::move(result));
      });
}

}  // namespace fgw
