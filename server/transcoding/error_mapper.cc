#include "server/transcoding/error_mapper.h"

#include <memory>
#include <string>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "rapidjson/writer.h"
#include "server/transcoding/json_dom.h"
#include "server/transcoding/message_json_decoder.h"
#include "server/util/status_details.h"

namespace fgw {
namespace {

constexpr size_t kMaxMessage = 512;
constexpr size_t kMaxDetails = 1024;
constexpr size_t kMaxErrorCode = 128;
constexpr size_t kMaxLocation = 256;

const char* ReasonPhrase(int status) {
  switch (status) {
    case 400:
      return "Bad Request";
    case 401:
      return "Unauthorized";
    case 403:
      return "Forbidden";
    case 404:
      return "Not Found";
    case 405:
      return "Method Not Allowed";
    case 408:
      return "Request Timeout";
    case 409:
      return "Conflict";
    case 412:
      return "Precondition Failed";
    case 413:
      return "Payload Too Large";
    case 422:
      return "Unprocessable Entity";
    case 429:
      return "Too Many Requests";
    case 500:
      return "Internal Server Error";
    case 501:
      return "Not Implemented";
    case 502:
      return "Bad Gateway";
    case 503:
      return "Service Unavailable";
    case 504:
      return "Gateway Timeout";
    default:
      return "";
  }
}

// Compact JSON of a node (for a non-string `details`).
void WriteNode(const JsonNode& node, rapidjson::Writer<JsonStringSink>& w) {
  switch (node.type) {
    case JsonNode::kNull:
      w.Null();
      break;
    case JsonNode::kFalse:
      w.Bool(false);
      break;
    case JsonNode::kTrue:
      w.Bool(true);
      break;
    case JsonNode::kNumber:
      w.RawValue(node.text.data(), node.text.size(), rapidjson::kNumberType);
      break;
    case JsonNode::kString:
      w.String(node.text.data(), node.text.size());
      break;
    case JsonNode::kArray:
      w.StartArray();
      for (const JsonNode& item : node.items) WriteNode(item, w);
      w.EndArray();
      break;
    case JsonNode::kObject:
      w.StartObject();
      for (size_t i = 0; i < node.keys.size(); ++i) {
        w.Key(node.keys[i].data(), node.keys[i].size());
        WriteNode(node.items[i], w);
      }
      w.EndObject();
      break;
  }
}

}  // namespace

bool IsSuccess(const Route& route, int http_status) {
  if (http_status >= 200 && http_status < 300) return true;
  for (int s : route.rules.success_status()) {
    if (s == http_status) return true;
  }
  return false;
}

absl::StatusCode HttpStatusToCode(int http_status,
                                  absl::string_view http_method,
                                  absl::string_view error_code) {
  switch (http_status) {
    case 400:
    case 422:
      return absl::StatusCode::kInvalidArgument;
    case 401:
      return absl::StatusCode::kUnauthenticated;
    case 403:
      return absl::StatusCode::kPermissionDenied;
    case 404:
      return absl::StatusCode::kNotFound;
    case 405:
      return absl::StatusCode::kUnimplemented;
    case 408:
      return absl::StatusCode::kDeadlineExceeded;
    case 409: {
      const std::string code = absl::AsciiStrToUpper(error_code);
      if (http_method == "POST" && (absl::StrContains(code, "CONFLICT") ||
                                    absl::StrContains(code, "ALREADY_EXIST"))) {
        return absl::StatusCode::kAlreadyExists;
      }
      return absl::StatusCode::kAborted;
    }
    case 412:
    case 428:
      return absl::StatusCode::kFailedPrecondition;
    case 429:
      return absl::StatusCode::kResourceExhausted;
    case 499:
      return absl::StatusCode::kCancelled;
    case 300:
    case 301:
    case 302:
    case 303:
    case 307:
    case 308:
      return absl::StatusCode::kFailedPrecondition;
    case 500:
      return absl::StatusCode::kInternal;
    case 501:
      return absl::StatusCode::kUnimplemented;
    case 502:
    case 503:
    case 504:
      return absl::StatusCode::kUnavailable;
    default:
      break;
  }
  if (http_status >= 300 && http_status < 500)
    return absl::StatusCode::kFailedPrecondition;
  if (http_status >= 500 && http_status < 600)
    return absl::StatusCode::kInternal;
  return absl::StatusCode::kUnknown;
}

absl::Status MapHttpError(const Route& route, const HttpResponse& response,
                          const ApiDescriptors& descriptors) {
  std::string error_code;
  std::string error_message;
  std::string details;
  absl::StatusOr<JsonDocument> doc = JsonDocument::Parse(response.body);
  const bool json_object = doc.ok() && doc->root().type == JsonNode::kObject;
  if (json_object) {
    const JsonNode& root = doc->root();
    if (const JsonNode* n = root.Find("errorCode");
        n != nullptr && n->type == JsonNode::kString) {
      error_code = TruncateUtf8(n->text, kMaxErrorCode);
    }
    if (const JsonNode* n = root.Find("errorMessage");
        n != nullptr && n->type == JsonNode::kString) {
      error_message = TruncateUtf8(n->text, kMaxMessage);
    }
    if (const JsonNode* n = root.Find("details");
        n != nullptr && !n->is_null()) {
      if (n->type == JsonNode::kString) {
        details = TruncateUtf8(n->text, kMaxDetails);
      } else {
        std::string json;
        JsonStringSink sink(&json);
        rapidjson::Writer<JsonStringSink> w(sink);
        WriteNode(*n, w);
        details = TruncateUtf8(json, kMaxDetails);
      }
    }
  }

  std::string message = absl::StrCat(route.module, " ", response.status);
  if (response.status >= 300 && response.status < 400) {
    // Redirects are never followed: the token would go along, and a write would turn into a
    // bodiless GET. A redirect means upstream.url points at the wrong place.
    absl::StrAppend(&message,
                    " redirect: the gateway never follows redirects; check "
                    "upstream.url");
    if (const std::string* location =
            FindHeader(response.headers, "Location")) {
      absl::StrAppend(
          &message, " (Location: ", TruncateUtf8(*location, kMaxLocation), ")");
    }
    error_code.clear();
    error_message.clear();
  } else if (!error_code.empty() && !error_message.empty()) {
    absl::StrAppend(&message, ": ", error_code, ": ", error_message);
  } else if (!error_code.empty() || !error_message.empty()) {
    absl::StrAppend(&message, ": ", error_code, error_message);
  } else if (*ReasonPhrase(response.status) != '\0') {
    absl::StrAppend(&message, " ", ReasonPhrase(response.status));
  }
  absl::Status status(
      HttpStatusToCode(response.status, route.http_method, error_code),
      message);

  ErrorInfo info;
  info.reason = error_code.empty() || response.status < 400
                    ? absl::StrCat("HTTP_", response.status)
                    : error_code;
  info.domain = route.module;
  info.metadata["http_status"] = absl::StrCat(response.status);
  if (!route.rules.operation_id().empty()) {
    info.metadata["operation_id"] = route.rules.operation_id();
  }
  if (!details.empty()) info.metadata["details"] = details;
  status = WithErrorInfo(std::move(status), info);

  for (const auto& declared : route.rules.declared_responses()) {
    if (declared.status() != response.status || declared.message_type().empty())
      continue;
    if (!json_object) break;
    const google::protobuf::Descriptor* type =
        descriptors.pool()->FindMessageTypeByName(declared.message_type());
    if (type == nullptr) break;
    const google::protobuf::Message* prototype = descriptors.Prototype(type);
    if (prototype == nullptr) break;
    std::unique_ptr<google::protobuf::Message> body(prototype->New());
    if (JsonNodeToMessage(doc->root(), body.get()).ok()) {
      status = WithDetail(std::move(status), type->full_name(),
                          body->SerializeAsString());
    }
    break;
  }
  return WithHttpStatus(std::move(status), response.status);
}

}  // namespace fgw
