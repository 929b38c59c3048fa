#include "server/transcoding/response_decoder.h"

#include <string>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "server/transcoding/codec_plan.h"
#include "server/transcoding/json_dom.h"
#include "server/transcoding/message_json_decoder.h"
#include "server/transcoding/scalar_text.h"

namespace fgw {
namespace {

using google::protobuf::FieldDescriptor;
namespace gw = formance::gateway::v1;

absl::Status HeaderError(const FieldPlan& fp) {
  return absl::InternalError(absl::StrCat("upstream response header ",
                                          fp.wire_name, " does not fit field '",
                                          fp.field->name(), "'"));
}

absl::Status SetFromHeader(const FieldPlan& fp, absl::string_view raw,
                           google::protobuf::Message* out) {
  const absl::string_view text = absl::StripAsciiWhitespace(raw);
  const google::protobuf::Reflection* r = out->GetReflection();
  const FieldDescriptor* f = fp.field;
  if (f->is_repeated()) {
    if (f->cpp_type() != FieldDescriptor::CPPTYPE_STRING)
      return HeaderError(fp);
    r->AddString(out, f, std::string(text));
    return absl::OkStatus();
  }
  std::string digits;
  switch (f->cpp_type()) {
    case FieldDescriptor::CPPTYPE_STRING:
      if (fp.bigint) {
        if (!JsonNumberToInteger(text, &digits)) return HeaderError(fp);
        r->SetString(out, f, digits);
      } else {
        r->SetString(out, f, std::string(text));
      }
      return absl::OkStatus();
    case FieldDescriptor::CPPTYPE_INT64: {
      int64_t v;
      if (!absl::SimpleAtoi(text, &v)) return HeaderError(fp);
      r->SetInt64(out, f, v);
      return absl::OkStatus();
    }
    case FieldDescriptor::CPPTYPE_UINT64: {
      uint64_t v;
      if (!absl::SimpleAtoi(text, &v)) return HeaderError(fp);
      r->SetUInt64(out, f, v);
      return absl::OkStatus();
    }
    case FieldDescriptor::CPPTYPE_INT32: {
      int32_t v;
      if (!absl::SimpleAtoi(text, &v)) return HeaderError(fp);
      r->SetInt32(out, f, v);
      return absl::OkStatus();
    }
    case FieldDescriptor::CPPTYPE_UINT32: {
      uint32_t v;
      if (!absl::SimpleAtoi(text, &v)) return HeaderError(fp);
      r->SetUInt32(out, f, v);
      return absl::OkStatus();
    }
    case FieldDescriptor::CPPTYPE_BOOL: {
      bool v;
      if (!absl::SimpleAtob(text, &v)) return HeaderError(fp);
      r->SetBool(out, f, v);
      return absl::OkStatus();
    }
    case FieldDescriptor::CPPTYPE_DOUBLE: {
      double v;
      if (!absl::SimpleAtod(text, &v)) return HeaderError(fp);
      r->SetDouble(out, f, v);
      return absl::OkStatus();
    }
    case FieldDescriptor::CPPTYPE_ENUM: {
      const int number = fp.Enum().Number(text);
      if (number != 0) r->SetEnumValue(out, f, number);
      return absl::OkStatus();
    }
    default:
      return HeaderError(fp);
  }
}

bool IsBlank(absl::string_view body) {
  return absl::StripAsciiWhitespace(body).empty();
}

}  // namespace

absl::Status DecodeResponse(const Route& route, const HttpResponse& response,
                            google::protobuf::Message* out) {
  return DecodeResponse(route, GetMessagePlan(out->GetDescriptor()), response,
                        out);
}

absl::Status DecodeResponse(const Route& route, const MessagePlan& plan,
                            const HttpResponse& response,
                            google::protobuf::Message* out) {
  if (out->GetDescriptor() != route.method->output_type() ||
      plan.descriptor != out->GetDescriptor()) {
    return absl::InternalError(
        absl::StrCat("expected a ", route.method->output_type()->full_name(),
                     ", got a ", out->GetDescriptor()->full_name()));
  }
  for (const FieldPlan& fp : plan.fields) {
    if (fp.location != gw::FIELD_LOCATION_HEADER) continue;
    const std::string* value = FindHeader(response.headers, fp.wire_name);
    if (value == nullptr) continue;
    absl::Status s = SetFromHeader(fp, *value, out);
    if (!s.ok()) return s;
  }
  const FieldDescriptor* body_field = route.response_body_field;
  if (body_field != nullptr &&
      body_field->type() == FieldDescriptor::TYPE_BYTES &&
      !body_field->is_repeated()) {
    out->GetReflection()->SetString(out, body_field, response.body);
    return absl::OkStatus();
  }
  if (response.status == 204 || IsBlank(response.body)) return absl::OkStatus();
  absl::StatusOr<JsonDocument> doc = JsonDocument::Parse(response.body);
  if (!doc.ok()) return doc.status();
  if (body_field != nullptr) {
    return JsonNodeToField(doc->root(), out, plan.Of(body_field));
  }
  return JsonNodeToMessage(doc->root(), out, plan);
}

}  // namespace fgw
