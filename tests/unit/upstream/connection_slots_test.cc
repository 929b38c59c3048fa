#include "server/upstream/connection_slots.h"

#include <optional>
#include <vector>

#include "gtest/gtest.h"
#include "tests/support/fake_clock.h"

namespace fgw {
namespace {

// Records each callback's status, in the order they ran.
struct Recorder {
  std::vector<absl::StatusCode> codes;
  ConnectionSlots::Granted Next() {
    return [this](absl::Status s) { codes.push_back(s.code()); };
  }
};

TEST(ConnectionSlotsTest, GrantsInlineWhileFreeThenQueuesInOrder) {
  FakeClock clock;
  ConnectionSlots slots(2, &clock);
  Recorder a, b, c, d;
  slots.Acquire(absl::InfiniteFuture(), nullptr, a.Next());
  slots.Acquire(absl::InfiniteFuture(), nullptr, b.Next());
  EXPECT_EQ(a.codes.size(), 1u);
  EXPECT_EQ(b.codes.size(), 1u);
  slots.Acquire(absl::InfiniteFuture(), nullptr, c.Next());
  slots.Acquire(absl::InfiniteFuture(), nullptr, d.Next());
  EXPECT_TRUE(c.codes.empty());
  EXPECT_EQ(slots.in_use(), 2);
  EXPECT_EQ(slots.waiting(), 2);
  slots.Release();
  ASSERT_EQ(c.codes.size(), 1u);
  EXPECT_EQ(c.codes[0], absl::StatusCode::kOk);
  EXPECT_TRUE(d.codes.empty());
  EXPECT_EQ(slots.in_use(), 2);  // Handed over, not freed.
  slots.Release();
  ASSERT_EQ(d.codes.size(), 1u);
  slots.Release();
  slots.Release();
  EXPECT_EQ(slots.in_use(), 0);
  EXPECT_EQ(clock.pending_timers(), 0);
}

TEST(ConnectionSlotsTest, AWaiterGivesUpAtItsDeadline) {
  FakeClock clock;
  ConnectionSlots slots(1, &clock);
  Recorder holder, waiter, later;
  slots.Acquire(absl::InfiniteFuture(), nullptr, holder.Next());
  slots.Acquire(clock.Now() + absl::Seconds(1), nullptr, waiter.Next());
  slots.Acquire(absl::InfiniteFuture(), nullptr, later.Next());
  clock.Advance(absl::Milliseconds(999));
  EXPECT_TRUE(waiter.codes.empty());
  clock.Advance(absl::Milliseconds(1));
  ASSERT_EQ(waiter.codes.size(), 1u);
  EXPECT_EQ(waiter.codes[0], absl::StatusCode::kDeadlineExceeded);
  EXPECT_EQ(slots.waiting(), 1);
  slots.Release();  // Goes to `later`, never to the waiter that gave up.
  ASSERT_EQ(later.codes.size(), 1u);
  EXPECT_EQ(later.codes[0], absl::StatusCode::kOk);
  EXPECT_EQ(waiter.codes.size(), 1u);
}

TEST(ConnectionSlotsTest, AnExpiredDeadlineFailsAtOnceWhenNoSlotIsFree) {
  FakeClock clock;
  ConnectionSlots slots(1, &clock);
  Recorder holder, late;
  slots.Acquire(clock.Now(), nullptr, holder.Next());  // Free: granted anyway.
  EXPECT_EQ(holder.codes[0], absl::StatusCode::kOk);
  slots.Acquire(clock.Now(), nullptr, late.Next());
  ASSERT_EQ(late.codes.size(), 1u);
  EXPECT_EQ(late.codes[0], absl::StatusCode::kDeadlineExceeded);
  EXPECT_EQ(slots.waiting(), 0);
}

TEST(ConnectionSlotsTest, CancellationEndsTheWaitAndCancelsItsTimer) {
  FakeClock clock;
  ConnectionSlots slots(1, &clock);
  Recorder holder, waiter;
  Cancellation cancellation;
  slots.Acquire(absl::InfiniteFuture(), nullptr, holder.Next());
  slots.Acquire(clock.Now() + absl::Seconds(5), &cancellation, waiter.Next());
  EXPECT_EQ(clock.pending_timers(), 1);
  cancellation.Cancel();
  ASSERT_EQ(waiter.codes.size(), 1u);
  EXPECT_EQ(waiter.codes[0], absl::StatusCode::kCancelled);
  EXPECT_EQ(clock.pending_timers(), 0);
  clock.Advance(absl::Seconds(10));
  EXPECT_EQ(waiter.codes.size(), 1u);
}

TEST(ConnectionSlotsTest, AlreadyCancelledWaiterIsAnsweredOnce) {
  FakeClock clock;
  ConnectionSlots slots(1, &clock);
  Recorder holder, waiter;
  Cancellation cancellation;
  cancellation.Cancel();
  slots.Acquire(absl::InfiniteFuture(), nullptr, holder.Next());
  slots.Acquire(clock.Now() + absl::Seconds(1), &cancellation, waiter.Next());
  ASSERT_EQ(waiter.codes.size(), 1u);
  EXPECT_EQ(waiter.codes[0], absl::StatusCode::kCancelled);
  EXPECT_EQ(clock.pending_timers(), 0);
  slots.Release();
  EXPECT_EQ(slots.in_use(), 0);
}

TEST(ConnectionSlotsTest, AGrantedWaiterHasNoTimerLeft) {
  FakeClock clock;
  ConnectionSlots slots(1, &clock);
  Recorder holder, waiter;
  Cancellation cancellation;
  slots.Acquire(absl::InfiniteFuture(), nullptr, holder.Next());
  slots.Acquire(clock.Now() + absl::Seconds(1), &cancellation, waiter.Next());
  slots.Release();
  ASSERT_EQ(waiter.codes.size(), 1u);
  EXPECT_EQ(clock.pending_timers(), 0);
  cancellation.Cancel();  // Too late: nothing happens.
  clock.Advance(absl::Seconds(2));
  EXPECT_EQ(waiter.codes.size(), 1u);
  EXPECT_EQ(slots.in_use(), 1);
}

}  // namespace
}  // namespace fgw
