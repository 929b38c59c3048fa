#include "server/transcoding/codec_plan.h"

#include <memory>

#include "absl/synchronization/mutex.h"

namespace fgw {
namespace {

using google::protobuf::Descriptor;
using google::protobuf::EnumDescriptor;
using google::protobuf::FieldDescriptor;
namespace gw = formance::gateway::v1;

template <typename Key, typename Plan>
class PlanCache {
 public:
  template <typename BuildFn>
  const Plan& Get(const Key* key, BuildFn build) {
    {
      absl::ReaderMutexLock lock(&mu_);
      auto it = plans_.find(key);
      if (it != plans_.end()) return *it->second;
    }
    // Built outside the lock: building may ask for other plans (enum plans).
    std::unique_ptr<Plan> plan = build(key);
    absl::MutexLock lock(&mu_);
    auto [it, inserted] = plans_.emplace(key, std::move(plan));
    return *it->second;
  }

 private:
  absl::Mutex mu_;
  absl::flat_hash_map<const Key*, std::unique_ptr<Plan>> plans_
      ABSL_GUARDED_BY(mu_);
};

PlanCache<Descriptor, MessagePlan>& MessageCache() {
  static auto* cache =
      new PlanCache<Descriptor, MessagePlan>();  // Never destroyed.
  return *cache;
}

PlanCache<EnumDescriptor, EnumPlan>& EnumCache() {
  static auto* cache =
      new PlanCache<EnumDescriptor, EnumPlan>();  // Never destroyed.
  return *cache;
}

std::unique_ptr<EnumPlan> BuildEnumPlan(const EnumDescriptor* descriptor) {
  auto plan = std::make_unique<EnumPlan>();
  plan->descriptor = descriptor;
  for (int i = 0; i < descriptor->value_count(); ++i) {
    const auto* value = descriptor->value(i);
    if (value->number() == 0) continue;
    std::string wire = value->options().HasExtension(gw::wire_value)
                           ? value->options().GetExtension(gw::wire_value)
                           : value->name();
    if (wire.empty()) continue;
    plan->wire_by_number.emplace(value->number(), wire);
    plan->number_by_wire.emplace(std::move(wire), value->number());
  }
  return plan;
}

// `enum_plan` resolves the plan of an enum a field holds.
template <typename EnumResolver>
std::unique_ptr<MessagePlan> BuildMessagePlan(const Descriptor* descriptor,
                                              EnumResolver enum_plan) {
  auto plan = std::make_unique<MessagePlan>();
  plan->descriptor = descriptor;
  const std::string& name = descriptor->full_name();
  if (name == "google.protobuf.Struct") plan->well_known = WellKnown::kStruct;
  if (name == "google.protobuf.Value") plan->well_known = WellKnown::kValue;
  if (name == "google.protobuf.ListValue")
    plan->well_known = WellKnown::kListValue;

  plan->fields.resize(descriptor->field_count());
  for (int i = 0; i < descriptor->field_count(); ++i) {
    const FieldDescriptor* field = descriptor->field(i);
    FieldPlan& fp = plan->fields[i];
    fp.field = field;
    gw::FieldRules rules;
    if (field->options().HasExtension(gw::field)) {
      rules = field->options().GetExtension(gw::field);
    }
    fp.wire_name =
        rules.wire_name().empty() ? field->json_name() : rules.wire_name();
    fp.bigint = rules.bigint();
    fp.required = rules.required();
    fp.nullable = rules.nullable();
    fp.location = rules.location();
    fp.query_style = rules.query_style();
    fp.discriminator_value = rules.discriminator_value();
    fp.has_presence = field->has_presence();
    fp.is_map = field->is_map();
    fp.value_field = field;
    if (fp.is_map) {
      fp.key_field = field->message_type()->map_key();
      fp.value_field = field->message_type()->map_value();
    }
    if (fp.value_field->cpp_type() == FieldDescriptor::CPPTYPE_ENUM) {
      fp.enum_plan = enum_plan(fp.value_field->enum_type());
    }
  }
  for (const FieldPlan& fp : plan->fields) {
    if (fp.in_json()) plan->by_property.emplace(fp.wire_name, &fp);
  }

  gw::MessageRules rules;
  if (descriptor->options().HasExtension(gw::message)) {
    rules = descriptor->options().GetExtension(gw::message);
  }
  if (rules.union_() && descriptor->real_oneof_decl_count() >= 1) {
    plan->union_oneof = descriptor->oneof_decl(0);
    plan->discriminator = rules.discriminator();
  }
  if (!rules.bare_map_field().empty()) {
    const FieldDescriptor* field =
        descriptor->FindFieldByName(rules.bare_map_field());
    if (field != nullptr && field->is_map()) plan->bare_map = &plan->Of(field);
  }
  if (!rules.null_fields_field().empty()) {
    const FieldDescriptor* field =
        descriptor->FindFieldByName(rules.null_fields_field());
    if (field != nullptr && field->is_repeated() &&
        field->type() == FieldDescriptor::TYPE_STRING) {
      plan->null_fields = &plan->Of(field);
      plan->by_property.erase(
          plan->null_fields->wire_name);  // Never a JSON property.
    }
  }
  if (plan->bare_map != nullptr) {
    plan->by_property.erase(
        plan->bare_map->wire_name);  // Its entries are the properties.
    for (const FieldPlan& fp : plan->fields) {
      if (&fp != plan->bare_map && &fp != plan->null_fields)
        plan->has_named_properties = true;
    }
  }
  return plan;
}

}  // namespace

const std::string* EnumPlan::Wire(int number) const {
  auto it = wire_by_number.find(number);
  return it == wire_by_number.end() ? nullptr : &it->second;
}

int EnumPlan::Number(absl::string_view wire) const {
  auto it = number_by_wire.find(wire);
  return it == number_by_wire.end() ? 0 : it->second;
}

const FieldPlan* MessagePlan::FindProperty(absl::string_view name) const {
  auto it = by_property.find(name);
  return it == by_property.end() ? nullptr : it->second;
}

const MessagePlan& GetMessagePlan(const Descriptor* descriptor) {
  return MessageCache().Get(descriptor, [](const Descriptor* d) {
    return BuildMessagePlan(
        d, [](const EnumDescriptor* e) { return &GetEnumPlan(e); });
  });
}

std::unique_ptr<const CodecPlans> CodecPlans::Compile(
    const std::vector<const Descriptor*>& roots) {
  std::unique_ptr<CodecPlans> plans(new CodecPlans());
  auto resolve_enum = [&plans](const EnumDescriptor* e) {
    std::unique_ptr<EnumPlan>& slot = plans->enums_[e];
    if (slot == nullptr) slot = BuildEnumPlan(e);
    return slot.get();
  };
  std::vector<const Descriptor*> pending(roots.begin(), roots.end());
  while (!pending.empty()) {
    const Descriptor* d = pending.back();
    pending.pop_back();
    if (d == nullptr || plans->messages_.contains(d)) continue;
    std::unique_ptr<MessagePlan> plan = BuildMessagePlan(d, resolve_enum);
    for (const FieldPlan& fp : plan->fields) {
      if (const Descriptor* sub = fp.value_field->message_type()) {
        pending.push_back(sub);
      }
    }
    plans->messages_.emplace(d, std::move(plan));
  }
  // Every reachable type has its plan: link each field to the plan of the message it holds.
  for (auto& [d, plan] : plans->messages_) {
    for (FieldPlan& fp : plan->fields) {
      if (const Descriptor* sub = fp.value_field->message_type()) {
        fp.message = plans->messages_.at(sub).get();
      }
    }
  }
  return plans;
}

const MessagePlan* CodecPlans::Find(const Descriptor* descriptor) const {
  auto it = messages_.find(descriptor);
  return it == messages_.end() ? nullptr : it->second.get();
}

const EnumPlan& FieldPlan::Enum() const {
  return enum_plan != nullptr
             ? *enum_plan
             : GetEnumPlan(value_field != nullptr ? value_field->enum_type()
                                                  : field->enum_type());
}

const EnumPlan& GetEnumPlan(const EnumDescriptor* descriptor) {
  return EnumCache().Get(descriptor, BuildEnumPlan);
}

}  // namespace fgw
