#include "server/engine/transcoding_handler.h"

#include <algorithm>
#include <utility>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "google/protobuf/arena.h"
#include "server/transcoding/error_mapper.h"
#include "server/transcoding/request_encoder.h"
#include "server/transcoding/response_decoder.h"
#include "server/upstream/http_field.h"
#include "server/util/status_details.h"
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

bool MatchesRule(absl::string_view rule, absl::string_view method) {
  if (absl::EndsWith(rule, "*")) {
    return absl::StartsWith(method, absl::StripSuffix(rule, "*"));
  }
  return rule == method;
}

}  // namespace

absl::Duration CacheTtlFor(const CacheConfig& config,
                           absl::string_view grpc_method) {
  absl::string_view method = absl::StripPrefix(grpc_method, "/");
  for (const CacheRule& rule : config.rules) {
    if (MatchesRule(rule.method, method)) return rule.ttl;
  }
  return absl::ZeroDuration();
}

TranscodingHandler::TranscodingHandler(const ApiDescriptors* descriptors,
                                       const RouteTable* routes,
                                       UpstreamCaller* caller, Clock* clock,
                                       const CacheConfig& cache_config,
                                       const LimitsConfig& limits)
    : descriptors_(descriptors),
      caller_(caller),
      clock_(clock),
      limits_(limits.upstream),
      in_flight_(limits.max_calls_in_flight) {
  for (const Route& route : routes->routes()) {
    RoutePlan plan;
    plan.route = &route;
    plan.request_prototype = descriptors->Prototype(route.method->input_type());
    plan.response_prototype =
        descriptors->Prototype(route.method->output_type());
    plan.spec.method = route.grpc_method;
    plan.spec.read_only = route.read_only;
    plan.spec.accepts_idempotency_key = route.idempotency_key_field != nullptr;
    plan.spec.needs_token = !route.rules.no_security();
    plan.spec.scopes.assign(route.rules.oauth2_scopes().begin(),
                            route.rules.oauth2_scopes().end());
    if (route.read_only)
      plan.spec.cache_ttl = CacheTtlFor(cache_config, route.grpc_method);
    plans_.emplace(route.grpc_method, std::move(plan));
  }
}

void TranscodingHandler::HandleUnary(const IncomingCall& call,
                                     std::string request,
                                     std::function<void(CallResult)> done) {
  absl::StatusOr<CallsInFlight::Ticket> ticket = in_flight_.Admit();
  if (!ticket.ok()) {
    CallResult result;
    result.status = ticket.status();
    done(std::move(result));
    return;
  }
  // The place is held until the answer is given.
  done = [ticket = std::make_shared<CallsInFlight::Ticket>(*std::move(ticket)),
          done = std::move(done)](CallResult result) mutable {
    done(std::move(result));
    ticket.reset();
  };
  auto it = plans_.find(call.method);
  if (it == plans_.end()) {
    CallResult result;
    result.status = absl::UnimplementedError(absl::StrCat(
        "method ", call.method, " is not a Formance operation served here"));
    done(std::move(result));
    return;
  }
  const RoutePlan& plan = it->second;
  const Route& route = *plan.route;

  google::protobuf::Arena request_arena(ArenaOptionsFor(request.size()));
  google::protobuf::Message* message =
      plan.request_prototype->New(&request_arena);
  if (!message->ParsePartialFromString(request)) {
    CallResult result;
    result.status = absl::InvalidArgumentError(absl::StrCat(
        "request does not parse as ", route.method->input_type()->full_name()));
    done(std::move(result));
    return;
  }
  absl::StatusOr<HttpRequest> http = EncodeRequest(route, *message, limits_);
  if (!http.ok()) {
    CallResult result;
    result.status = http.status();
    done(std::move(result));
    return;
  }
  if (plan.spec.accepts_idempotency_key &&
      FindHeader(http->headers, kIdempotencyKeyHeader) == nullptr) {
    if (const std::string* key = FindMetadata(call, "idempotency-key");
        key != nullptr && !key->empty()) {
      absl::Status valid = CheckFieldValue(
          "the idempotency-key metadata", *key,
          static_cast<size_t>(limits_.max_request_header_bytes));
      if (!valid.ok()) {
        CallResult result;
        result.status = std::move(valid);
        done(std::move(result));
        return;
      }
      SetHeader(http->headers, kIdempotencyKeyHeader, *key);
    }
  }

  CallContext ctx;
  ctx.deadline = call.deadline;
  ctx.cancellation = call.cancellation;
  if (const std::string* v = FindMetadata(call, "x-formance-max-attempts")) {
    int n = 0;
    if (!absl::SimpleAtoi(*v, &n) || n < 1) {
      CallResult result;
      result.status = absl::InvalidArgumentError(
          "x-formance-max-attempts must be a whole number of at least 1");
      done(std::move(result));
      return;
    }
    ctx.max_attempts = n;  // UpstreamCaller caps it at retry.max_attempts.
  }
  if (const std::string* v = FindMetadata(call, "x-formance-cache")) {
    ctx.bypass_cache = (*v == "no-cache");
  }

  absl::Time start = clock_->Now();
  const RoutePlan* plan_ptr = &plan;
  Clock* clock = clock_;
  const ApiDescriptors* descriptors = descriptors_;
  // Builds the reply from the upstream's answer; on the call's gRPC thread when it has one.
  auto reply = [plan_ptr, clock, descriptors, start,
                done = std::move(done)](CallOutcome outcome) {
    const Route& route = *plan_ptr->route;
    CallResult result;
    int http_status = 0;
    if (!outcome.response.ok()) {
      result.status = outcome.response.status();
    } else {
      const HttpResponse& response = *outcome.response;
      http_status = response.status;
      if (IsSuccess(route, response.status)) {
        // One arena per reply: no per-field malloc, and the tree is freed in a few blocks.
        google::protobuf::Arena arena(ArenaOptionsFor(response.body.size()));
        google::protobuf::Message* reply =
            plan_ptr->response_prototype->New(&arena);
        result.status = DecodeResponse(route, response, reply);
        // Partial: proto3 has no required fields, the full check would only walk the tree.
        if (result.status.ok() &&
            !reply->SerializePartialToString(&result.response)) {
          result.status = absl::InternalError("response does not serialize");
        }
      } else {
        result.status = MapHttpError(route, response, *descriptors);
      }
    }
    result.trailing_metadata.emplace_back("formance-attempts",
                                          absl::StrCat(outcome.attempts));
    if (!outcome.idempotency_key.empty()) {
      result.trailing_metadata.emplace_back("formance-idempotency-key",
                                            outcome.idempotency_key);
    }
    if (outcome.cache_hit)
      result.trailing_metadata.emplace_back("formance-cache", "hit");
    if (http_status != 0) {  // Success or error alike.
      result.trailing_metadata.emplace_back(kHttpStatusTrailer,
                                            absl::StrCat(http_status));
    }
    double ms = absl::ToDoubleMilliseconds(clock->Now() - start);
    spdlog::info("call {} http={} code={} attempts={}{} {:.1f}ms",
                 route.grpc_method, http_status,
                 absl::StatusCodeToString(result.status.code()),
                 outcome.attempts, outcome.cache_hit ? " cache=hit" : "", ms);
    done(std::move(result));
  };
  caller_->Call(plan.spec, *std::move(http), ctx,
                [resume = call.resume,
                 reply = std::move(reply)](CallOutcome outcome) mutable {
                  if (!resume) {
                    reply(std::move(outcome));
                    return;
                  }
                  resume([reply = std::move(reply),
                          outcome = std::move(outcome)]() mutable {
                    reply(std::move(outcome));
                  });
                });
}

}  // namespace fgw
