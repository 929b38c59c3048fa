#include "server/admission/calls_in_flight.h"

#include <optional>
#include <thread>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace fgw {
namespace {

TEST(CallsInFlightTest, AdmitsUpToTheLimitThenRefusesUntilAPlaceFrees) {
  CallsInFlight limit(2);
  auto a = limit.Admit();
  auto b = limit.Admit();
  ASSERT_TRUE(a.ok());
  ASSERT_TRUE(b.ok());
  EXPECT_EQ(limit.current(), 2);
  auto c = limit.Admit();
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.status().code(), absl::StatusCode::kResourceExhausted);
  EXPECT_THAT(c.status().message(),
              ::testing::HasSubstr("limits.max_calls_in_flight"));
  EXPECT_EQ(limit.current(), 2);  // A refusal holds nothing.
  { auto gone = std::move(a); }
  EXPECT_EQ(limit.current(), 1);
  EXPECT_TRUE(limit.Admit().ok());  // Admitted, then released at once.
  EXPECT_EQ(limit.current(), 1);
}

TEST(CallsInFlightTest, ConcurrentAdmissionsNeverExceedTheLimit) {
  CallsInFlight limit(8);
  std::atomic<int> peak{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 20000; ++i) {
        auto ticket = limit.Admit();
        if (!ticket.ok()) continue;
        int now = limit.current();
        int seen = peak.load();
        while (now > seen && !peak.compare_exchange_weak(seen, now)) {
        }
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_LE(peak.load(), 8);
  EXPECT_EQ(limit.current(), 0);
}

}  // namespace
}  // namespace fgw
