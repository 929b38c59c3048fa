// MakeCallerTokenSource: a caller's own Formance client (policy: formance_client).
#include "server/engine/caller_tokens.h"

#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/support/fake_clock.h"
#include "tests/unit/auth/temp_dir.h"

namespace fgw {
namespace {

using ::testing::HasSubstr;
using ::testing::StartsWith;

TEST(CallerTokensTest, AnUnreadableSecretFileIsNamedAtLoad) {
  FakeClock clock;
  FormanceClientSpec client{"teamx", "/nonexistent/teamx-secret"};
  auto tokens = MakeCallerTokenSource(client, OAuth2Options(), nullptr, &clock);
  ASSERT_FALSE(tokens.ok());
  EXPECT_EQ(tokens.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(
      tokens.status().message(),
      HasSubstr("client_secret_file: cannot read /nonexistent/teamx-secret"));
}

TEST(CallerTokensTest, IdentityIsNeverEmptyAndNamesTheClient) {
  FakeClock clock;
  TempDir dir;
  const std::string secret = dir.Write("s", "hunter2\n");
  auto a = MakeCallerTokenSource({"team-a", secret}, OAuth2Options(), nullptr,
                                 &clock);
  auto b = MakeCallerTokenSource({"team-b", secret}, OAuth2Options(), nullptr,
                                 &clock);
  ASSERT_TRUE(a.ok() && b.ok());
  // Before any token: still distinct from each other and from the gateway's source ("").
  EXPECT_THAT((*a)->Identity(), StartsWith("caller-client:team-a\n"));
  EXPECT_NE((*a)->Identity(), (*b)->Identity());
  EXPECT_THAT((*a)->Identity(), ::testing::Not(HasSubstr("hunter2")));
  (*a)->Shutdown();
  (*b)->Shutdown();
}

}  // namespace
}  // namespace fgw
