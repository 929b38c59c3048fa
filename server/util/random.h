// Random: the injected source of jitter and of idempotency keys, so tests are deterministic.
//
// Thread safety: every method of every implementation may be called from any thread.
#ifndef FGW_SERVER_UTIL_RANDOM_H_
#define FGW_SERVER_UTIL_RANDOM_H_

#include <cstdint>
#include <random>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"

namespace fgw {

class Random {
 public:
  virtual ~Random() = default;

  // 64 uniformly distributed bits.
  virtual uint64_t Next64() = 0;

  // Uniform in [0, 1), from the top 53 bits of Next64().
  double Uniform01();
  // Uniform in [0, max]; ZeroDuration() when max <= 0.
  absl::Duration UniformDuration(absl::Duration max);
};

// The process-wide source: absl::BitGen per thread (seeded from the OS). Never destroyed.
Random* RealRandom();

// A deterministic source for tests: the same seed gives the same sequence (std::mt19937_64).
class SeededRandom : public Random {
 public:
  explicit SeededRandom(uint64_t seed) : engine_(seed) {}
  uint64_t Next64() override;

 private:
  absl::Mutex mu_;
  std::mt19937_64 engine_ ABSL_GUARDED_BY(mu_);
};

}  // namespace fgw

#endif  // FGW_SERVER_UTIL_RANDOM_H_
