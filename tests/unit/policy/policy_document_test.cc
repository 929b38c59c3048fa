#include "server/policy/policy_document.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "server/policy/api_key.h"

namespace fgw {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::Not;

TEST(PolicyDocumentTest, EmptyDocumentIsAnOpenPolicy) {
  auto doc = ParsePolicyDocument("", "p.yaml", "");
  ASSERT_TRUE(doc.ok()) << doc.status();
  EXPECT_TRUE(doc->callers.empty());
  EXPECT_FALSE(doc->audit);
}

TEST(PolicyDocumentTest, ParsesEverySection) {
  const std::string hash = Sha256Hex("key");
  auto doc = ParsePolicyDocument(
      "audit: true\n"
      "api_keys_file: /etc/fgw/keys\n"
      "roles:\n"
      "  reader: [a.S/Get*, a.S/List*]\n"
      "  one: a.S/Create\n"
      "callers:\n"
      "  billing:\n"
      "    certificates: [spiffe://x/billing]\n"
      "    api_keys_sha256: [" +
          hash +
          "]\n"
          "    roles: [reader, read-only]\n"
          "    rate: {per_second: 2.5, burst: 10}\n"
          "    max_in_flight: 4\n"
          "  ops:\n"
          "    local: true\n"
          "    roles: all\n"
          "deny:\n"
          "  - callers: [billing]\n"
          "    methods: [a.S/GetSecret]\n"
          "  - methods: [a.S/Drop]\n",
      "p.yaml", "");
  ASSERT_TRUE(doc.ok()) << doc.status();
  EXPECT_TRUE(doc->audit);
  EXPECT_EQ(doc->api_keys_file, "/etc/fgw/keys");
  ASSERT_EQ(doc->roles.size(), 2u);
  EXPECT_EQ(doc->roles[0].name, "reader");
  EXPECT_THAT(doc->roles[0].methods, ElementsAre("a.S/Get*", "a.S/List*"));
  EXPECT_THAT(doc->roles[1].methods, ElementsAre("a.S/Create"));
  ASSERT_EQ(doc->callers.size(), 2u);
  const CallerSpec& b = doc->callers[0];
  EXPECT_EQ(b.name, "billing");
  EXPECT_THAT(b.certificates, ElementsAre("spiffe://x/billing"));
  EXPECT_THAT(b.api_keys_sha256, ElementsAre(hash));
  EXPECT_THAT(b.roles, ElementsAre("reader", "read-only"));
  EXPECT_DOUBLE_EQ(b.limits.rate_per_second, 2.5);
  EXPECT_EQ(b.limits.burst, 10);
  EXPECT_EQ(b.limits.max_in_flight, 4);
  EXPECT_TRUE(doc->callers[1].local);
  EXPECT_THAT(doc->callers[1].roles, ElementsAre("all"));
  ASSERT_EQ(doc->deny.size(), 2u);
  EXPECT_THAT(doc->deny[0].callers, ElementsAre("billing"));
  EXPECT_THAT(doc->deny[1].callers, ElementsAre("*"));  // Default: everyone.
}

TEST(PolicyDocumentTest, EveryProblemNamesItsKeyPath) {
  auto doc = ParsePolicyDocument(
      "audit: maybe\n"
      "colour: blue\n"
      "roles:\n"
      "  all: [a.S/X]\n"
      "callers:\n"
      "  billing:\n"
      "    roles: {a: b}\n"
      "    rate: {burst: 3}\n"
      "    max_in_flight: 0\n"
      "    nickname: bill\n"
      "deny:\n"
      "  - callers: [billing]\n",
      "", "policy");
  ASSERT_FALSE(doc.ok());
  const std::string m(doc.status().message());
  EXPECT_THAT(m, HasSubstr("policy.audit: expected true or false"));
  EXPECT_THAT(m, HasSubstr("policy.colour: unknown key"));
  EXPECT_THAT(m, HasSubstr("policy.roles.all: is a built-in role"));
  EXPECT_THAT(m, HasSubstr("policy.callers.billing.roles: expected a list"));
  EXPECT_THAT(m, HasSubstr("policy.callers.billing.rate.per_second: required"));
  EXPECT_THAT(m, HasSubstr("policy.callers.billing.max_in_flight: expected"));
  EXPECT_THAT(m, HasSubstr("policy.callers.billing.nickname: unknown key"));
  EXPECT_THAT(m, HasSubstr("policy.deny[0].methods: required"));
}

TEST(PolicyDocumentTest, RawKeysAreRefusedAndNeverQuoted) {
  auto raw = ParsePolicyDocument(
      "callers:\n  b:\n    api_key: fgwk_supersecret\n", "p", "");
  ASSERT_FALSE(raw.ok());
  EXPECT_THAT(raw.status().message(), HasSubstr("callers.b.api_key"));
  EXPECT_THAT(raw.status().message(), Not(HasSubstr("fgwk_supersecret")));

  auto pasted = ParsePolicyDocument(
      "callers:\n  b:\n    api_keys_sha256: [fgwk_supersecret]\n", "p", "");
  ASSERT_FALSE(pasted.ok());
  EXPECT_THAT(pasted.status().message(),
              HasSubstr("callers.b.api_keys_sha256[0]"));
  EXPECT_THAT(pasted.status().message(), Not(HasSubstr("fgwk_supersecret")));
}

TEST(PolicyDocumentTest, InvalidYamlNamesTheSource) {
  auto doc = ParsePolicyDocument("roles: [unclosed", "/etc/p.yaml", "");
  ASSERT_FALSE(doc.ok());
  EXPECT_THAT(doc.status().message(), HasSubstr("/etc/p.yaml: not valid YAML"));
  auto scalar = ParsePolicyDocument("just text", "p", "");
  ASSERT_FALSE(scalar.ok());
  EXPECT_THAT(scalar.status().message(), HasSubstr("expected a mapping"));
}

}  // namespace
}  // namespace fgw
