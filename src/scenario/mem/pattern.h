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
// Out of line and out of libFuzzer's comparison tracing: its loop over every word was a large
// share of the mem fuzz targets' time.
[[gnu::noinline]] VMM_NO_FUZZ_TRACING inline void fill_pattern(uint64_t seed,
                                                               std::span<std::byte> out) {
  auto word_at = [seed](uint64_t k) {
    const uint64_t word = seed * (k + 1) + k;
    return std::endian::native == std::endian::big ? byteswap(word) : word;
  };
  const size_t words = out.size() / 8;
  for (size_t k = 0; k < words; ++k) {
    const uint64_t word = word_at(k);
    std::memcpy(out.data() + 8 * k, &word, 8);
  }
  if (const size_t tail = out.size() % 8; tail != 0) {
    const uint64_t word = word_at(words);
    std::memcpy(out.data() + 8 * words, &word, tail);
  }
}

}  // namespace vmmem::scenario::mem
