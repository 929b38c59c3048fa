// ConfigWatcher: a change of content, a replaced file (new inode, as a ConfigMap's symlink swap
// does), a removed and re-created file are each reported once, on the FakeClock; nothing after
// Stop().
#include "server/app/config_watcher.h"

#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <fstream>
#include <string>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "tests/support/fake_clock.h"

namespace fgw {
namespace {

class ConfigWatcherTest : public ::testing::Test {
 protected:
  ConfigWatcherTest()
      : path_(absl::StrCat(::testing::TempDir(), "/config_watcher_test_",
                           getpid(), ".yaml")) {
    Write("log:\n  level: info\n");
    watcher_ = std::make_unique<ConfigWatcher>(path_, absl::Seconds(2), &clock_,
                                               [this] { ++changes_; });
  }
  ~ConfigWatcherTest() override {
    watcher_.reset();
    std::remove(path_.c_str());
    std::remove((path_ + ".new").c_str());
  }
  void Write(const std::string& text) { std::ofstream(path_) << text; }

  const std::string path_;
  FakeClock clock_;
  std::atomic<int> changes_{0};
  std::unique_ptr<ConfigWatcher> watcher_;
};

TEST_F(ConfigWatcherTest, NothingChangedNothingReported) {
  watcher_->Start();
  clock_.Advance(absl::Seconds(10));
  EXPECT_EQ(changes_, 0);
}

TEST_F(ConfigWatcherTest, ANewContentIsReportedOnceAtTheNextCheck) {
  watcher_->Start();
  Write("log:\n  level: debug\n");
  clock_.Advance(absl::Seconds(1));
  EXPECT_EQ(changes_, 0);  // Not checked yet.
  clock_.Advance(absl::Seconds(1));
  EXPECT_EQ(changes_, 1);
  clock_.Advance(absl::Seconds(4));
  EXPECT_EQ(changes_, 1);
}

TEST_F(ConfigWatcherTest, AnAtomicallyReplacedFileIsReported) {
  watcher_->Start();
  { std::ofstream(path_ + ".new") << "log:\n  level: info\n"; }  // Same size.
  ASSERT_EQ(std::rename((path_ + ".new").c_str(), path_.c_str()), 0);
  clock_.Advance(absl::Seconds(2));
  EXPECT_EQ(changes_, 1);
}

TEST_F(ConfigWatcherTest, RemovedThenRecreatedIsTwoChanges) {
  watcher_->Start();
  std::remove(path_.c_str());
  clock_.Advance(absl::Seconds(2));
  EXPECT_EQ(changes_, 1);
  EXPECT_FALSE(ConfigWatcher::StampOf(path_).exists);
  Write("x: 1\n");
  clock_.Advance(absl::Seconds(2));
  EXPECT_EQ(changes_, 2);
}

TEST_F(ConfigWatcherTest, NoCheckAfterStop) {
  watcher_->Start();
  watcher_->Stop();
  EXPECT_EQ(clock_.pending_timers(), 0);
  Write("changed: true\n");
  clock_.Advance(absl::Seconds(10));
  EXPECT_EQ(changes_, 0);
}

}  // namespace
}  // namespace fgw
