#include "server/util/random.h"

#include "absl/random/random.h"

namespace fgw {
namespace {

class BitGenRandom : public Random {
 public:
  uint64_t Next64() override {
    thread_local absl::BitGen gen;
    return absl::Uniform<uint64_t>(gen);
  }
};

}  // namespace

double Random::Uniform01() {
  return static_cast<double>(Next64() >> 11) *
         (1.0 / 9007199254740992.0);  // 2^-53
}

absl::Duration Random::UniformDuration(absl::Duration max) {
  if (max <= absl::ZeroDuration()) return absl::ZeroDuration();
  // Next64()/2^64 in [0, 1]; inclusive at the top so the bound itself is reachable.
  double u = static_cast<double>(Next64() >> 11) * (1.0 / 9007199254740991.0);
  return max * u;
}

Random* RealRandom() {
  static Random* const random = new BitGenRandom();
  return random;
}

uint64_t SeededRandom::Next64() {
  absl::MutexLock lock(&mu_);
  return engine_();
}

}  // namespace fgw
