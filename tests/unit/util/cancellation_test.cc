#include "server/util/cancellation.h"

#include <memory>
#include <string>
#include <vector>

#include "gtest/gtest.h"

namespace fgw {
namespace {

TEST(CancellationTest, CallbacksRunOnceOnCancel) {
  Cancellation c;
  int runs = 0;
  c.OnCancel([&] { ++runs; });
  auto removed = c.OnCancel([&] { runs += 100; });
  c.Remove(removed);
  c.Cancel();
  c.Cancel();
  EXPECT_EQ(runs, 1);
  EXPECT_TRUE(c.IsCancelled());
}

TEST(CancellationTest, RegisteringAfterCancelRunsInline) {
  Cancellation c;
  c.Cancel();
  bool ran = false;
  EXPECT_EQ(c.OnCancel([&] { ran = true; }), 0u);
  EXPECT_TRUE(ran);
}

TEST(CancellationTest, MoreCallbacksThanInlineRunInRegistrationOrder) {
  Cancellation c;
  std::vector<int> order;
  std::vector<Cancellation::Handle> handles;
  for (int i = 0; i < 9; ++i) {
    handles.push_back(c.OnCancel([&order, i] { order.push_back(i); }));
  }
  c.Remove(handles[1]);
  c.Remove(handles[6]);
  c.Remove(handles[6]);  // Twice: a no-op.
  c.Remove(0);
  c.Cancel();
  EXPECT_EQ(order, (std::vector<int>{0, 2, 3, 4, 5, 7, 8}));
}

TEST(CancellationTest, MoveOnlyCallbacksAreAccepted) {
  Cancellation c;
  auto owned = std::make_unique<std::string>("released");
  std::string seen;
  c.OnCancel([owned = std::move(owned), &seen] { seen = *owned; });
  c.Cancel();
  EXPECT_EQ(seen, "released");
}

// A removed callback is destroyed outside the lock: its destructor may use the same
// Cancellation (here: remove another callback) without deadlocking.
TEST(CancellationTest, RemovedCallbackIsDestroyedOutsideTheLock) {
  Cancellation c;
  int runs = 0;
  Cancellation::Handle other = c.OnCancel([&] { ++runs; });
  struct RemovesOnDestruction {
    Cancellation* c = nullptr;
    Cancellation::Handle handle = 0;
    ~RemovesOnDestruction() {
      if (c != nullptr) c->Remove(handle);
    }
  };
  auto guard = std::make_shared<RemovesOnDestruction>();
  guard->c = &c;
  guard->handle = other;
  Cancellation::Handle h = c.OnCancel([guard] {});
  guard.reset();
  c.Remove(h);  // Destroys the last owner of `guard`, which removes `other`.
  c.Cancel();
  EXPECT_EQ(runs, 0);
}

}  // namespace
}  // namespace fgw
