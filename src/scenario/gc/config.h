// Config: how the collector under test is set up (the first byte of a fuzz input). Plain values;
// the executor turns them into the collector's options.
#pragma once

#include <cstdint>

namespace vmmem::scenario::gc {

struct Config {
  uint8_t promotion_age = 2;  // minor GCs an object survives before promotion, 1 .. 15
  uint8_t gc_every = 0;       // debug: force a minor GC every this many allocations (0: never)
  // A small nursery (64 KiB .. 1 MiB) sized by the pacer for a 1 ms pause target, so allocation
  // triggers GCs itself and the nursery changes size between them.
  bool paced_nursery = false;
  bool verify_each_gc = true;  // debug: the verifier before and after every collection
  friend bool operator==(const Config&, const Config&) = default;
};

// The gc_every values the one-byte encoding can name.
inline constexpr uint8_t kGcEveryChoices[4] = {0, 1, 5, 32};

inline uint8_t encode_config(const Config& config) {
  uint8_t every = 0;
  for (uint8_t i = 0; i < 4; ++i)
    if (kGcEveryChoices[i] == config.gc_every) every = i;
  return static_cast<uint8_t>((config.promotion_age - 1) | every << 4 |
                              (config.paced_nursery ? 1 : 0) << 6 |
                              (config.verify_each_gc ? 1 : 0) << 7);
}

inline Config decode_config(uint8_t byte) {
  Config config;
  config.promotion_age = static_cast<uint8_t>(1 + (byte & 15) % 15);
  config.gc_every = kGcEveryChoices[(byte >> 4) & 3];
  config.paced_nursery = (byte & 0x40) != 0;
  config.verify_each_gc = (byte & 0x80) != 0;
  return config;
}

}  // namespace vmmem::scenario::gc
