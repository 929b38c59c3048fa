// A Random whose Next64() returns scripted values (then repeats the last), for exact jitter.
#ifndef FGW_TESTS_UNIT_RETRY_SCRIPTED_RANDOM_H_
#define FGW_TESTS_UNIT_RETRY_SCRIPTED_RANDOM_H_

#include <cstdint>
#include <limits>
#include <vector>

#include "server/util/random.h"

namespace fgw {

class FixedRandom : public Random {
 public:
  explicit FixedRandom(uint64_t value) : value_(value) {}
  uint64_t Next64() override { return value_; }
  static FixedRandom Max() {
    return FixedRandom(std::numeric_limits<uint64_t>::max());
  }
  static FixedRandom Zero() { return FixedRandom(0); }

 private:
  uint64_t value_;
};

}  // namespace fgw

#endif  // FGW_TESTS_UNIT_RETRY_SCRIPTED_RANDOM_H_
