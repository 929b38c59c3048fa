#include "server/policy/policy_store.h"

#include <memory>
#include <sstream>
#include <string>
#include <utility>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "spdlog/sinks/ostream_sink.h"
#include "spdlog/spdlog.h"
#include "tests/support/fake_clock.h"
#include "tests/unit/auth/temp_dir.h"

namespace fgw {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

constexpr char kGet[] = "/formance.ledger.v2.LedgerService/GetAccount";
constexpr char kCreate[] =
    "/formance.ledger.v2.LedgerService/CreateTransaction";

std::vector<ServedMethod> Methods() {
  return {{"formance.ledger.v2.LedgerService/GetAccount", true, false},
          {"formance.ledger.v2.LedgerService/CreateTransaction", false, false}};
}

CallerCredential Key(const std::string& key) {
  CallerCredential c;
  c.api_key = key;
  c.peer = "ipv4:10.1.2.3:5000";
  return c;
}

// Captures what spdlog's default logger writes during a test.
class LogCapture {
 public:
  LogCapture() : previous_(spdlog::default_logger()) {
    auto sink = std::make_shared<spdlog::sinks::ostream_sink_mt>(out_);
    spdlog::set_default_logger(std::make_shared<spdlog::logger>("test", sink));
  }
  ~LogCapture() { spdlog::set_default_logger(previous_); }
  std::string text() const { return out_.str(); }

 private:
  std::ostringstream out_;
  std::shared_ptr<spdlog::logger> previous_;
};

class PolicyStoreTest : public ::testing::Test {
 protected:
  std::unique_ptr<PolicyStore> FromFile(const std::string& yaml) {
    PolicyStoreOptions options;
    options.file = dir_.Write("policy.yaml", yaml);
    options.methods = Methods();
    auto store = PolicyStore::Create(std::move(options), &clock_);
    EXPECT_TRUE(store.ok()) << store.status();
    return store.ok() ? *std::move(store) : nullptr;
  }

  std::string Policy(const std::string& reader_roles = "[read-only]") {
    return "api_keys_file: " + dir_.path() +
           "/keys\n"
           "callers:\n"
           "  reader:\n    roles: " +
           reader_roles +
           "\n"
           "  writer:\n    roles: [all]\n    max_in_flight: 1\n";
  }

  void Keys(const std::string& lines) { dir_.Write("keys", lines); }

  FakeClock clock_;
  TempDir dir_;
  LogCapture log_;
};

TEST_F(PolicyStoreTest, OpenPolicyAdmitsEveryone) {
  PolicyStoreOptions options;
  options.methods = Methods();
  auto store = PolicyStore::Create(std::move(options), &clock_);
  ASSERT_TRUE(store.ok());
  auto admitted = (*store)->Admit(CallerCredential(), kCreate);
  ASSERT_TRUE(admitted.ok());
  EXPECT_EQ(admitted->caller, "");
  EXPECT_EQ(log_.text().find("audit:"), std::string::npos);
}

TEST_F(PolicyStoreTest, CodesAndOneAuditLinePerRefusal) {
  Keys("reader " + Sha256Hex("rk") + "\nwriter " + Sha256Hex("wk") + "\n");
  auto store = FromFile(Policy());
  ASSERT_NE(store, nullptr);
  EXPECT_EQ(store->generation(), 1u);

  auto ok = store->Admit(Key("rk"), kGet);
  ASSERT_TRUE(ok.ok()) << ok.status();
  EXPECT_EQ(ok->caller, "reader");

  auto wrong = store->Admit(Key("nope"), kGet);
  EXPECT_EQ(wrong.status().code(), absl::StatusCode::kUnauthenticated);
  auto denied = store->Admit(Key("rk"), kCreate);
  EXPECT_EQ(denied.status().code(), absl::StatusCode::kPermissionDenied);
  EXPECT_THAT(denied.status().message(),
              HasSubstr("caller reader may not call "
                        "formance.ledger.v2.LedgerService/CreateTransaction"));

  auto first = store->Admit(Key("wk"), kCreate);
  ASSERT_TRUE(first.ok());
  auto busy = store->Admit(Key("wk"), kCreate);
  EXPECT_EQ(busy.status().code(), absl::StatusCode::kResourceExhausted);
  { PolicyStore::Admission done = *std::move(first); }
  EXPECT_TRUE(store->Admit(Key("wk"), kCreate).ok());

  const std::string log = log_.text();
  EXPECT_THAT(log, HasSubstr("audit: refused caller=api-key:unrecognised "
                             "peer=ipv4:10.1.2.3:5000 method=" +
                             std::string(kGet) + " code=UNAUTHENTICATED"));
  EXPECT_THAT(log, HasSubstr("audit: refused caller=api-key:reader "
                             "peer=ipv4:10.1.2.3:5000 method=" +
                             std::string(kCreate) + " code=PERMISSION_DENIED"));
  EXPECT_THAT(log, HasSubstr("caller=api-key:writer"));
  EXPECT_THAT(log, HasSubstr("code=RESOURCE_EXHAUSTED"));
  size_t lines = 0;
  for (size_t at = log.find("audit:"); at != std::string::npos;
       at = log.find("audit:", at + 1)) {
    ++lines;
  }
  EXPECT_EQ(lines, 3u);
  EXPECT_THAT(log, Not(HasSubstr("nope")));
  EXPECT_THAT(log, Not(HasSubstr(" rk")));
}

TEST_F(PolicyStoreTest, AuditModeLogsButAdmits) {
  auto store = FromFile("audit: true\ncallers:\n  a:\n    certificates: [a]\n");
  ASSERT_NE(store, nullptr);
  EXPECT_TRUE(store->Admit(CallerCredential(), kGet).ok());
  CallerCredential cert;
  cert.certificate_identity = "a";
  EXPECT_TRUE(store->Admit(cert, kGet).ok());  // Roleless: would be denied.
  EXPECT_THAT(log_.text(), HasSubstr("audit: would refuse (audit mode) "
                                     "caller=anonymous"));
  EXPECT_THAT(log_.text(), HasSubstr("caller=cert:a"));
}

TEST_F(PolicyStoreTest, ReloadsWhenThePolicyFileChanges) {
  Keys("reader " + Sha256Hex("rk") + "\n");
  auto store = FromFile(Policy());
  ASSERT_NE(store, nullptr);
  EXPECT_FALSE(store->Admit(Key("rk"), kCreate).ok());
  dir_.Write("policy.yaml", Policy("[all]"));
  clock_.Advance(absl::Seconds(1));  // The watch timer sees the change.
  EXPECT_EQ(store->generation(), 2u);
  EXPECT_TRUE(store->Admit(Key("rk"), kCreate).ok());
  EXPECT_THAT(log_.text(), HasSubstr("policy: reloaded (2 callers)"));
}

TEST_F(PolicyStoreTest, ReloadsWhenTheKeyFileChanges) {
  Keys("reader " + Sha256Hex("rk") + "\n");
  auto store = FromFile(Policy());
  ASSERT_NE(store, nullptr);
  EXPECT_FALSE(store->Admit(Key("rk2"), kGet).ok());
  Keys("reader " + Sha256Hex("rk") + "\nreader " + Sha256Hex("rk2") + "\n");
  clock_.Advance(absl::Seconds(1));
  EXPECT_TRUE(store->Admit(Key("rk2"), kGet).ok());
  EXPECT_TRUE(store->Admit(Key("rk"), kGet).ok());
}

TEST_F(PolicyStoreTest, AnInvalidNewFileKeepsThePolicyInForce) {
  Keys("reader " + Sha256Hex("rk") + "\n");
  auto store = FromFile(Policy());
  ASSERT_NE(store, nullptr);
  dir_.Write("policy.yaml", Policy("[ghost]"));
  absl::Status reloaded = store->Reload();
  EXPECT_EQ(reloaded.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(reloaded.message(), HasSubstr("unknown role \"ghost\""));
  EXPECT_THAT(log_.text(), HasSubstr("keeping the one in force"));
  EXPECT_EQ(store->generation(), 1u);
  EXPECT_TRUE(store->Admit(Key("rk"), kGet).ok());

  Keys("reader not-a-hash\n");  // A bad key file is refused the same way.
  clock_.Advance(absl::Seconds(1));
  EXPECT_TRUE(store->Admit(Key("rk"), kGet).ok());
  EXPECT_EQ(store->generation(), 1u);

  Keys("reader " + Sha256Hex("rk") + "\n");
  dir_.Write("policy.yaml", Policy("[all]"));  // Fixed: taken.
  clock_.Advance(absl::Seconds(1));
  EXPECT_EQ(store->generation(), 2u);
  EXPECT_TRUE(store->Admit(Key("rk"), kCreate).ok());
}

TEST_F(PolicyStoreTest, CreateFailsOnABadPolicy) {
  PolicyStoreOptions options;
  options.file = dir_.path() + "/missing.yaml";
  options.methods = Methods();
  auto missing = PolicyStore::Create(options, &clock_);
  EXPECT_EQ(missing.status().code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(missing.status().message(), HasSubstr("policy.file"));

  options.file = "";
  options.inline_yaml = "callers:\n  a:\n    roles: [ghost]\n";
  auto bad = PolicyStore::Create(options, &clock_);
  EXPECT_THAT(bad.status().message(),
              HasSubstr("policy.callers.a.roles[0]: unknown role"));
}

TEST_F(PolicyStoreTest, AdmissionOutlivesAReloadThatDropsTheCaller) {
  Keys("writer " + Sha256Hex("wk") + "\n");
  auto store = FromFile(Policy());
  ASSERT_NE(store, nullptr);
  auto held = store->Admit(Key("wk"), kCreate);
  ASSERT_TRUE(held.ok());
  Keys("");
  dir_.Write("policy.yaml", "api_keys_file: " + dir_.path() +
                                "/keys\ncallers:\n  other: {}\n");
  ASSERT_TRUE(store->Reload().ok());
  { PolicyStore::Admission done = *std::move(held); }  // No use after free.
  EXPECT_EQ(store->Admit(Key("wk"), kCreate).status().code(),
            absl::StatusCode::kUnauthenticated);
}

}  // namespace
}  // namespace fgw

namespace fgw {
namespace {

// Counts what the store does with the token sources it had made.
class CountingTokens : public TokenSource {
 public:
  explicit CountingTokens(std::string id) : id_(std::move(id)) {}
  void GetToken(const std::vector<std::string>&, absl::Time,
                Callback done) override {
    done(std::string("tok-") + id_);
  }
  void Invalidate(const std::vector<std::string>&,
                  const std::string&) override {}
  std::string Identity() override { return id_; }
  void Shutdown() override { ++shutdowns; }
  int shutdowns = 0;

 private:
  std::string id_;
};

TEST(PolicyStoreCallerTokensTest, OwnFormanceClientPerCallerKeptAcrossReloads) {
  FakeClock clock;
  TempDir dir;
  std::vector<std::shared_ptr<CountingTokens>> made;
  PolicyStoreOptions options;
  options.methods = {
      {"formance.ledger.v2.LedgerService/GetAccount", true, false}};
  auto policy = [&](const std::string& billing_secret) {
    return "callers:\n"
           "  billing:\n    api_keys_sha256: [" +
           Sha256Hex("bk") +
           "]\n"
           "    roles: [all]\n"
           "    formance_client: {client_id: billing-gw, client_secret_file: " +
           billing_secret +
           "}\n"
           "  plain:\n    api_keys_sha256: [" +
           Sha256Hex("pk") +
           "]\n"
           "    roles: [all]\n";
  };
  options.file = dir.Write("policy.yaml", policy("/s/billing"));
  options.make_tokens = [&made](const FormanceClientSpec& client)
      -> absl::StatusOr<std::shared_ptr<TokenSource>> {
    EXPECT_EQ(client.client_id, "billing-gw");
    made.push_back(std::make_shared<CountingTokens>(client.client_secret_file));
    return std::shared_ptr<TokenSource>(made.back());
  };
  auto store = PolicyStore::Create(options, &clock);
  ASSERT_TRUE(store.ok()) << store.status();
  ASSERT_EQ(made.size(), 1u);

  auto billing = (*store)->Admit(Key("bk"), kGet);
  ASSERT_TRUE(billing.ok());
  EXPECT_EQ(billing->tokens, made[0]);
  auto plain = (*store)->Admit(Key("pk"), kGet);
  ASSERT_TRUE(plain.ok());
  EXPECT_EQ(plain->tokens, nullptr);  // The gateway's own credentials.

  ASSERT_TRUE(
      (*store)->Reload().ok());  // Same client: same source (its tokens).
  EXPECT_EQ(made.size(), 1u);
  dir.Write("policy.yaml", policy("/s/billing-rotated"));
  ASSERT_TRUE((*store)->Reload().ok());
  ASSERT_EQ(made.size(), 2u);
  EXPECT_EQ((*store)->Admit(Key("bk"), kGet)->tokens, made[1]);

  (*store)->Shutdown();
  EXPECT_EQ(made[0]->shutdowns, 1);  // Every source made, retired ones too.
  EXPECT_EQ(made[1]->shutdowns, 1);
}

TEST(PolicyStoreCallerTokensTest, WithoutAFactoryTheClientIsAnError) {
  FakeClock clock;
  PolicyStoreOptions options;
  options.methods = {
      {"formance.ledger.v2.LedgerService/GetAccount", true, false}};
  options.inline_yaml =
      "callers:\n  b:\n    formance_client: {client_id: x, client_secret_file: "
      "/s}\n";
  auto store = PolicyStore::Create(options, &clock);
  ASSERT_FALSE(store.ok());
  EXPECT_THAT(store.status().message(),
              HasSubstr("policy.callers.b.formance_client"));
  options.make_tokens = [](const FormanceClientSpec&)
      -> absl::StatusOr<std::shared_ptr<TokenSource>> {
    return absl::FailedPreconditionError("client_secret_file: cannot read /s");
  };
  auto failing = PolicyStore::Create(options, &clock);
  ASSERT_FALSE(failing.ok());
  EXPECT_THAT(failing.status().message(),
              HasSubstr("policy.callers.b.formance_client: client_secret_file: "
                        "cannot read /s"));
}

TEST(PolicyStoreCallerTokensTest, TheDocumentRefusesASecretValue) {
  auto doc = ParsePolicyDocument(
      "callers:\n  b:\n    formance_client: {client_id: x, client_secret: "
      "hunter2}\n",
      "p", "");
  ASSERT_FALSE(doc.ok());
  EXPECT_THAT(
      doc.status().message(),
      HasSubstr("callers.b.formance_client.client_secret: secrets are not"));
  EXPECT_THAT(
      doc.status().message(),
      HasSubstr("callers.b.formance_client.client_secret_file: required"));
  EXPECT_THAT(doc.status().message(), Not(HasSubstr("hunter2")));
}

}  // namespace
}  // namespace fgw
