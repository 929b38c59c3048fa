#include "server/util/clock.h"

#include <atomic>
#include <vector>

#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "absl/time/clock.h"
#include "gtest/gtest.h"
#include "tests/support/fake_clock.h"

namespace fgw {
namespace {

// RealClock: real time, so these use short delays and bounded waits.
TEST(RealClockTest, NowIsAbslNow) {
  absl::Time before = absl::Now();
  absl::Time now = RealClock()->Now();
  EXPECT_GE(now, before);
  EXPECT_LE(now, absl::Now());
}

TEST(RealClockTest, TimersFireInDueOrderOnTheTimerThread) {
  absl::Mutex mu;
  std::vector<int> order;
  absl::Notification done;
  Clock* clock = RealClock();
  clock->RunAfter(absl::Milliseconds(30), [&] {
    absl::MutexLock lock(&mu);
    order.push_back(3);
    done.Notify();
  });
  clock->RunAfter(absl::Milliseconds(10), [&] {
    absl::MutexLock lock(&mu);
    order.push_back(2);
  });
  clock->RunAfter(absl::ZeroDuration(), [&] {
    absl::MutexLock lock(&mu);
    order.push_back(1);
  });
  ASSERT_TRUE(done.WaitForNotificationWithTimeout(absl::Seconds(5)));
  absl::MutexLock lock(&mu);
  EXPECT_EQ(order, (std::vector<int>{1, 2, 3}));
}

TEST(RealClockTest, CancelledTimerNeverRuns) {
  Clock* clock = RealClock();
  std::atomic<bool> ran{false};
  Clock::TimerId id =
      clock->RunAfter(absl::Milliseconds(20), [&] { ran = true; });
  EXPECT_TRUE(clock->Cancel(id));
  EXPECT_FALSE(clock->Cancel(id));
  absl::Notification later;
  clock->RunAfter(absl::Milliseconds(40), [&] { later.Notify(); });
  ASSERT_TRUE(later.WaitForNotificationWithTimeout(absl::Seconds(5)));
  EXPECT_FALSE(ran);
}

TEST(RealClockTest, CallbackMayScheduleAnotherTimer) {
  Clock* clock = RealClock();
  absl::Notification second;
  clock->RunAfter(absl::Milliseconds(1), [&] {
    clock->RunAfter(absl::Milliseconds(1), [&] { second.Notify(); });
  });
  EXPECT_TRUE(second.WaitForNotificationWithTimeout(absl::Seconds(5)));
}

// Every upstream request schedules a far-away deadline timer and cancels it when the reply
// comes: cancelled timers must not pile up until their due time.
TEST(ThreadedClockTest, CancelForgetsTheTimerAtOnce) {
  ThreadedClock clock;
  std::atomic<int> ran{0};
  for (int i = 0; i < 100000; ++i) {
    Clock::TimerId id = clock.RunAfter(absl::Seconds(30), [&] { ++ran; });
    ASSERT_TRUE(clock.Cancel(id));
  }
  EXPECT_EQ(clock.pending_timers(), 0u);
  EXPECT_EQ(ran.load(), 0);
}

TEST(ThreadedClockTest, EarlierTimerScheduledWhileSleepingFiresFirst) {
  ThreadedClock clock;
  absl::Notification early;
  std::atomic<bool> late_ran{false};
  clock.RunAfter(absl::Seconds(30), [&] { late_ran = true; });
  absl::SleepFor(absl::Milliseconds(5));  // The thread now sleeps until +30 s.
  clock.RunAfter(absl::Milliseconds(1), [&] { early.Notify(); });
  EXPECT_TRUE(early.WaitForNotificationWithTimeout(absl::Seconds(5)));
  EXPECT_FALSE(late_ran);
  EXPECT_EQ(clock.pending_timers(), 1u);
}

TEST(ThreadedClockTest, CancelThenRescheduleLaterStillFires) {
  ThreadedClock clock;
  Clock::TimerId first = clock.RunAfter(absl::Milliseconds(5), [] {});
  absl::SleepFor(
      absl::Milliseconds(1));  // The thread sleeps until the first one.
  ASSERT_TRUE(clock.Cancel(first));
  absl::Notification fired;
  clock.RunAfter(absl::Milliseconds(20), [&] { fired.Notify(); });
  EXPECT_TRUE(fired.WaitForNotificationWithTimeout(absl::Seconds(5)));
  EXPECT_EQ(clock.pending_timers(), 0u);
}

TEST(FakeClockTest, AdvanceFiresDueTimersInOrderAndMovesTime) {
  FakeClock clock;
  const absl::Time start = clock.Now();
  std::vector<std::pair<int, absl::Time>> fired;
  clock.RunAfter(absl::Seconds(3), [&] { fired.emplace_back(3, clock.Now()); });
  clock.RunAfter(absl::Seconds(1), [&] { fired.emplace_back(1, clock.Now()); });
  clock.RunAfter(absl::Seconds(1),
                 [&] { fired.emplace_back(2, clock.Now()); });  // Tie: FIFO.
  clock.Advance(absl::Seconds(2));
  ASSERT_EQ(fired.size(), 2u);
  EXPECT_EQ(fired[0], std::make_pair(1, start + absl::Seconds(1)));
  EXPECT_EQ(fired[1], std::make_pair(2, start + absl::Seconds(1)));
  EXPECT_EQ(clock.Now(), start + absl::Seconds(2));
  EXPECT_EQ(clock.pending_timers(), 1);
  clock.Advance(absl::Seconds(1));
  ASSERT_EQ(fired.size(), 3u);
  EXPECT_EQ(fired[2].second, start + absl::Seconds(3));
}

TEST(FakeClockTest, TimersScheduledByCallbacksFireWithinTheSameAdvance) {
  FakeClock clock;
  int count = 0;
  std::function<void()> tick = [&] {
    ++count;
    clock.RunAfter(absl::Seconds(1), tick);
  };
  clock.RunAfter(absl::Seconds(1), tick);
  clock.Advance(absl::Seconds(5));
  EXPECT_EQ(count, 5);
}

TEST(FakeClockTest, CancelAndCallbacksRunOutsideTheLock) {
  FakeClock clock;
  bool ran = false;
  Clock::TimerId id = clock.RunAfter(absl::Seconds(1), [&] { ran = true; });
  // A callback that cancels another timer (would deadlock if run under the lock).
  clock.RunAfter(absl::Milliseconds(500),
                 [&] { EXPECT_TRUE(clock.Cancel(id)); });
  clock.Advance(absl::Seconds(2));
  EXPECT_FALSE(ran);
  EXPECT_FALSE(clock.Cancel(id));
  EXPECT_EQ(clock.next_due(), absl::InfiniteFuture());
}

}  // namespace
}  // namespace fgw
