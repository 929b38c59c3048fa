#include "server/engine/stream_methods.h"

#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "formance/gateway/v1/options.pb.h"

namespace fgw {
namespace {

using google::protobuf::Descriptor;
using google::protobuf::FieldDescriptor;
using google::protobuf::MethodDescriptor;

absl::Status Invalid(const MethodDescriptor* method, absl::string_view what) {
  return absl::InvalidArgumentError(
      absl::StrCat("stream rpc ", method->full_name(), ": ", what));
}

// Resolves "cursor.data" from `root`; every step but the last a singular message.
absl::StatusOr<FieldPath> Resolve(const MethodDescriptor* method,
                                  const Descriptor* root,
                                  absl::string_view path) {
  FieldPath out;
  const Descriptor* at = root;
  for (absl::string_view name : absl::StrSplit(path, '.')) {
    if (at == nullptr) {
      return Invalid(method,
                     absl::StrCat("'", path, "' goes through a non-message"));
    }
    const FieldDescriptor* field = at->FindFieldByName(std::string(name));
    if (field == nullptr) {
      return Invalid(method, absl::StrCat("'", path, "' names no field of ",
                                          root->full_name()));
    }
    out.push_back(field);
    at = (field->cpp_type() == FieldDescriptor::CPPTYPE_MESSAGE &&
          !field->is_repeated())
             ? field->message_type()
             : nullptr;
  }
  return out;
}

bool IsSingular(const FieldDescriptor* f, FieldDescriptor::CppType type) {
  return f->cpp_type() == type && !f->is_repeated();
}

// Same wire shape: type, label, and the same message or enum (map entries are each message's
// own nested type: their key and value are compared instead).
bool SameShape(const FieldDescriptor* a, const FieldDescriptor* b) {
  if (a->type() != b->type() || a->label() != b->label() ||
      a->is_map() != b->is_map()) {
    return false;
  }
  if (a->is_map()) {
    return SameShape(a->message_type()->map_key(),
                     b->message_type()->map_key()) &&
           SameShape(a->message_type()->map_value(),
                     b->message_type()->map_value());
  }
  return a->message_type() == b->message_type() &&
         a->enum_type() == b->enum_type();
}

absl::Status SameFields(const MethodDescriptor* method, const Descriptor* a,
                        const Descriptor* b) {
  if (a->field_count() != b->field_count()) {
    return Invalid(method, absl::StrCat(a->full_name(), " and ", b->full_name(),
                                        " differ in their fields"));
  }
  for (int i = 0; i < a->field_count(); ++i) {
    const FieldDescriptor* fa = a->field(i);
    const FieldDescriptor* fb = b->FindFieldByNumber(fa->number());
    if (fb == nullptr || fb->name() != fa->name() || !SameShape(fa, fb)) {
      return Invalid(
          method, absl::StrCat("request field ", fa->name(), " (",
                               fa->type_name(), ") is not the list's field"));
    }
  }
  return absl::OkStatus();
}

absl::StatusOr<StreamMethod> CompileOne(const MethodDescriptor* method,
                                        const MethodTable& methods) {
  const auto& rules =
      method->options().GetExtension(formance::gateway::v1::method).stream();
  StreamMethod s;
  s.grpc_method =
      absl::StrCat("/", method->service()->full_name(), "/", method->name());
  const std::string list_method =
      absl::StrCat("/", method->service()->full_name(), "/", rules.list_rpc());
  s.list = methods.Find(list_method);
  if (rules.list_rpc().empty() || s.list == nullptr) {
    return Invalid(method, absl::StrCat("list rpc '", rules.list_rpc(),
                                        "' is not a served method"));
  }
  const MethodDescriptor* list = s.list->route->method;
  if (absl::Status same =
          SameFields(method, method->input_type(), list->input_type());
      !same.ok()) {
    return same;
  }
  if (rules.raw_body()) {
    const FieldDescriptor* body = s.list->route->response_body_field;
    const FieldDescriptor* chunk =
        method->output_type()->FindFieldByName("chunk");
    if (body == nullptr || body->type() != FieldDescriptor::TYPE_BYTES ||
        chunk == nullptr || chunk->type() != FieldDescriptor::TYPE_BYTES ||
        chunk->is_repeated()) {
      return Invalid(method,
                     "raw_body needs a bytes response_body and `bytes chunk`");
    }
    s.raw_body = true;
    s.chunk_number = chunk->number();
    s.spec = s.list->spec;
    s.spec.cache_ttl = absl::ZeroDuration();
    return s;
  }
  const Descriptor* page = list->output_type();
  auto items = Resolve(method, page, rules.items_field());
  if (!items.ok()) return items.status();
  if (!items->back()->is_repeated() ||
      items->back()->cpp_type() != FieldDescriptor::CPPTYPE_MESSAGE) {
    return Invalid(method, "items_field is not a repeated message");
  }
  s.items = *std::move(items);
  auto next = Resolve(method, page, rules.next_cursor_field());
  if (!next.ok()) return next.status();
  if (!IsSingular(next->back(), FieldDescriptor::CPPTYPE_STRING)) {
    return Invalid(method, "next_cursor_field is not a string");
  }
  s.next_cursor = *std::move(next);
  if (!rules.has_more_field().empty()) {
    auto more = Resolve(method, page, rules.has_more_field());
    if (!more.ok()) return more.status();
    if (!IsSingular(more->back(), FieldDescriptor::CPPTYPE_BOOL)) {
      return Invalid(method, "has_more_field is not a bool");
    }
    s.has_more = *std::move(more);
  }
  const Descriptor* request = list->input_type();
  s.cursor = request->FindFieldByName(rules.cursor_field());
  if (s.cursor == nullptr ||
      !IsSingular(s.cursor, FieldDescriptor::CPPTYPE_STRING)) {
    return Invalid(method, "cursor_field is not a string field of the request");
  }
  if (!rules.pit_field().empty()) {
    s.pit = request->FindFieldByName(rules.pit_field());
    if (s.pit == nullptr ||
        !IsSingular(s.pit, FieldDescriptor::CPPTYPE_STRING)) {
      return Invalid(method, "pit_field is not a string field of the request");
    }
  }
  for (const std::string& var : s.list->route->path.variables()) {
    if (const FieldDescriptor* f = request->FindFieldByName(var)) {
      s.path_fields.push_back(f);
    }
  }
  const Descriptor* out = method->output_type();
  const FieldDescriptor* item = out->FindFieldByName("item");
  const FieldDescriptor* cursor = out->FindFieldByName("cursor");
  if (item == nullptr || item->is_repeated() ||
      item->message_type() != s.items.back()->message_type() ||
      cursor == nullptr ||
      !IsSingular(cursor, FieldDescriptor::CPPTYPE_STRING)) {
    return Invalid(method,
                   "the response must hold `item` (one page item) and "
                   "`string cursor`");
  }
  s.item_number = item->number();
  s.cursor_number = cursor->number();
  // The list's method: the caller policy admits each page as a call of the list.
  s.spec = s.list->spec;
  s.spec.cache_ttl = absl::ZeroDuration();  // Never cached.
  return s;
}

}  // namespace

absl::StatusOr<std::unique_ptr<const StreamMethods>> StreamMethods::Compile(
    const ApiDescriptors& descriptors, const MethodTable& methods) {
  std::unique_ptr<StreamMethods> table(new StreamMethods());
  for (const auto* service : descriptors.services()) {
    for (int i = 0; i < service->method_count(); ++i) {
      const MethodDescriptor* method = service->method(i);
      if (!method->server_streaming()) continue;
      if (method->client_streaming()) {
        return Invalid(method, "client streaming is not served");
      }
      absl::StatusOr<StreamMethod> s = CompileOne(method, methods);
      if (!s.ok()) return s.status();
      std::string name = s->grpc_method;
      table->streams_.emplace(std::move(name), *std::move(s));
    }
  }
  return table;
}

const StreamMethod* StreamMethods::Find(absl::string_view grpc_method) const {
  auto it = streams_.find(grpc_method);
  return it == streams_.end() ? nullptr : &it->second;
}

}  // namespace fgw
