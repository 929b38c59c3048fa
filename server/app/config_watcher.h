// ConfigWatcher: notices that the config file changed and says so (the daemon then reloads,
// GatewayApp::Reload). Every `interval` on the injected clock it stats `path` (following
// symlinks, so a Kubernetes ConfigMap's atomic "..data" swap counts) and calls `on_change`
// when the file's identity (device, inode), size or modification time (ns) differ from the
// previous check, or the file appeared or disappeared. The first check only records the file.
//
// Thread safety: Start/Stop from any thread. `on_change` runs on the clock's thread (or inside
// FakeClock::Advance in tests), never concurrently with itself, and must not call Stop().
// Stop() (also run by the destructor) waits for a check in progress; no check starts after it.
#ifndef FGW_SERVER_APP_CONFIG_WATCHER_H_
#define FGW_SERVER_APP_CONFIG_WATCHER_H_

#include <sys/types.h>

#include <cstdint>
#include <functional>
#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "server/util/clock.h"

namespace fgw {

class ConfigWatcher {
 public:
  ConfigWatcher(std::string path, absl::Duration interval, Clock* clock,
                std::function<void()> on_change);
  ~ConfigWatcher();
  ConfigWatcher(const ConfigWatcher&) = delete;
  ConfigWatcher& operator=(const ConfigWatcher&) = delete;

  // Records the file as it is now and schedules the checks. Once.
  void Start();
  void Stop();

  // What a check compares (exposed for tests).
  struct Stamp {
    bool exists = false;
    dev_t device = 0;
    ino_t inode = 0;
    off_t size = 0;
    int64_t mtime_ns = 0;
    bool operator==(const Stamp& o) const {
      return exists == o.exists && device == o.device && inode == o.inode &&
             size == o.size && mtime_ns == o.mtime_ns;
    }
    bool operator!=(const Stamp& o) const { return !(*this == o); }
  };
  static Stamp StampOf(const std::string& path);

 private:
  void Check();
  void Schedule() ABSL_LOCKS_EXCLUDED(timer_mu_);

  const std::string path_;
  const absl::Duration interval_;
  Clock* const clock_;
  const std::function<void()> on_change_;

  // Held shared by a check, exclusively by Stop(): Stop() waits for the check in progress.
  absl::Mutex run_mu_;
  bool stopped_ ABSL_GUARDED_BY(run_mu_) = false;
  bool started_ ABSL_GUARDED_BY(run_mu_) = false;
  Stamp last_ ABSL_GUARDED_BY(stamp_mu_);
  absl::Mutex stamp_mu_;
  absl::Mutex timer_mu_;
  Clock::TimerId timer_ ABSL_GUARDED_BY(timer_mu_) = 0;
};

}  // namespace fgw

#endif  // FGW_SERVER_APP_CONFIG_WATCHER_H_
