#include "server/auth/static_token_source.h"

#include <cstdlib>

#include "gtest/gtest.h"
#include "tests/support/fake_clock.h"
#include "tests/unit/auth/temp_dir.h"

namespace fgw {
namespace {

absl::StatusOr<std::string> GetNow(TokenSource& source) {
  absl::StatusOr<std::string> out = absl::UnknownError("not called");
  source.GetToken(
      {"ledger:read"}, absl::InfiniteFuture(),
      [&](absl::StatusOr<std::string> token) { out = std::move(token); });
  return out;
}

TEST(StaticTokenSourceTest, FromFileReReadOnChange) {
  TempDir dir;
  FakeClock clock;
  StaticTokenOptions options;
  options.token_file = dir.Write("token", "tok-1\n");
  StaticTokenSource source(options, &clock);
  EXPECT_EQ(*GetNow(source), "tok-1");
  std::string id1 = source.Identity();
  dir.Write("token", "tok-2");
  clock.Advance(absl::Seconds(2));
  EXPECT_EQ(*GetNow(source), "tok-2");
  EXPECT_NE(source.Identity(), id1);
}

TEST(StaticTokenSourceTest, FromEnvironmentOrUnauthenticated) {
  FakeClock clock;
  StaticTokenOptions options;
  options.token_env = "FGW_TEST_TOKEN_VAR";
  StaticTokenSource source(options, &clock);
  ::unsetenv("FGW_TEST_TOKEN_VAR");
  EXPECT_EQ(GetNow(source).status().code(), absl::StatusCode::kUnauthenticated);
  ::setenv("FGW_TEST_TOKEN_VAR", "env-token", 1);
  EXPECT_EQ(*GetNow(source), "env-token");
  ::unsetenv("FGW_TEST_TOKEN_VAR");
}

}  // namespace
}  // namespace fgw
