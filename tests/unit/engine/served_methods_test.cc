// ServedMethodsOf over the embedded Formance API: which reads the built-in read-only role may
// grant.
#include "server/engine/served_methods.h"

#include <map>
#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "proto/embedded_descriptors.h"
#include "server/routing/api_descriptors.h"

namespace fgw {
namespace {

class ServedMethodsTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    auto api = ApiDescriptors::FromSerializedSet(EmbeddedApiDescriptorSet());
    ASSERT_TRUE(api.ok()) << api.status();
    api_ = api->release();
    auto routes = RouteTable::Build(*api_);
    ASSERT_TRUE(routes.ok()) << routes.status();
    routes_ = routes->release();
  }
  const ServedMethod& Get(const std::string& name) {
    if (by_name_.empty()) {
      methods_ = ServedMethodsOf(*routes_);
      for (const ServedMethod& m : methods_) by_name_[m.name] = &m;
    }
    auto it = by_name_.find(name);
    EXPECT_NE(it, by_name_.end()) << name;
    static const ServedMethod kMissing;
    return it == by_name_.end() ? kMissing : *it->second;
  }
  static const ApiDescriptors* api_;
  static const RouteTable* routes_;
  std::vector<ServedMethod> methods_;
  std::map<std::string, const ServedMethod*> by_name_;
};

const ApiDescriptors* ServedMethodsTest::api_ = nullptr;
const RouteTable* ServedMethodsTest::routes_ = nullptr;

TEST_F(ServedMethodsTest, EveryRouteIsListedWithoutTheLeadingSlash) {
  auto methods = ServedMethodsOf(*routes_);
  EXPECT_EQ(methods.size(), routes_->size());
  for (const ServedMethod& m : methods) {
    EXPECT_NE(m.name.front(), '/') << m.name;
  }
}

TEST_F(ServedMethodsTest, PlainReadsAreReadOnlyWithoutSecrets) {
  for (const char* name :
       {"formance.ledger.v2.LedgerService/GetAccount",
        "formance.ledger.v2.LedgerService/ListTransactions",
        "formance.payments.v3.PaymentsService/ListPayments"}) {
    const ServedMethod& m = Get(name);
    EXPECT_TRUE(m.read_only) << name;
    EXPECT_FALSE(m.secret_bearing) << name;
  }
  EXPECT_FALSE(
      Get("formance.ledger.v2.LedgerService/CreateTransaction").read_only);
}

TEST_F(ServedMethodsTest, SecretBearingReads) {
  for (const char* name :
       {"formance.webhooks.v1.WebhooksService/GetManyConfigs",
        "formance.payments.v3.PaymentsService/GetConnectorConfig",
        "formance.payments.v1.PaymentsService/ReadConnectorConfig",
        "formance.auth.v1.AuthService/ListClients",
        "formance.auth.v1.AuthService/ReadClient",
        "formance.auth.v1.AuthService/ListUsers",
        "formance.auth.v1.AuthService/ReadUser"}) {
    const ServedMethod& m = Get(name);
    EXPECT_TRUE(m.read_only) << name;
    EXPECT_TRUE(m.secret_bearing) << name;
  }
}

}  // namespace
}  // namespace fgw
