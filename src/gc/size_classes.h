// Cell sizes of the old generation: multiples of 16 up to 256 bytes, then four sizes per
// doubling up to kMaxCellSize. An object goes to the smallest cell that holds it (waste under
// 16 bytes up to 256 B, at most 25% above).
#pragma once

#include <bit>
#include <cstdint>

namespace vmmem::gc {

inline constexpr uint32_t kMaxCellSize = 32 << 10;
// 16 classes of 16..256, then 4 per doubling from 256 to 32 KiB (7 doublings).
inline constexpr uint32_t kCellClasses = 16 + 4 * 7;

constexpr uint32_t cell_class(uint64_t size) {
  if (size <= 256) return size == 0 ? 0 : static_cast<uint32_t>((size - 1) >> 4);
  // size in (2^k, 2^(k+1)]: k >= 8; quarter steps of 2^(k-2).
  const unsigned k = 63 - static_cast<unsigned>(std::countl_zero(size - 1));
  const uint64_t step = uint64_t{1} << (k - 2);
  const uint32_t quarter = static_cast<uint32_t>((size - 1 - (uint64_t{1} << k)) / step);
  return 16 + 4 * (k - 8) + quarter;
}

constexpr uint32_t cell_size_of_class(uint32_t cls) {
  if (cls < 16) return (cls + 1) * 16;
  const uint32_t k = 8 + (cls - 16) / 4;
  const uint32_t quarter = (cls - 16) % 4;
  return (1u << k) + (quarter + 1) * (1u << (k - 2));
}

static_assert(cell_class(16) == 0 && cell_size_of_class(0) == 16);
static_assert(cell_class(256) == 15 && cell_size_of_class(15) == 256);
static_assert(cell_class(257) == 16 && cell_size_of_class(16) == 320);
static_assert(cell_class(512) == 19 && cell_size_of_class(19) == 512);
static_assert(cell_class(kMaxCellSize) == kCellClasses - 1);
static_assert(cell_size_of_class(kCellClasses - 1) == kMaxCellSize);

}  // namespace vmmem::gc
