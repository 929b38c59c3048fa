#include "server/engine/method_table.h"

#include <vector>

#include "gtest/gtest.h"
#include "proto/embedded_descriptors.h"
#include "tests/support/fake_metrics.h"

namespace fgw {
namespace {

class MethodTableTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    auto api = ApiDescriptors::FromSerializedSet(EmbeddedApiDescriptorSet());
    ASSERT_TRUE(api.ok()) << api.status();
    api_ = api->release();
    auto routes = RouteTable::Build(*api_);
    ASSERT_TRUE(routes.ok()) << routes.status();
    routes_ = routes->release();
  }
  static const ApiDescriptors* api_;
  static const RouteTable* routes_;
};

const ApiDescriptors* MethodTableTest::api_ = nullptr;
const RouteTable* MethodTableTest::routes_ = nullptr;

// Every message plan reachable from `plan` has its nested plans linked: walking a request or
// a reply never needs the process-wide lookup.
void ExpectLinked(const MessagePlan& plan,
                  std::vector<const MessagePlan*>* seen, int* fields) {
  for (const MessagePlan* s : *seen) {
    if (s == &plan) return;
  }
  seen->push_back(&plan);
  for (const FieldPlan& fp : plan.fields) {
    if (fp.value_field->message_type() == nullptr) continue;
    ++*fields;
    ASSERT_NE(fp.message, nullptr)
        << plan.descriptor->full_name() << "." << fp.field->name();
    EXPECT_EQ(fp.message->descriptor, fp.value_field->message_type());
    ExpectLinked(*fp.message, seen, fields);
  }
}

TEST_F(MethodTableTest, EveryMethodIsCompiledWithLinkedPlans) {
  CacheConfig cache;
  cache.rules.push_back(
      {"formance.ledger.v2.LedgerService/GetAccount", absl::Seconds(5)});
  cache.rules.push_back({"formance.payments.v3.*", absl::Seconds(2)});
  auto table = MethodTable::Compile(*api_, *routes_, cache);
  EXPECT_EQ(table->size(), 276u);
  std::vector<const MessagePlan*> seen;
  int message_fields = 0;
  for (const Route& route : routes_->routes()) {
    const MethodEntry* entry = table->Find(route.grpc_method);
    ASSERT_NE(entry, nullptr) << route.grpc_method;
    EXPECT_EQ(entry->route, &route);
    ASSERT_NE(entry->request_plan, nullptr);
    EXPECT_EQ(&entry->request_plan->route(), &route);
    ASSERT_NE(entry->response_plan, nullptr);
    EXPECT_EQ(entry->response_plan->descriptor, route.method->output_type());
    EXPECT_NE(entry->request_prototype, nullptr);
    EXPECT_NE(entry->response_prototype, nullptr);
    EXPECT_EQ(entry->spec.method, route.grpc_method);
    EXPECT_EQ(entry->spec.read_only, route.read_only);
    EXPECT_EQ(entry->spec.needs_token, !route.rules.no_security());
    EXPECT_EQ(entry->spec.accepts_idempotency_key,
              route.idempotency_key_field != nullptr);
    ExpectLinked(*entry->response_plan, &seen, &message_fields);
  }
  EXPECT_GT(message_fields, 500);
  EXPECT_EQ(table->Find("/formance.ledger.v2.LedgerService/GetAccount")
                ->spec.cache_ttl,
            absl::Seconds(5));
  EXPECT_EQ(table->Find("/formance.payments.v3.PaymentsService/ListPayments")
                ->spec.cache_ttl,
            absl::Seconds(2));
  // Writes are never cached, whatever the rules say.
  EXPECT_EQ(table->Find("/formance.payments.v3.PaymentsService/CreatePayment")
                ->spec.cache_ttl,
            absl::ZeroDuration());
  EXPECT_EQ(table->Find("/formance.ledger.v2.LedgerService/Nope"), nullptr);
}

TEST_F(MethodTableTest, ApplyCacheRulesChangesReadTtlsOnly) {
  CacheConfig none;
  auto table = MethodTable::Compile(*api_, *routes_, none);
  const MethodEntry* get =
      table->Find("/formance.ledger.v2.LedgerService/GetAccount");
  const MethodEntry* create =
      table->Find("/formance.payments.v3.PaymentsService/CreatePayment");
  ASSERT_NE(get, nullptr);
  ASSERT_NE(create, nullptr);
  EXPECT_EQ(get->spec.cache_ttl.get(), absl::ZeroDuration());
  CacheConfig rules;
  rules.rules.push_back(
      {"formance.ledger.v2.LedgerService/GetAccount", absl::Seconds(3)});
  rules.rules.push_back({"formance.payments.v3.*", absl::Seconds(2)});
  const int cached = table->ApplyCacheRules(rules);
  EXPECT_GT(cached, 1);
  EXPECT_EQ(get->spec.cache_ttl.get(), absl::Seconds(3));
  EXPECT_EQ(create->spec.cache_ttl.get(), absl::ZeroDuration());  // A write.
  EXPECT_EQ(table->ApplyCacheRules(none), 0);
  EXPECT_EQ(get->spec.cache_ttl.get(), absl::ZeroDuration());
}

TEST_F(MethodTableTest, EachEntryGetsItsMethodsMetrics) {
  FakeMetrics metrics;
  auto table = MethodTable::Compile(*api_, *routes_, CacheConfig(), &metrics);
  const MethodEntry* get =
      table->Find("/formance.ledger.v2.LedgerService/GetAccount");
  ASSERT_NE(get, nullptr);
  EXPECT_EQ(get->spec.metrics,
            metrics.method("/formance.ledger.v2.LedgerService/GetAccount"));
  auto without = MethodTable::Compile(*api_, *routes_, CacheConfig());
  EXPECT_EQ(without->Find("/formance.ledger.v2.LedgerService/GetAccount")
                ->spec.metrics,
            nullptr);
}

TEST(CacheTtlForTest, FirstMatchingRuleWins) {
  CacheConfig cache;
  cache.rules.push_back(
      {"formance.ledger.v2.LedgerService/*", absl::Seconds(1)});
  cache.rules.push_back(
      {"formance.ledger.v2.LedgerService/GetAccount", absl::Seconds(9)});
  EXPECT_EQ(CacheTtlFor(cache, "/formance.ledger.v2.LedgerService/GetAccount"),
            absl::Seconds(1));
  EXPECT_EQ(CacheTtlFor(cache, "/formance.ledger.v1.LedgerService/GetAccount"),
            absl::ZeroDuration());
}

}  // namespace
}  // namespace fgw
