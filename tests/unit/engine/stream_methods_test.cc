#include "server/engine/stream_methods.h"

#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "proto/embedded_descriptors.h"

namespace fgw {
namespace {

using ::testing::HasSubstr;

class StreamMethodsTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    auto api = ApiDescriptors::FromSerializedSet(EmbeddedApiDescriptorSet());
    ASSERT_TRUE(api.ok()) << api.status();
    api_ = api->release();
    auto routes = RouteTable::Build(*api_);
    ASSERT_TRUE(routes.ok()) << routes.status();
    routes_ = routes->release();
    CacheConfig cache;
    cache.rules.push_back({"formance.ledger.v2.*", absl::Seconds(5)});
    methods_ = MethodTable::Compile(*api_, *routes_, cache).release();
  }
  static const ApiDescriptors* api_;
  static const RouteTable* routes_;
  static const MethodTable* methods_;
};

const ApiDescriptors* StreamMethodsTest::api_ = nullptr;
const RouteTable* StreamMethodsTest::routes_ = nullptr;
const MethodTable* StreamMethodsTest::methods_ = nullptr;

TEST_F(StreamMethodsTest, EveryStreamRpcIsCompiledAgainstItsList) {
  auto streams = StreamMethods::Compile(*api_, *methods_);
  ASSERT_TRUE(streams.ok()) << streams.status();
  EXPECT_EQ((*streams)->size(), 51u);  // 50 lists and ExportLogs.
  // Streams have no route of their own.
  EXPECT_EQ(routes_->Find("/formance.ledger.v2.LedgerService/StreamAccounts"),
            nullptr);
  EXPECT_EQ((*streams)->Find("/formance.ledger.v2.LedgerService/ListAccounts"),
            nullptr);
}

TEST_F(StreamMethodsTest, LedgerV2TransactionsPagesWithCursorAndPit) {
  auto streams = StreamMethods::Compile(*api_, *methods_);
  ASSERT_TRUE(streams.ok()) << streams.status();
  const StreamMethod* s =
      (*streams)->Find("/formance.ledger.v2.LedgerService/StreamTransactions");
  ASSERT_NE(s, nullptr);
  EXPECT_EQ(s->list->spec.method,
            "/formance.ledger.v2.LedgerService/ListTransactions");
  EXPECT_EQ(s->spec.method, s->list->spec.method);  // Admitted as the list.
  // The list is cached by the rule; its stream never.
  EXPECT_GT(s->list->spec.cache_ttl, absl::ZeroDuration());
  EXPECT_EQ(s->spec.cache_ttl, absl::ZeroDuration());
  EXPECT_TRUE(s->spec.read_only);
  ASSERT_EQ(s->items.size(), 2u);
  EXPECT_EQ(s->items[0]->name(), "cursor");
  EXPECT_EQ(s->items[1]->name(), "data");
  EXPECT_EQ(s->items[1]->message_type()->full_name(),
            "formance.ledger.v2.V2Transaction");
  EXPECT_EQ(s->next_cursor.back()->name(), "next");
  EXPECT_EQ(s->has_more.back()->name(), "has_more");
  ASSERT_NE(s->cursor, nullptr);
  EXPECT_EQ(s->cursor->name(), "cursor");
  ASSERT_NE(s->pit, nullptr);
  EXPECT_EQ(s->pit->name(), "pit");
  ASSERT_EQ(s->path_fields.size(), 1u);
  EXPECT_EQ(s->path_fields[0]->name(), "ledger");
  EXPECT_EQ(s->item_number, 1);
  EXPECT_EQ(s->cursor_number, 2);
}

TEST_F(StreamMethodsTest, ListsWithoutPitHaveNone) {
  auto streams = StreamMethods::Compile(*api_, *methods_);
  ASSERT_TRUE(streams.ok()) << streams.status();
  const StreamMethod* s =
      (*streams)->Find("/formance.payments.v3.PaymentsService/StreamPayments");
  ASSERT_NE(s, nullptr);
  EXPECT_EQ(s->pit, nullptr);
  EXPECT_TRUE(s->path_fields.empty());
  const StreamMethod* holds =
      (*streams)->Find("/formance.wallets.v1.WalletsService/StreamHolds");
  ASSERT_NE(holds, nullptr);  // A Get... list streams too.
  EXPECT_EQ(holds->list->spec.method,
            "/formance.wallets.v1.WalletsService/GetHolds");
}

TEST_F(StreamMethodsTest, ExportLogsStreamsItsRawBody) {
  auto streams = StreamMethods::Compile(*api_, *methods_);
  ASSERT_TRUE(streams.ok()) << streams.status();
  const StreamMethod* s =
      (*streams)->Find("/formance.ledger.v2.LedgerService/StreamExportLogs");
  ASSERT_NE(s, nullptr);
  EXPECT_TRUE(s->raw_body);
  EXPECT_EQ(s->chunk_number, 1);
  EXPECT_EQ(s->list->spec.method,
            "/formance.ledger.v2.LedgerService/ExportLogs");
  EXPECT_FALSE(
      s->spec.read_only);  // A POST: never retried once it may have been sent.
  EXPECT_TRUE(s->items.empty());
}

}  // namespace
}  // namespace fgw
