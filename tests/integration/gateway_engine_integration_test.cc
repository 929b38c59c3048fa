// The gateway end to end, in-process: gRPC client -> GatewayServer -> GatewayEngine ->
// CpprestTransport -> a recording fake Formance on loopback. Each test asserts the exact REST
// request Formance received and the gRPC reply.
#include "absl/strings/match.h"
#include "absl/synchronization/notification.h"
#include "gmock/gmock.h"
#include "grpcpp/generic/generic_stub.h"
#include "gtest/gtest.h"
#include "tests/integration/gateway_fixture.h"

namespace fgw {
namespace {

using ::testing::HasSubstr;

constexpr char kBig[] =
    "340282366920938463463374607431768211457";  // 2^128 + 1.
constexpr char kTen40[] = "10000000000000000000000000000000000000000";

class GatewayEngineIntegrationTest : public GatewayFixture {};

TEST_F(GatewayEngineIntegrationTest,
       LedgerV2CreateTransactionKeepsEveryDigitBothWays) {
  Reply(200,
        std::string(
            R"({"data":{"timestamp":"2026-11-25T10:00:00.123456Z","postings":[)"
            R"({"source":"world","destination":"users:001","amount":)") +
            kBig + R"(,"asset":"USD/2"}],"metadata":{},"id":)" + kTen40 +
            R"(,"reverted":false}})",
        {{"Idempotency-Hit", "true"}});
  GrpcReply reply = Call(
      "formance.ledger.v2.LedgerService/CreateTransaction",
      std::string(R"({"ledger":"main","v2PostTransaction":{"postings":[)"
                  R"({"source":"world","destination":"users:001","amount":")") +
          kBig + R"(","asset":"USD/2"}]}})");
  ASSERT_TRUE(reply.status.ok()) << reply.status.error_message();

  RecordedRequest req = OnlyRequest();
  EXPECT_EQ(req.method, "POST");
  EXPECT_EQ(req.target, "/api/ledger/v2/main/transactions");
  EXPECT_EQ(
      req.body,
      std::string(R"({"postings":[{"amount":)") + kBig +
          R"(,"asset":"USD/2","destination":"users:001","source":"world"}],)"
          R"("metadata":{}})");
  EXPECT_EQ(req.header("Authorization"), "Bearer integration-token");
  EXPECT_EQ(req.header("Content-Type"), "application/json");
  EXPECT_THAT(req.header("User-Agent"), HasSubstr("formance-grpc-gateway/"));
  // The gateway generated an Idempotency-Key and reports it.
  EXPECT_EQ(req.header("Idempotency-Key").size(), 36u);
  EXPECT_EQ(reply.trailer("formance-idempotency-key"),
            req.header("Idempotency-Key"));
  EXPECT_EQ(reply.trailer("formance-http-status"), "200");

  EXPECT_THAT(reply.json,
              HasSubstr(std::string("\"amount\":\"") + kBig + "\""));
  EXPECT_THAT(reply.json, HasSubstr(std::string("\"id\":\"") + kTen40 + "\""));
  EXPECT_THAT(reply.json,
              HasSubstr("\"timestamp\":\"2026-11-25T10:00:00.123456Z\""));
  EXPECT_THAT(reply.json, HasSubstr("\"idempotencyHit\":\"true\""));
}

TEST_F(GatewayEngineIntegrationTest,
       CallerIdempotencyKeyFromFieldOrMetadataIsKept) {
  Reply(
      200,
      R"({"data":{"timestamp":"2026-01-01T00:00:00Z","postings":[],"metadata":{},"id":1,"reverted":false}})");
  Call(
      "formance.ledger.v2.LedgerService/CreateTransaction",
      R"({"ledger":"l","idempotencyKey":"from-field","v2PostTransaction":{}})");
  EXPECT_EQ(OnlyRequest().header("Idempotency-Key"), "from-field");
  GrpcReply reply =
      Call("formance.ledger.v2.LedgerService/CreateTransaction",
           R"({"ledger":"l","v2PostTransaction":{}})", absl::Seconds(10),
           {{"idempotency-key", "from-metadata"}});
  EXPECT_EQ(OnlyRequest().header("Idempotency-Key"), "from-metadata");
  EXPECT_EQ(reply.trailer("formance-idempotency-key"), "from-metadata");
}

TEST_F(GatewayEngineIntegrationTest, LedgerV2GetAccountPathQueryAndVolumes) {
  Reply(
      200,
      std::string(
          R"({"data":{"address":"users:001","metadata":{},"volumes":{"USD/2":)"
          R"({"input":)") +
          kBig + R"(,"output":0,"balance":)" + kBig + "}}}}");
  GrpcReply reply = Call(
      "formance.ledger.v2.LedgerService/GetAccount",
      R"({"ledger":"main","address":"users:001","expand":["volumes","effectiveVolumes"]})");
  ASSERT_TRUE(reply.status.ok()) << reply.status.error_message();
  RecordedRequest req = OnlyRequest();
  EXPECT_EQ(req.method, "GET");
  EXPECT_EQ(
      req.target,
      "/api/ledger/v2/main/accounts/users:001?expand=volumes,effectiveVolumes");
  EXPECT_EQ(req.body, "");
  EXPECT_THAT(reply.json,
              HasSubstr(std::string("\"balance\":\"") + kBig + "\""));
}

TEST_F(GatewayEngineIntegrationTest,
       PathParametersArePercentEncodedButKeepColons) {
  Reply(200, R"({"data":{"address":"a","metadata":{}}})");
  Call("formance.ledger.v2.LedgerService/GetAccount",
       R"({"ledger":"my ledger","address":"users:a/b?c"})");
  EXPECT_EQ(OnlyRequest().target,
            "/api/ledger/v2/my%20ledger/accounts/users:a%2Fb%3Fc");
}

TEST_F(GatewayEngineIntegrationTest,
       LedgerV2ListTransactionsQueryFilterIsJson) {
  Reply(200,
        R"({"cursor":{"pageSize":15,"hasMore":true,"next":"abc","data":[]}})");
  GrpcReply reply = Call(
      "formance.ledger.v2.LedgerService/ListTransactions",
      R"({"ledger":"main","pageSize":"15","query":{"$match":{"account":"users:"}}})");
  ASSERT_TRUE(reply.status.ok()) << reply.status.error_message();
  RecordedRequest req = OnlyRequest();
  EXPECT_EQ(req.target,
            "/api/ledger/v2/main/"
            "transactions?pageSize=15&query=%7B%22%24match%22%3A%7B%22account%"
            "22%3A%22users%3A%22%7D%7D");
  EXPECT_THAT(reply.json, HasSubstr("\"hasMore\":true"));
  EXPECT_THAT(reply.json, HasSubstr("\"next\":\"abc\""));
}

TEST_F(GatewayEngineIntegrationTest, LedgerV1DeepObjectMetadataAndLegacyNames) {
  Reply(200, R"({"cursor":{"pageSize":1,"hasMore":false,"data":[]}})");
  GrpcReply reply = Call(
      "formance.ledger.v1.LedgerService/ListAccounts",
      R"({"ledger":"l1","metadata":{"role":"admin","a b":"c"},"pagination_token":"tok"})");
  ASSERT_TRUE(reply.status.ok()) << reply.status.error_message();
  EXPECT_EQ(OnlyRequest().target,
            "/api/ledger/l1/"
            "accounts?metadata%5Ba%20b%5D=c&metadata%5Brole%5D=admin&"
            "pagination_token=tok");
}

TEST_F(GatewayEngineIntegrationTest, WalletsCreditWalletBigAmountAndKey) {
  Reply(204, "");
  GrpcReply reply = Call(
      "formance.wallets.v1.WalletsService/CreditWallet",
      std::string(
          R"({"id":"w1","creditWalletRequest":{"amount":{"asset":"EUR/2","amount":")") +
          kBig + R"("}}})");
  ASSERT_TRUE(reply.status.ok()) << reply.status.error_message();
  RecordedRequest req = OnlyRequest();
  EXPECT_EQ(req.method, "POST");
  EXPECT_EQ(req.target, "/api/wallets/wallets/w1/credit");
  EXPECT_THAT(req.body,
              HasSubstr(std::string(R"("amount":{"asset":"EUR/2","amount":)") +
                        kBig + "}"));
  EXPECT_FALSE(req.header("Idempotency-Key").empty());
  EXPECT_EQ(reply.json, "{}");
}

TEST_F(GatewayEngineIntegrationTest, PaymentsV3BigAmountReachesCallerExactly) {
  Reply(200, std::string(R"({"data":{"id":"p1","amount":)") + kBig +
                 R"(,"initialAmount":)" + kTen40 + R"(,"asset":"USD/2"}})");
  GrpcReply reply = Call("formance.payments.v3.PaymentsService/GetPayment",
                         R"({"paymentID":"p1"})");
  ASSERT_TRUE(reply.status.ok()) << reply.status.error_message();
  EXPECT_EQ(OnlyRequest().target, "/api/payments/v3/payments/p1");
  EXPECT_THAT(reply.json,
              HasSubstr(std::string("\"amount\":\"") + kBig + "\""));
  EXPECT_THAT(reply.json,
              HasSubstr(std::string("\"initialAmount\":\"") + kTen40 + "\""));
}

TEST_F(GatewayEngineIntegrationTest,
       PaymentsV3CreatePaymentSendsBareBigNumbers) {
  Reply(201,
        R"({"data":{"id":"p1","amount":1,"initialAmount":1,"asset":"USD/2"}})");
  GrpcReply reply = Call(
      "formance.payments.v3.PaymentsService/CreatePayment",
      std::string(
          R"({"v3CreatePaymentRequest":{"reference":"r1","connectorID":"Y29u",)"
          R"("createdAt":"2026-11-25T00:00:00Z","type":"V3_PAYMENT_TYPE_ENUM_PAY_IN",)"
          R"("initialAmount":")") +
          kBig + R"(","amount":")" + kTen40 +
          R"(","asset":"USD/2","scheme":"sepa debit"}})");
  ASSERT_TRUE(reply.status.ok()) << reply.status.error_message();
  RecordedRequest req = OnlyRequest();
  EXPECT_EQ(req.target, "/api/payments/v3/payments");
  EXPECT_THAT(req.body,
              HasSubstr(std::string("\"initialAmount\":") + kBig + ","));
  EXPECT_THAT(req.body, HasSubstr(std::string("\"amount\":") + kTen40 + ","));
  EXPECT_THAT(req.body, HasSubstr("\"type\":\"PAY-IN\""));
}

TEST_F(GatewayEngineIntegrationTest, WalletsBalanceReachesCallerExactly) {
  Reply(200, std::string(R"({"data":{"name":"main","assets":{"USD/2":)") +
                 kBig + R"(,"EUR/2":-)" + kTen40 + R"(},"priority":)" + kBig +
                 "}}");
  GrpcReply reply = Call("formance.wallets.v1.WalletsService/GetBalance",
                         R"({"id":"w1","balanceName":"main"})");
  ASSERT_TRUE(reply.status.ok()) << reply.status.error_message();
  EXPECT_EQ(OnlyRequest().target, "/api/wallets/wallets/w1/balances/main");
  EXPECT_THAT(reply.json, HasSubstr(std::string("\"USD/2\":\"") + kBig + "\""));
  EXPECT_THAT(reply.json,
              HasSubstr(std::string("\"EUR/2\":\"-") + kTen40 + "\""));
  EXPECT_THAT(reply.json,
              HasSubstr(std::string("\"priority\":\"") + kBig + "\""));
}

TEST_F(GatewayEngineIntegrationTest, BareMapBodyAnd204) {
  Reply(204, "");
  GrpcReply reply =
      Call("formance.ledger.v2.LedgerService/AddMetadataOnTransaction",
           R"({"ledger":"main","id":"42","v2Metadata":{"k":"v"}})");
  ASSERT_TRUE(reply.status.ok()) << reply.status.error_message();
  RecordedRequest req = OnlyRequest();
  EXPECT_EQ(req.target, "/api/ledger/v2/main/transactions/42/metadata");
  EXPECT_EQ(req.body, R"({"k":"v"})");
}

TEST_F(GatewayEngineIntegrationTest, OperationsWithoutSecuritySendNoToken) {
  Reply(200, R"({"cursor":{"pageSize":0,"hasMore":false,"data":[]}})");
  Call("formance.ledger.v2.LedgerService/ListExporters", "{}");
  RecordedRequest req = OnlyRequest();
  EXPECT_EQ(req.target, "/api/ledger/v2/_/exporters");
  EXPECT_EQ(req.header("Authorization"), "");
  Reply(
      200,
      R"({"region":"eu","env":"prod","versions":[{"name":"ledger","version":"v2.4.12","health":true}]})");
  GrpcReply versions = Call("formance.stack.v1.StackService/GetVersions", "{}");
  ASSERT_TRUE(versions.status.ok()) << versions.status.error_message();
  RecordedRequest vreq = OnlyRequest();
  EXPECT_EQ(vreq.target, "/versions");
  EXPECT_EQ(vreq.header("Authorization"), "");
  EXPECT_THAT(versions.json, HasSubstr("\"version\":\"v2.4.12\""));
}

TEST_F(GatewayEngineIntegrationTest, EveryModuleRoutesToItsPrefix) {
  struct Case {
    const char* method;
    const char* json;
    const char* verb;
    const char* target;
  };
  const Case cases[] = {
      {"formance.auth.v1.AuthService/ListClients", "{}", "GET",
       "/api/auth/clients"},
      {"formance.webhooks.v1.WebhooksService/GetManyConfigs", "{}", "GET",
       "/api/webhooks/configs"},
      {"formance.reconciliation.v1.ReconciliationService/GetPolicy",
       R"({"policyID":"p"})", "GET", "/api/reconciliation/policies/p"},
      {"formance.orchestration.v2.OrchestrationService/GetServerInfo", "{}",
       "GET", "/api/orchestration/v2/_info"},
      {"formance.orchestration.v1.OrchestrationService/GetWorkflow",
       R"({"flowId":"f"})", "GET", "/api/orchestration/workflows/f"},
      {"formance.payments.v1.PaymentsService/GetPayment",
       R"({"paymentId":"x"})", "GET", "/api/payments/payments/x"},
      {"formance.search.v1.SearchService/GetServerInfo", "{}", "GET",
       "/api/search/_info"},
      {"formance.search.v1.SearchService/Search",
       R"({"query":{"target":"ACCOUNT"}})", "POST", "/api/search/"},
      {"formance.auth.v1.AuthService/ReadClient", R"({"clientId":"c1"})", "GET",
       "/api/auth/clients/c1"},
      {"formance.auth.v1.AuthService/GetServerInfo", "{}", "GET",
       "/api/auth/_info"},
      {"formance.webhooks.v1.WebhooksService/DeleteConfig", R"({"id":"k"})",
       "DELETE", "/api/webhooks/configs/k"},
      {"formance.webhooks.v1.WebhooksService/InsertConfig",
       R"({"configUser":{"endpoint":"https://example.invalid/hook","eventTypes":["ledger.committed_transactions"]}})",
       "POST", "/api/webhooks/configs"},
      {"formance.reconciliation.v1.ReconciliationService/ListPolicies", "{}",
       "GET", "/api/reconciliation/policies"},
      {"formance.reconciliation.v1.ReconciliationService/DeletePolicy",
       R"({"policyID":"p"})", "DELETE", "/api/reconciliation/policies/p"},
      {"formance.orchestration.v1.OrchestrationService/ReadTrigger",
       R"({"triggerID":"t"})", "GET", "/api/orchestration/triggers/t"},
      {"formance.orchestration.v2.OrchestrationService/DeleteTrigger",
       R"({"triggerID":"t"})", "DELETE", "/api/orchestration/v2/triggers/t"},
      {"formance.payments.v1.PaymentsService/ListPayments",
       R"({"pageSize":"3"})", "GET", "/api/payments/payments?pageSize=3"},
      {"formance.payments.v1.PaymentsService/UpdateMetadata",
       R"({"paymentId":"x","paymentMetadata":{"k":"v"}})", "PATCH",
       "/api/payments/payments/x/metadata"},
      {"formance.wallets.v1.WalletsService/GetWallet", R"({"id":"w"})", "GET",
       "/api/wallets/wallets/w"},
      {"formance.wallets.v1.WalletsService/CreateWallet",
       R"({"createWalletRequest":{"name":"main","metadata":{}}})", "POST",
       "/api/wallets/wallets"},
      {"formance.ledger.v1.LedgerService/GetLedgerInfo", R"({"ledger":"l"})",
       "GET", "/api/ledger/l/_info"},
      {"formance.ledger.v1.LedgerService/GetAccount",
       R"({"ledger":"l","address":"a:b"})", "GET",
       "/api/ledger/l/accounts/a:b"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.method);
    Reply(200, "{}");
    GrpcReply reply = Call(c.method, c.json);
    if (reply.status.error_code() == grpc::StatusCode::UNIMPLEMENTED) {
      ADD_FAILURE() << "no such rpc: " << c.method;
      continue;
    }
    RecordedRequest req = OnlyRequest();
    EXPECT_EQ(req.method, c.verb);
    EXPECT_EQ(req.target, c.target);
  }
}

TEST_F(GatewayEngineIntegrationTest, FormanceErrorBecomesRichStatus) {
  Reply(
      400,
      R"({"errorCode":"INSUFFICIENT_FUND","errorMessage":"account users:001 has not enough USD/2","details":"https://x"})");
  GrpcReply reply = Call("formance.ledger.v2.LedgerService/CreateTransaction",
                         R"({"ledger":"main","v2PostTransaction":{}})");
  EXPECT_EQ(reply.status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(reply.status.error_message(), HasSubstr("INSUFFICIENT_FUND"));
  EXPECT_THAT(reply.status.error_message(), HasSubstr("not enough USD/2"));
  ASSERT_TRUE(reply.error_info.has_value());
  EXPECT_EQ(reply.error_info->reason, "INSUFFICIENT_FUND");
  EXPECT_EQ(reply.error_info->domain, "ledger");
  EXPECT_EQ(reply.trailer("formance-http-status"), "400");
  // A 400 is an answer: never retried.
  EXPECT_EQ(upstream_->requests().size(), 1u);
}

TEST_F(GatewayEngineIntegrationTest, DeclaredBulk400BodyIsKeptAsDetail) {
  Reply(
      400,
      R"({"data":[{"responseType":"ERROR","errorCode":"VALIDATION","errorDescription":"bad"}],"errorCode":"VALIDATION","errorMessage":"failed"})");
  GrpcReply reply = Call("formance.ledger.v2.LedgerService/CreateBulk",
                         R"({"ledger":"main"})");
  EXPECT_EQ(reply.status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(OnlyRequest().body, "[]");
  EXPECT_THAT(reply.detail_type_urls,
              ::testing::Contains(HasSubstr("formance.ledger.v2.")));
}

TEST_F(GatewayEngineIntegrationTest, NotFoundAndServerErrorsMapByTable) {
  Reply(404, R"({"errorCode":"NOT_FOUND","errorMessage":"no such ledger"})");
  EXPECT_EQ(
      Call("formance.ledger.v2.LedgerService/GetLedger", R"({"ledger":"x"})")
          .status.error_code(),
      grpc::StatusCode::NOT_FOUND);
  Reply(500, R"({"errorCode":"INTERNAL","errorMessage":"boom"})");
  EXPECT_EQ(
      Call("formance.ledger.v2.LedgerService/GetLedger", R"({"ledger":"x"})")
          .status.error_code(),
      grpc::StatusCode::INTERNAL);
}

TEST_F(GatewayEngineIntegrationTest,
       MalformedUpstreamJsonIsInternalWithoutTheBody) {
  Reply(200, R"({"data": {"name": "secret-looking-body" )");
  GrpcReply reply =
      Call("formance.ledger.v2.LedgerService/GetLedger", R"({"ledger":"x"})");
  EXPECT_EQ(reply.status.error_code(), grpc::StatusCode::INTERNAL);
  EXPECT_THAT(reply.status.error_message(), HasSubstr("malformed"));
  EXPECT_THAT(reply.status.error_message(),
              ::testing::Not(HasSubstr("secret-looking-body")));
}

TEST_F(GatewayEngineIntegrationTest,
       MissingPathParameterIsInvalidArgumentAndNothingIsSent) {
  GrpcReply reply = Call("formance.ledger.v2.LedgerService/GetLedger", "{}");
  EXPECT_EQ(reply.status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(reply.status.error_message(), HasSubstr("ledger"));
  EXPECT_TRUE(upstream_->requests().empty());
}

TEST_F(GatewayEngineIntegrationTest, UnknownMethodIsUnimplemented) {
  GrpcReply reply = Call("formance.ledger.v2.LedgerService/NoSuchThing", "{}");
  EXPECT_EQ(reply.status.error_code(), grpc::StatusCode::UNIMPLEMENTED);
}

TEST_F(GatewayEngineIntegrationTest, CallerDeadlineBoundsASlowUpstream) {
  {
    fgw::Reply slow;
    slow.status = 200;
    slow.body = "{}";
    slow.delay = absl::Seconds(5);
    upstream_->set_handler([slow](const RecordedRequest&) { return slow; });
  }
  absl::Time start = absl::Now();
  GrpcReply reply = Call("formance.ledger.v2.LedgerService/GetLedger",
                         R"({"ledger":"x"})", absl::Milliseconds(300));
  EXPECT_EQ(reply.status.error_code(), grpc::StatusCode::DEADLINE_EXCEEDED);
  EXPECT_LT(absl::Now() - start, absl::Seconds(3));
}

// Regression: a deadline that ends the gRPC call while its upstream request is still in flight
// destroyed the call's Cancellation under the transport (use after free, then a crash).
TEST_F(GatewayEngineIntegrationTest,
       CallsThatTimeOutMidRequestLeaveTheGatewayHealthy) {
  fgw::Reply slow;
  slow.status = 200;
  slow.body = R"({"data":{"address":"a","metadata":{}}})";
  slow.delay = absl::Milliseconds(30);
  upstream_->set_handler([slow](const RecordedRequest&) { return slow; });
  int deadline_exceeded = 0;
  for (int i = 0; i < 60; ++i) {
    GrpcReply reply =
        Call("formance.ledger.v2.LedgerService/GetAccount",
             R"({"ledger":"l","address":"a"})", absl::Milliseconds(1 + i % 5));
    if (reply.status.error_code() == grpc::StatusCode::DEADLINE_EXCEEDED)
      ++deadline_exceeded;
  }
  EXPECT_GT(deadline_exceeded, 50);
  GrpcReply last = Call("formance.ledger.v2.LedgerService/GetAccount",
                        R"({"ledger":"l","address":"a"})");
  EXPECT_TRUE(last.status.ok()) << last.status.error_message();
}

TEST_F(GatewayEngineIntegrationTest,
       ClientCancellationEndsTheCallWithoutWaitingForUpstream) {
  absl::Notification arrived;
  std::atomic<int> seen{0};
  upstream_->set_handler([&arrived, &seen](const RecordedRequest&) {
    fgw::Reply reply;
    reply.status = 200;
    reply.headers.emplace_back("Content-Type", "application/json");
    if (seen.fetch_add(1) == 0) {
      arrived.Notify();
      reply.body = "{}";
      reply.delay = absl::Seconds(20);  // Until the gateway gives up on it.
    } else {
      reply.body =
          R"({"data":{"name":"x","addedAt":"2026-01-01T00:00:00Z","bucket":"b","id":1}})";
    }
    return reply;
  });
  grpc::GenericStub stub(channel_);
  grpc::ClientContext ctx;
  ctx.set_deadline(absl::ToChronoTime(absl::Now() + absl::Seconds(30)));
  std::string bytes = "\n\x01x";  // GetLedgerRequest{ledger: "x"}.
  grpc::Slice slice(bytes);
  grpc::ByteBuffer send(&slice, 1), recv;
  absl::Notification done;
  grpc::Status status;
  stub.UnaryCall(&ctx, "/formance.ledger.v2.LedgerService/GetLedger",
                 grpc::StubOptions(), &send, &recv, [&](grpc::Status s) {
                   status = std::move(s);
                   done.Notify();
                 });
  ASSERT_TRUE(arrived.WaitForNotificationWithTimeout(absl::Seconds(5)));
  const absl::Time start = absl::Now();
  ctx.TryCancel();
  ASSERT_TRUE(done.WaitForNotificationWithTimeout(absl::Seconds(5)));
  EXPECT_EQ(status.error_code(), grpc::StatusCode::CANCELLED);
  EXPECT_LT(absl::Now() - start, absl::Seconds(2));
  // The gateway is free again: the next call is answered on another
  // connection while the aborted one is gone.
  GrpcReply next =
      Call("formance.ledger.v2.LedgerService/GetLedger", R"({"ledger":"x"})");
  EXPECT_TRUE(next.status.ok()) << next.status.error_message();
}

TEST_F(GatewayEngineIntegrationTest, ConnectionRefusedIsUnavailable) {
  GatewayConfig config;
  config.upstream.url = "http://127.0.0.1:1";  // Nothing listens on port 1.
  config.retry.max_attempts = 2;
  config.retry.initial_backoff = absl::Milliseconds(1);
  StartGateway(config);
  GrpcReply reply =
      Call("formance.ledger.v2.LedgerService/GetLedger", R"({"ledger":"x"})");
  EXPECT_EQ(reply.status.error_code(), grpc::StatusCode::UNAVAILABLE);
}

TEST_F(GatewayEngineIntegrationTest, ReadsAreRetriedOn503ThenSucceed) {
  std::atomic<int> calls{0};
  upstream_->set_handler([&calls](const RecordedRequest&) {
    fgw::Reply r;
    if (calls.fetch_add(1) == 0) {
      r.status = 503;
      r.body = R"({"errorCode":"INTERNAL","errorMessage":"try later"})";
    } else {
      r.status = 200;
      r.body =
          R"({"data":{"name":"x","addedAt":"2026-01-01T00:00:00Z","bucket":"b","id":1}})";
    }
    return r;
  });
  GrpcReply reply =
      Call("formance.ledger.v2.LedgerService/GetLedger", R"({"ledger":"x"})");
  ASSERT_TRUE(reply.status.ok()) << reply.status.error_message();
  EXPECT_EQ(reply.trailer("formance-attempts"), "2");
  EXPECT_EQ(calls.load(), 2);
}

TEST_F(GatewayEngineIntegrationTest, ConnectionsAreReused) {
  for (int i = 0; i < 20; ++i) {
    Reply(200, R"({"data":{"address":"a","metadata":{}}})");
    ASSERT_TRUE(Call("formance.ledger.v2.LedgerService/GetAccount",
                     R"({"ledger":"l","address":"a"})")
                    .status.ok());
  }
  // Keep-alive: 20 calls share the pool. cpprestsdk hands the connection back to its pool
  // just after the response completes, so a call that starts at that instant may open a
  // second one; never one per call.
  EXPECT_LE(upstream_->connections_accepted(), 2);
}

}  // namespace
}  // namespace fgw
