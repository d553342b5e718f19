// Rng: xoshiro256** seeded through splitmix64. Fast, small, reproducible from one 64-bit seed;
// the generator behind every Profile, so a bench, a seed file and a property all replay the
// same op stream from the same seed. Not for cryptography.
#pragma once

#include <cstdint>

namespace vmmem {

constexpr uint64_t splitmix64(uint64_t& state) {
  uint64_t z = (state += 0x9e3779b97f4a7c15ULL);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

class Rng {
 public:
  explicit constexpr Rng(uint64_t seed) {
    for (uint64_t& word : state_)
      word = splitmix64(seed);
  }

  constexpr uint64_t next() {
    const uint64_t result = rotl(state_[1] * 5, 7) * 9;
    const uint64_t t = state_[1] << 17;
    state_[2] ^= state_[0];
    state_[3] ^= state_[1];
    state_[1] ^= state_[2];
    state_[0] ^= state_[3];
    state_[2] ^= t;
    state_[3] = rotl(state_[3], 45);
    return result;
  }

  // Uniform in [0, bound) by Lemire's multiply-shift (bias below 2^-64 * bound: negligible
  // for workload generation). REQUIRES: bound > 0.
  constexpr uint64_t below(uint64_t bound) {
    return static_cast<uint64_t>((static_cast<unsigned __int128>(next()) * bound) >> 64);
  }

  // Uniform in [lo, hi]. REQUIRES: lo <= hi.
  constexpr uint64_t between(uint64_t lo, uint64_t hi) {
    const uint64_t span = hi - lo + 1;
    return span == 0 ? next() : lo + below(span);
  }

  // True with probability percent / 100.
  constexpr bool percent(unsigned percent) { return below(100) < percent; }

 private:
  static constexpr uint64_t rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }

  uint64_t state_[4] = {};
};

}  // namespace vmmem
