#include "server/transcoding/request_encoder.h"

#include <algorithm>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "server/transcoding/codec_plan.h"
#include "server/transcoding/message_json_encoder.h"
#include "server/transcoding/query_encoder.h"
#include "server/transcoding/scalar_text.h"
#include "server/upstream/http_field.h"

namespace fgw {
namespace {

using google::protobuf::FieldDescriptor;
namespace gw = formance::gateway::v1;

// Bytes of the text of a string or bytes field (all elements when repeated); 0 otherwise.
size_t TextBytes(const google::protobuf::Message& m, const FieldDescriptor* f) {
  if (f->cpp_type() != FieldDescriptor::CPPTYPE_STRING) return 0;
  const google::protobuf::Reflection* r = m.GetReflection();
  std::string scratch;
  if (!f->is_repeated()) return r->GetStringReference(m, f, &scratch).size();
  size_t total = 0;
  for (int i = 0; i < r->FieldSize(m, f); ++i) {
    total += r->GetRepeatedStringReference(m, f, i, &scratch).size();
  }
  return total;
}

// Refuses, before anything is encoded, a request whose URL or header fields hold more text
// than the limits allow in total (encoding only makes text longer).
absl::Status CheckTextBudget(
    const google::protobuf::Message& request,
    const absl::flat_hash_map<std::string, const FieldPlan*>& path,
    const std::vector<const FieldPlan*>& query,
    const std::vector<const FieldPlan*>& headers,
    const UpstreamLimits& limits) {
  size_t target = 0;
  for (const auto& [name, fp] : path) target += TextBytes(request, fp->field);
  for (const FieldPlan* fp : query) target += TextBytes(request, fp->field);
  if (target > static_cast<size_t>(limits.max_request_target_bytes)) {
    return absl::InvalidArgumentError(
        absl::StrCat("path and query fields hold ", target,
                     " bytes, over limits.max_request_target_bytes (",
                     limits.max_request_target_bytes, ")"));
  }
  size_t header_bytes = 0;
  for (const FieldPlan* fp : headers) {
    header_bytes += TextBytes(request, fp->field);
  }
  if (header_bytes > static_cast<size_t>(limits.max_request_header_bytes)) {
    return absl::InvalidArgumentError(
        absl::StrCat("header fields hold ", header_bytes,
                     " bytes, over limits.max_request_header_bytes (",
                     limits.max_request_header_bytes, ")"));
  }
  return absl::OkStatus();
}

}  // namespace

std::unique_ptr<const RequestPlan> RequestPlan::Compile(
    const Route& route, const MessagePlan& message) {
  std::unique_ptr<RequestPlan> plan(new RequestPlan());
  plan->route_ = &route;
  plan->input_ = &message;
  const std::vector<std::string>& vars = route.path.variables();
  for (const FieldPlan& fp : message.fields) {
    const bool in_path =
        std::find(vars.begin(), vars.end(), fp.field->name()) != vars.end();
    if (in_path) {
      plan->path_.emplace(fp.field->name(), &fp);
    } else if (fp.location == gw::FIELD_LOCATION_HEADER) {
      plan->headers_.push_back(&fp);
    } else if (fp.field == route.body_field) {
      continue;
    } else if (fp.location == gw::FIELD_LOCATION_QUERY) {
      plan->query_.push_back(&fp);
    } else if (route.body_is_whole_message) {
      continue;  // A body property.
    } else if (fp.location != gw::FIELD_LOCATION_PATH) {
      plan->query_.push_back(&fp);
    }
    plan->body_exclude_.insert(fp.field);
  }
  return plan;
}

absl::StatusOr<HttpRequest> EncodeRequest(
    const Route& route, const google::protobuf::Message& request,
    const UpstreamLimits& limits) {
  return EncodeRequest(
      *RequestPlan::Compile(route, GetMessagePlan(route.method->input_type())),
      request, limits);
}

absl::StatusOr<HttpRequest> EncodeRequest(
    const RequestPlan& plan, const google::protobuf::Message& request,
    const UpstreamLimits& limits) {
  const Route& route = *plan.route_;
  if (request.GetDescriptor() != route.method->input_type()) {
    return absl::InvalidArgumentError(
        absl::StrCat("expected a ", route.method->input_type()->full_name(),
                     ", got a ", request.GetDescriptor()->full_name()));
  }
  if (absl::Status s = CheckTextBudget(request, plan.path_, plan.query_,
                                       plan.headers_, limits);
      !s.ok()) {
    return s;
  }
  HttpRequest out;
  out.method = route.http_method;

  absl::Status field_error;
  absl::StatusOr<std::string> path = route.path.Expand(
      [&](absl::string_view var) -> std::optional<std::string> {
        auto it = plan.path_.find(var);
        if (it == plan.path_.end()) return std::nullopt;
        if (it->second->field->cpp_type() == FieldDescriptor::CPPTYPE_ENUM &&
            request.GetReflection()->GetEnumValue(request, it->second->field) ==
                0) {
          return std::nullopt;  // UNSPECIFIED: the parameter is missing.
        }
        absl::StatusOr<std::string> text =
            ScalarText(request, it->second->field, -1, *it->second);
        if (!text.ok()) {
          field_error = text.status();
          return std::nullopt;
        }
        return *std::move(text);
      },
      static_cast<size_t>(limits.max_request_target_bytes));
  if (!field_error.ok()) return field_error;
  if (!path.ok()) return path.status();
  out.path_and_query = *std::move(path);

  std::string query;
  for (const FieldPlan* fp : plan.query_) {
    absl::Status s = AppendQueryParams(request, *fp, &query);
    if (!s.ok()) return s;
  }
  if (!query.empty()) {
    out.path_and_query.push_back('?');
    out.path_and_query.append(query);
  }
  if (out.path_and_query.size() >
      static_cast<size_t>(limits.max_request_target_bytes)) {
    return absl::InvalidArgumentError(
        absl::StrCat("the request URL is ", out.path_and_query.size(),
                     " bytes, over limits.max_request_target_bytes (",
                     limits.max_request_target_bytes, ")"));
  }

  const google::protobuf::Reflection* r = request.GetReflection();
  for (const FieldPlan* fp : plan.headers_) {
    if (fp->field->is_repeated() || !r->HasField(request, fp->field)) continue;
    absl::StatusOr<std::string> text = ScalarText(request, fp->field, -1, *fp);
    if (!text.ok()) return text.status();
    if (text->empty()) continue;
    absl::Status valid = CheckFieldValue(
        absl::StrCat("field '", fp->field->name(), "' (header ", fp->wire_name,
                     ")"),
        *text, static_cast<size_t>(limits.max_request_header_bytes));
    if (!valid.ok()) return valid;
    out.headers.emplace_back(fp->wire_name, *std::move(text));
  }

  const std::string& content_type = route.rules.request_content_type();
  if (route.body_field != nullptr &&
      route.body_field->type() == FieldDescriptor::TYPE_BYTES &&
      !route.body_field->is_repeated()) {
    out.body = r->GetString(request, route.body_field);
    out.headers.emplace_back("Content-Type", content_type.empty()
                                                 ? "application/octet-stream"
                                                 : content_type);
  } else if (route.body_field != nullptr || route.body_is_whole_message) {
    absl::Status s;
    if (route.body_field != nullptr) {
      s = AppendFieldJson(request, plan.input_->Of(route.body_field),
                          &out.body);
    } else {
      JsonEncodeOptions options;
      options.exclude = &plan.body_exclude_;
      s = AppendMessageJson(request, *plan.input_, &out.body, options);
    }
    if (!s.ok()) return s;
    out.headers.emplace_back("Content-Type", content_type.empty()
                                                 ? "application/json"
                                                 : content_type);
  }
  out.headers.emplace_back("Accept", route.rules.accept().empty()
                                         ? "application/json"
                                         : route.rules.accept());
  return out;
}

}  // namespace fgw
