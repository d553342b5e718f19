// The bytes a WriteBulk op writes: a cheap, seed-determined sequence, so the model and the
// executor produce identical data without storing it in the op.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

namespace vmmem::scenario::mem {

// Fills `out` with the pattern for `seed`: 8-byte little-endian words seed * (i + 1) + i.
inline void fill_pattern(uint64_t seed, std::span<std::byte> out) {
  for (size_t i = 0; i < out.size(); ++i) {
    const uint64_t word = seed * (i / 8 + 1) + i / 8;
    out[i] = static_cast<std::byte>(word >> (8 * (i % 8)));
  }
}

}  // namespace vmmem::scenario::mem
