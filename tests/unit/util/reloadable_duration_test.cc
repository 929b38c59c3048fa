// ReloadableDuration: reads and assigns like a Duration, Set() through a const reference,
// clamps infinities, and concurrent reads see only values that were written.
#include "server/util/reloadable_duration.h"

#include <atomic>
#include <thread>

#include "gtest/gtest.h"

namespace fgw {
namespace {

TEST(ReloadableDurationTest, ReadsAndAssignsLikeADuration) {
  ReloadableDuration d = absl::Seconds(5);
  EXPECT_EQ(d.get(), absl::Seconds(5));
  EXPECT_TRUE(d > absl::ZeroDuration());
  d = absl::Milliseconds(250);
  EXPECT_EQ(static_cast<absl::Duration>(d), absl::Milliseconds(250));
  ReloadableDuration copy = d;
  EXPECT_EQ(copy.get(), absl::Milliseconds(250));
  const ReloadableDuration& ro = d;
  ro.Set(absl::ZeroDuration());
  EXPECT_EQ(d.get(), absl::ZeroDuration());
  EXPECT_EQ(ReloadableDuration().get(), absl::ZeroDuration());
}

TEST(ReloadableDurationTest, InfinitiesAreKept) {
  ReloadableDuration d = absl::InfiniteDuration();
  EXPECT_EQ(d.get(), absl::InfiniteDuration());
  d = -absl::InfiniteDuration();
  EXPECT_EQ(d.get(), -absl::InfiniteDuration());
}

TEST(ReloadableDurationTest, ConcurrentReadsSeeWrittenValues) {
  ReloadableDuration d = absl::Seconds(1);
  std::atomic<bool> stop{false};
  std::atomic<int> bad{0};
  std::thread reader([&] {
    while (!stop.load()) {
      absl::Duration v = d.get();
      if (v != absl::Seconds(1) && v != absl::Seconds(2)) ++bad;
    }
  });
  for (int i = 0; i < 100000; ++i)
    d.Set(i % 2 ? absl::Seconds(1) : absl::Seconds(2));
  stop = true;
  reader.join();
  EXPECT_EQ(bad.load(), 0);
}

}  // namespace
}  // namespace fgw
