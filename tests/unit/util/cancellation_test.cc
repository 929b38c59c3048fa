#include "server/util/cancellation.h"

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

}  // namespace
}  // namespace fgw
