#include "server/policy/caller_policy.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace fgw {
namespace {

using ::testing::HasSubstr;

std::vector<ServedMethod> Methods() {
  return {
      {"formance.ledger.v2.LedgerService/GetAccount", true, false},
      {"formance.ledger.v2.LedgerService/ListAccounts", true, false},
      {"formance.ledger.v2.LedgerService/CreateTransaction", false, false},
      {"formance.ledger.v2.LedgerService/DeleteAccountMetadata", false, false},
      {"formance.webhooks.v1.WebhooksService/GetManyConfigs", true, true},
      {"formance.payments.v3.PaymentsService/ListPayments", true, false},
      {"formance.payments.v3.PaymentsService/CreatePayment", false, false},
  };
}

PolicyDocument Doc(const std::string& yaml) {
  auto doc = ParsePolicyDocument(yaml, "test", "policy");
  EXPECT_TRUE(doc.ok()) << doc.status();
  return doc.ok() ? *doc : PolicyDocument();
}

std::unique_ptr<const CallerPolicy> Compile(
    const std::string& yaml, const std::vector<ApiKeyEntry>& keys = {}) {
  auto policy = CallerPolicy::Compile(Doc(yaml), keys, Methods(), "policy");
  EXPECT_TRUE(policy.ok()) << policy.status();
  return policy.ok() ? *std::move(policy) : nullptr;
}

absl::Status CompileError(const std::string& yaml,
                          const std::vector<ApiKeyEntry>& keys = {}) {
  auto policy = CallerPolicy::Compile(Doc(yaml), keys, Methods(), "policy");
  return policy.ok() ? absl::OkStatus() : policy.status();
}

CallerCredential Cert(const std::string& id) {
  CallerCredential c;
  c.certificate_identity = id;
  return c;
}

CallerCredential Key(const std::string& key) {
  CallerCredential c;
  c.api_key = key;
  return c;
}

TEST(GlobMatchesTest, StarMatchesAnyRunIncludingSlashAndDot) {
  EXPECT_TRUE(GlobMatches("a.S/Get*", "a.S/GetAccount"));
  EXPECT_TRUE(GlobMatches("a.S/Get*", "a.S/Get"));
  EXPECT_FALSE(GlobMatches("a.S/Get*", "a.S/ListGet"));
  EXPECT_TRUE(GlobMatches("formance.payments.*", "formance.payments.v3.P/X"));
  EXPECT_FALSE(GlobMatches("formance.payments.*", "formance.paymentsx/X"));
  EXPECT_TRUE(GlobMatches("*", "anything/at.all"));
  EXPECT_TRUE(GlobMatches("*/Get*", "a.S/GetX"));
  EXPECT_TRUE(GlobMatches("a*b*c", "aXXbYYbZc"));
  EXPECT_FALSE(GlobMatches("a*b*c", "aXXbYY"));
  EXPECT_TRUE(GlobMatches("exact", "exact"));
  EXPECT_FALSE(GlobMatches("exact", "exactly"));
  // No backtracking blow-up on hostile globs.
  EXPECT_FALSE(
      GlobMatches(std::string(200, '*') + "b", std::string(5000, 'a')));
}

TEST(CallerPolicyTest, NoCallersIsOpen) {
  auto policy = Compile("roles:\n  r: [formance.ledger.*]\n");
  ASSERT_NE(policy, nullptr);
  EXPECT_TRUE(policy->open());
}

TEST(CallerPolicyTest, BuiltInRoles) {
  auto policy = Compile(
      "callers:\n"
      "  ro:\n    certificates: [ro]\n    roles: [read-only]\n"
      "  root:\n    certificates: [root]\n    roles: [all]\n"
      "  none:\n    certificates: [none]\n");
  ASSERT_NE(policy, nullptr);
  const auto* ro = policy->Identify(Cert("ro")).caller;
  const auto* root = policy->Identify(Cert("root")).caller;
  const auto* none = policy->Identify(Cert("none")).caller;
  ASSERT_TRUE(ro && root && none);
  EXPECT_TRUE(
      policy->Allows(*ro, "/formance.ledger.v2.LedgerService/GetAccount"));
  EXPECT_TRUE(
      policy->Allows(*ro, "formance.payments.v3.PaymentsService/ListPayments"));
  EXPECT_FALSE(policy->Allows(
      *ro, "formance.ledger.v2.LedgerService/CreateTransaction"));
  // A read whose reply holds secrets is not read-only.
  EXPECT_FALSE(policy->Allows(
      *ro, "formance.webhooks.v1.WebhooksService/GetManyConfigs"));
  for (const ServedMethod& m : Methods()) {
    EXPECT_TRUE(policy->Allows(*root, m.name)) << m.name;
    EXPECT_FALSE(policy->Allows(*none, m.name)) << m.name;
  }
  EXPECT_FALSE(policy->Allows(*root, "formance.unknown.S/M"));
}

TEST(CallerPolicyTest, GlobsExpandAndDenyWins) {
  auto policy = Compile(
      "roles:\n"
      "  ledger: [formance.ledger.v2.LedgerService/*]\n"
      "  payments: [formance.payments.*]\n"
      "callers:\n"
      "  a:\n    certificates: [a]\n    roles: [ledger, payments]\n"
      "  b:\n    certificates: [b]\n    roles: [all]\n"
      "deny:\n"
      "  - callers: [a]\n    methods: "
      "[formance.ledger.v2.LedgerService/Delete*]\n"
      "  - callers: ['*']\n    methods: "
      "[formance.payments.v3.PaymentsService/Create*]\n");
  ASSERT_NE(policy, nullptr);
  const auto* a = policy->Identify(Cert("a")).caller;
  const auto* b = policy->Identify(Cert("b")).caller;
  ASSERT_TRUE(a && b);
  EXPECT_TRUE(
      policy->Allows(*a, "formance.ledger.v2.LedgerService/CreateTransaction"));
  EXPECT_FALSE(policy->Allows(
      *a, "formance.ledger.v2.LedgerService/DeleteAccountMetadata"));
  EXPECT_TRUE(policy->Allows(
      *b, "formance.ledger.v2.LedgerService/DeleteAccountMetadata"));
  EXPECT_TRUE(
      policy->Allows(*a, "formance.payments.v3.PaymentsService/ListPayments"));
  EXPECT_FALSE(
      policy->Allows(*a, "formance.payments.v3.PaymentsService/CreatePayment"));
  EXPECT_FALSE(
      policy->Allows(*b, "formance.payments.v3.PaymentsService/CreatePayment"));
  EXPECT_FALSE(policy->Allows(
      *a, "formance.webhooks.v1.WebhooksService/GetManyConfigs"));
}

TEST(CallerPolicyTest, CompileErrorsNameTheKeyPath) {
  absl::Status s = CompileError(
      "roles:\n  r: [formance.ledger.v2.LedgerService/Get*, "
      "formance.nothing.*]\n"
      "callers:\n  a:\n    roles: [r, ghost]\n"
      "deny:\n  - callers: [nobody]\n    methods: [formance.ledger.*]\n");
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(s.message(),
              HasSubstr("policy.roles.r[1]: \"formance.nothing.*\" "
                        "matches no served method"));
  EXPECT_THAT(s.message(),
              HasSubstr("policy.callers.a.roles[1]: unknown role \"ghost\""));
  EXPECT_THAT(s.message(),
              HasSubstr("policy.deny[0].callers: unknown caller \"nobody\""));
}

TEST(CallerPolicyTest, IdentitiesAreUniqueAcrossCallers) {
  const std::string h = Sha256Hex("k");
  EXPECT_THAT(
      CompileError("callers:\n  a:\n    certificates: [x]\n"
                   "  b:\n    certificates: [x]\n")
          .message(),
      HasSubstr(
          "policy.callers.b.certificates: \"x\" is already caller \"a\""));
  EXPECT_THAT(CompileError("callers:\n  a:\n    api_keys_sha256: [" + h +
                           "]\n  b:\n    api_keys_sha256: [" + h + "]\n")
                  .message(),
              HasSubstr("already given to caller \"a\""));
  EXPECT_THAT(CompileError("callers:\n  a:\n    local: true\n"
                           "  b:\n    local: true\n")
                  .message(),
              HasSubstr("policy.callers.b.local"));
  EXPECT_THAT(
      CompileError("callers:\n  a: {}\n", {{"ghost", h}}).message(),
      HasSubstr("policy.api_keys_file: a key for unknown caller \"ghost\""));
  EXPECT_THAT(CompileError("callers:\n  a: {}\n  b: {}\n", {{"a", h}, {"b", h}})
                  .message(),
              HasSubstr("already given to caller \"a\""));
}

TEST(CallerPolicyTest, IdentifyInPrecedenceOrder) {
  const std::string key_a = "fgwk_a", key_b = "fgwk_b";
  auto policy = Compile(
      "callers:\n"
      "  a:\n    certificates: [spiffe://t/a]\n    api_keys_sha256: [" +
          Sha256Hex(key_a) +
          "]\n"
          "  b:\n    local: true\n",
      {{"b", Sha256Hex(key_b)}});
  ASSERT_NE(policy, nullptr);

  auto by_cert = policy->Identify(Cert("spiffe://t/a"));
  ASSERT_TRUE(by_cert.status.ok());
  EXPECT_EQ(by_cert.caller->name, "a");
  EXPECT_EQ(by_cert.identity, "cert:spiffe://t/a");

  auto by_key = policy->Identify(Key(key_b));  // From the key file.
  ASSERT_TRUE(by_key.status.ok());
  EXPECT_EQ(by_key.caller->name, "b");
  EXPECT_EQ(by_key.identity, "api-key:b");

  // The certificate decides when both are presented, even against the key.
  CallerCredential both = Cert("spiffe://t/unknown");
  both.api_key = key_a;
  auto first = policy->Identify(both);
  EXPECT_EQ(first.status.code(), absl::StatusCode::kUnauthenticated);
  EXPECT_EQ(first.identity, "cert:spiffe://t/unknown");

  auto wrong = policy->Identify(Key("fgwk_wrong"));
  EXPECT_EQ(wrong.status.code(), absl::StatusCode::kUnauthenticated);
  EXPECT_EQ(wrong.identity, "api-key:unrecognised");
  EXPECT_EQ(wrong.caller, nullptr);

  CallerCredential local;
  local.local = true;
  auto l = policy->Identify(local);
  ASSERT_TRUE(l.status.ok());
  EXPECT_EQ(l.caller->name, "b");
  EXPECT_EQ(l.identity, "local");

  auto none = policy->Identify(CallerCredential());
  EXPECT_EQ(none.status.code(), absl::StatusCode::kUnauthenticated);
  EXPECT_EQ(none.identity, "anonymous");
  EXPECT_THAT(none.status.message(), HasSubstr("x-api-key"));
}

TEST(CallerPolicyTest, LocalWithoutALocalCallerIsUnauthenticated) {
  auto policy = Compile("callers:\n  a:\n    certificates: [a]\n");
  ASSERT_NE(policy, nullptr);
  CallerCredential local;
  local.local = true;
  EXPECT_EQ(policy->Identify(local).status.code(),
            absl::StatusCode::kUnauthenticated);
}

}  // namespace
}  // namespace fgw
