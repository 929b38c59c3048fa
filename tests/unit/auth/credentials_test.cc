#include "server/auth/credentials.h"

#include <cstdlib>
#include <ostream>
#include <type_traits>

#include "gtest/gtest.h"
#include "tests/support/fake_clock.h"
#include "tests/unit/auth/temp_dir.h"

namespace fgw {
namespace {

template <typename T, typename = void>
struct IsStreamable : std::false_type {};
template <typename T>
struct IsStreamable<T, std::void_t<decltype(std::declval<std::ostream&>()
                                            << std::declval<T>())>>
    : std::true_type {};

static_assert(!IsStreamable<Secret>::value, "Secret must not be printable");
static_assert(!std::is_convertible_v<Secret, std::string>,
              "Secret must not convert implicitly");

TEST(SecretTest, RevealsOnlyExplicitly) {
  Secret secret("s3cr3t");
  EXPECT_EQ(secret.reveal(), "s3cr3t");
  EXPECT_FALSE(secret.empty());
  Secret moved = std::move(secret);
  EXPECT_EQ(moved.reveal(), "s3cr3t");
  EXPECT_TRUE(Secret().empty());
}

TEST(CredentialsSourceTest, LiteralIdAndSecretFileRotation) {
  TempDir dir;
  FakeClock clock;
  std::string secret_path = dir.Write("secret", "first-secret\n");
  CredentialsOptions options;
  options.client_id = "client-1";
  options.client_secret_file = secret_path;
  CredentialsSource source(options, &clock);

  auto first = source.Get();
  ASSERT_TRUE(first.ok()) << first.status();
  EXPECT_EQ(first->client_id, "client-1");
  EXPECT_EQ(first->client_secret.reveal(),
            "first-secret");  // Trailing newline stripped.

  dir.Write("secret", "second-secret-longer");
  // Within the recheck interval the file is not stat'ed again.
  EXPECT_EQ(source.Get()->client_secret.reveal(), "first-secret");
  clock.Advance(absl::Seconds(2));
  auto second = source.Get();
  ASSERT_TRUE(second.ok());
  EXPECT_EQ(second->client_secret.reveal(), "second-secret-longer");
  EXPECT_NE(second->generation, first->generation);

  clock.Advance(absl::Seconds(2));
  EXPECT_EQ(source.Get()->generation,
            second->generation);  // Unchanged file: same generation.
}

TEST(CredentialsSourceTest, IdFromFileAndSecretFromEnvironment) {
  TempDir dir;
  FakeClock clock;
  ::setenv("FGW_TEST_SECRET_VAR", "env-secret", 1);
  CredentialsOptions options;
  options.client_id_file = dir.Write("id", "file-client\n");
  options.client_secret_env = "FGW_TEST_SECRET_VAR";
  CredentialsSource source(options, &clock);
  auto creds = source.Get();
  ASSERT_TRUE(creds.ok()) << creds.status();
  EXPECT_EQ(creds->client_id, "file-client");
  EXPECT_EQ(creds->client_secret.reveal(), "env-secret");
  ::unsetenv("FGW_TEST_SECRET_VAR");
}

TEST(CredentialsSourceTest, MissingSourcesAreUnauthenticatedWithoutValues) {
  FakeClock clock;
  ::setenv("FGW_TEST_EMPTY_VAR", "", 1);
  CredentialsOptions options;
  options.client_id = "client-1";
  options.client_secret_env = "FGW_TEST_EMPTY_VAR";
  CredentialsSource source(options, &clock);
  auto creds = source.Get();
  ASSERT_FALSE(creds.ok());
  EXPECT_EQ(creds.status().code(), absl::StatusCode::kUnauthenticated);
  EXPECT_NE(creds.status().message().find("FGW_TEST_EMPTY_VAR"),
            std::string::npos);

  options.client_secret_file = "/nonexistent/secret";
  CredentialsSource from_file(options, &clock);
  EXPECT_EQ(from_file.Get().status().code(),
            absl::StatusCode::kUnauthenticated);
}

TEST(CredentialsSourceTest, KeepsLastGoodSecretWhileFileIsBrieflyMissing) {
  TempDir dir;
  FakeClock clock;
  CredentialsOptions options;
  options.client_id = "c";
  options.client_secret_file = dir.Write("secret", "kept");
  CredentialsSource source(options, &clock);
  ASSERT_TRUE(source.Get().ok());
  std::remove(options.client_secret_file.c_str());
  clock.Advance(absl::Seconds(2));
  auto creds = source.Get();
  ASSERT_TRUE(creds.ok());
  EXPECT_EQ(creds->client_secret.reveal(), "kept");
}

}  // namespace
}  // namespace fgw
