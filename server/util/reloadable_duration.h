// ReloadableDuration: an absl::Duration that a reload may change while calls read it (the
// cache TTL of a method, in an otherwise immutable method table entry). Reads and writes are
// relaxed atomics on the nanosecond count: a call sees the old or the new value, never a torn
// one, and no lock is taken on the call path.
//
// It reads like the Duration it holds (implicit conversion) and is assigned like one; Set() is
// const because the value sits in entries the call path only reads: it is the one field a
// reload may change.
//
// Thread safety: every method may be called concurrently. Durations beyond +/-292 years are
// clamped to absl::InfiniteDuration() / -absl::InfiniteDuration().
#ifndef FGW_SERVER_UTIL_RELOADABLE_DURATION_H_
#define FGW_SERVER_UTIL_RELOADABLE_DURATION_H_

#include <atomic>
#include <cstdint>
#include <limits>

#include "absl/time/time.h"

namespace fgw {

class ReloadableDuration {
 public:
  ReloadableDuration() = default;
  ReloadableDuration(absl::Duration d)
      : ns_(ToNs(d)) {}  // NOLINT: reads as a Duration.
  ReloadableDuration(const ReloadableDuration& other) : ns_(other.ns()) {}
  ReloadableDuration& operator=(const ReloadableDuration& other) {
    ns_.store(other.ns(), std::memory_order_relaxed);
    return *this;
  }
  ReloadableDuration& operator=(absl::Duration d) {
    Set(d);
    return *this;
  }

  void Set(absl::Duration d) const {
    ns_.store(ToNs(d), std::memory_order_relaxed);
  }
  absl::Duration get() const { return FromNs(ns()); }
  operator absl::Duration() const {
    return get();
  }  // NOLINT: reads as a Duration.

 private:
  static constexpr int64_t kMax = std::numeric_limits<int64_t>::max();
  static constexpr int64_t kMin = std::numeric_limits<int64_t>::min();

  static int64_t ToNs(absl::Duration d) {
    if (d >= absl::Nanoseconds(kMax)) return kMax;
    if (d <= absl::Nanoseconds(kMin)) return kMin;
    return absl::ToInt64Nanoseconds(d);
  }
  static absl::Duration FromNs(int64_t ns) {
    if (ns == kMax) return absl::InfiniteDuration();
    if (ns == kMin) return -absl::InfiniteDuration();
    return absl::Nanoseconds(ns);
  }
  int64_t ns() const { return ns_.load(std::memory_order_relaxed); }

  mutable std::atomic<int64_t> ns_{0};
};

}  // namespace fgw

#endif  // FGW_SERVER_UTIL_RELOADABLE_DURATION_H_
