#include "server/app/config_watcher.h"

#include <sys/stat.h>

#include <utility>

namespace fgw {

ConfigWatcher::ConfigWatcher(std::string path, absl::Duration interval,
                             Clock* clock, std::function<void()> on_change)
    : path_(std::move(path)),
      interval_(interval > absl::ZeroDuration() ? interval : absl::Seconds(1)),
      clock_(clock),
      on_change_(std::move(on_change)) {}

ConfigWatcher::~ConfigWatcher() { Stop(); }

ConfigWatcher::Stamp ConfigWatcher::StampOf(const std::string& path) {
  Stamp stamp;
  struct stat st;
  if (::stat(path.c_str(), &st) != 0) return stamp;
  stamp.exists = true;
  stamp.device = st.st_dev;
  stamp.inode = st.st_ino;
  stamp.size = st.st_size;
  stamp.mtime_ns =
      static_cast<int64_t>(st.st_mtim.tv_sec) * 1000000000 + st.st_mtim.tv_nsec;
  return stamp;
}

void ConfigWatcher::Start() {
  {
    absl::MutexLock lock(&run_mu_);
    if (started_ || stopped_) return;
    started_ = true;
  }
  {
    absl::MutexLock lock(&stamp_mu_);
    last_ = StampOf(path_);
  }
  Schedule();
}

void ConfigWatcher::Schedule() {
  absl::MutexLock lock(&timer_mu_);
  // RunAfter never runs the callback inline.
  timer_ = clock_->RunAfter(interval_, [this] { Check(); });
}

void ConfigWatcher::Check() {
  {
    absl::ReaderMutexLock lock(&run_mu_);
    if (stopped_) return;
    const Stamp now = StampOf(path_);
    bool changed;
    {
      absl::MutexLock stamp_lock(&stamp_mu_);
      changed = now != last_;
      last_ = now;
    }
    // Shared lock held: Stop() waits for this call (documented: it must not call Stop()).
    if (changed && on_change_) on_change_();
  }
  absl::ReaderMutexLock lock(&run_mu_);
  if (!stopped_) Schedule();
}

void ConfigWatcher::Stop() {
  {
    absl::MutexLock lock(&run_mu_);
    stopped_ = true;
  }
  Clock::TimerId timer;
  {
    absl::MutexLock lock(&timer_mu_);
    timer = timer_;
    timer_ = 0;
  }
  if (timer != 0) clock_->Cancel(timer);
}

}  // namespace fgw
