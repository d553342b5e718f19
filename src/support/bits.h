// Overflow-checked address arithmetic and power-of-two helpers. Every guest address
// computation in vmmem goes through these; none of them can wrap silently.
#pragma once

#include <bit>
#include <concepts>
#include <cstdint>
#include <optional>

namespace vmmem {

constexpr bool is_pow2(uint64_t x) {
  return std::has_single_bit(x);
}

// a + b, or nullopt when the sum does not fit in 64 bits.
constexpr std::optional<uint64_t> checked_add(uint64_t a, uint64_t b) {
  uint64_t sum;
  if (__builtin_add_overflow(a, b, &sum)) return std::nullopt;
  return sum;
}

// The last byte of [start, start + size): nullopt when size == 0 or the range wraps past 2^64.
// Working with inclusive ends lets a range end exactly at the top of the address space.
constexpr std::optional<uint64_t> last_byte(uint64_t start, uint64_t size) {
  if (size == 0) return std::nullopt;
  return checked_add(start, size - 1);
}

// REQUIRES: is_pow2(alignment).
constexpr bool is_aligned(uint64_t x, uint64_t alignment) {
  return (x & (alignment - 1)) == 0;
}
constexpr uint64_t align_down(uint64_t x, uint64_t alignment) {
  return x & ~(alignment - 1);
}

// Rounds up, or nullopt when the result would not fit. REQUIRES: is_pow2(alignment).
constexpr std::optional<uint64_t> align_up(uint64_t x, uint64_t alignment) {
  auto bumped = checked_add(x, alignment - 1);
  if (!bumped) return std::nullopt;
  return align_down(*bumped, alignment);
}

// Reverses byte order (std::byteswap arrives only in C++23).
template <std::unsigned_integral T>
constexpr T byteswap(T value) {
  if constexpr (sizeof(T) == 1)
    return value;
  else if constexpr (sizeof(T) == 2)
    return __builtin_bswap16(value);
  else if constexpr (sizeof(T) == 4)
    return __builtin_bswap32(value);
  else
    return __builtin_bswap64(value);
}

}  // namespace vmmem
