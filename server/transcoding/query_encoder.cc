#include "server/transcoding/query_encoder.h"

#include <algorithm>
#include <utility>
#include <vector>

#include "server/routing/percent_encoding.h"
#include "server/transcoding/message_json_encoder.h"
#include "server/transcoding/scalar_text.h"

namespace fgw {
namespace {

using google::protobuf::FieldDescriptor;
namespace gw = formance::gateway::v1;

void AppendName(absl::string_view name, std::string* query) {
  if (!query->empty()) query->push_back('&');
  AppendQueryEncoded(name, query);
  query->push_back('=');
}

bool HasValue(const google::protobuf::Message& m, const FieldDescriptor* f) {
  const google::protobuf::Reflection* r = m.GetReflection();
  return f->is_repeated() ? r->FieldSize(m, f) > 0 : r->HasField(m, f);
}

absl::Status AppendDeepObject(const google::protobuf::Message& m,
                              const FieldPlan& fp, std::string* query) {
  const google::protobuf::Reflection* r = m.GetReflection();
  std::vector<std::pair<std::string, std::string>> entries;
  const int n = r->FieldSize(m, fp.field);
  entries.reserve(n);
  FieldPlan key_plan;
  key_plan.field = fp.field;
  for (int i = 0; i < n; ++i) {
    const google::protobuf::Message& entry =
        r->GetRepeatedMessage(m, fp.field, i);
    absl::StatusOr<std::string> key =
        ScalarText(entry, fp.key_field, -1, key_plan);
    if (!key.ok()) return key.status();
    std::string value;
    if (fp.value_field->cpp_type() == FieldDescriptor::CPPTYPE_MESSAGE) {
      absl::Status s = AppendFieldJson(entry, fp.value_field, &value);
      if (!s.ok()) return s;
    } else {
      absl::StatusOr<std::string> text =
          ScalarText(entry, fp.value_field, -1, fp);
      if (!text.ok()) return text.status();
      value = *std::move(text);
    }
    entries.emplace_back(*std::move(key), std::move(value));
  }
  std::sort(entries.begin(), entries.end());
  for (const auto& [key, value] : entries) {
    if (!query->empty()) query->push_back('&');
    AppendQueryEncoded(fp.wire_name, query);
    // Brackets are percent-encoded: cpprestsdk (like RFC 3986) refuses them raw in a query,
    // and servers decode %5B/%5D before parsing deepObject names.
    query->append("%5B");
    AppendQueryEncoded(key, query);
    query->append("%5D=");
    AppendQueryEncoded(value, query);
  }
  return absl::OkStatus();
}

}  // namespace

absl::Status AppendQueryParams(const google::protobuf::Message& m,
                               const FieldPlan& fp, std::string* query) {
  const FieldDescriptor* f = fp.field;
  if (!HasValue(m, f)) return absl::OkStatus();
  const bool is_message =
      fp.value_field->cpp_type() == FieldDescriptor::CPPTYPE_MESSAGE;
  gw::QueryStyle style = fp.query_style;
  if (style == gw::QUERY_STYLE_UNSPECIFIED) {
    if (fp.is_map)
      style = gw::QUERY_STYLE_DEEP_OBJECT;
    else if (is_message)
      style = gw::QUERY_STYLE_JSON;
  }
  if (style == gw::QUERY_STYLE_DEEP_OBJECT && fp.is_map)
    return AppendDeepObject(m, fp, query);
  if (style == gw::QUERY_STYLE_JSON || fp.is_map || is_message) {
    std::string json;
    absl::Status s = AppendFieldJson(m, f, &json);
    if (!s.ok()) return s;
    AppendName(fp.wire_name, query);
    AppendQueryEncoded(json, query);
    return absl::OkStatus();
  }
  if (!f->is_repeated()) {
    absl::StatusOr<std::string> text = ScalarText(m, f, -1, fp);
    if (!text.ok()) return text.status();
    AppendName(fp.wire_name, query);
    AppendQueryEncoded(*text, query);
    return absl::OkStatus();
  }
  const int n = m.GetReflection()->FieldSize(m, f);
  if (style == gw::QUERY_STYLE_COMMA) AppendName(fp.wire_name, query);
  for (int i = 0; i < n; ++i) {
    absl::StatusOr<std::string> text = ScalarText(m, f, i, fp);
    if (!text.ok()) return text.status();
    if (style == gw::QUERY_STYLE_COMMA) {
      if (i > 0) query->push_back(',');
    } else {
      AppendName(fp.wire_name, query);
    }
    AppendQueryEncoded(*text, query);
  }
  return absl::OkStatus();
}

}  // namespace fgw
