// The bytes a WriteBulk op writes: a cheap, seed-determined sequence, so the model and the
// executor produce identical data without storing it in the op.
#pragma once

#include <bit>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <span>

#include "support/bits.h"
#include "support/check.h"

namespace vmmem::scenario::mem {

// Fills `out` with the pattern for `seed`: word k (8 bytes, little-endian) is
// seed * (k + 1) + k, and a short tail takes the low bytes of the next word.
// Out of line, out of libFuzzer's comparison tracing and out of ASan's per-store checks (every
// store is inside `out`): its loop over every word was the largest share of the mem fuzz
// targets' own time.
[[gnu::noinline]] VMM_NO_FUZZ_TRACING __attribute__((no_sanitize("address"))) inline void
fill_pattern(uint64_t seed, std::span<std::byte> out) {
  // seed * (k + 1) + k is the previous word plus seed + 1.
  const uint64_t step = seed + 1;
  uint64_t word = seed;
  std::byte* at = out.data();
  std::byte* const whole_words_end = at + out.size() / 8 * 8;
  for (; at != whole_words_end; at += 8, word += step) {
    const uint64_t stored = std::endian::native == std::endian::big ? byteswap(word) : word;
    std::memcpy(at, &stored, 8);
  }
  for (size_t i = 0; i < out.size() % 8; ++i)
    at[i] = static_cast<std::byte>(word >> (8 * i));
}

}  // namespace vmmem::scenario::mem
