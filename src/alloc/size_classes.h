// Size classes for small blocks, 8 B .. 64 KiB.
//
// Classes: 8, then multiples of 16 up to 128 (16, 32, ..., 128), then eight classes per
// doubling up to kMaxSmallSize (144, 160, ..., 256, 288, ..., 65536). Consequences the
// property tests check:
//   1. class_size is strictly increasing and size_to_class(s) is the smallest class whose size
//      is >= s, for every s in 1..kMaxSmallSize (0 is served as 1).
//   2. Internal waste class_size(size_to_class(s)) - s is below 16 bytes for s <= 128 and at
//      most 12.5% of s above (the step of each doubling is an eighth of its base).
//   3. Every class size of 16 or more is a multiple of 16, so blocks in a slice-aligned page
//      are kMinAlignment-aligned; a power-of-two class size keeps blocks aligned to it.
// size_to_class is O(1): a table lookup up to kDirectMaxSize, a bit scan above.
#pragma once

#include <array>
#include <bit>
#include <cstddef>
#include <cstdint>

#include "alloc/layout.h"

namespace vmmem::alloc {

inline constexpr size_t kMaxSmallSize = 64 * 1024;
inline constexpr size_t kNumClasses = 81;
// A reallocation that grows a block past this size moves it to a large span, even where a
// class would serve the new size: later growth then extends the span in place, where a class
// block would be copied at each of the eight class steps up to kMaxSmallSize. So a block of
// kSmallestSpanBlock < size <= kMaxSmallSize lives in a class page or, grown there by
// reallocate, in a span of one slice.
inline constexpr size_t kSmallestSpanBlock = 32 * 1024;
// Requests up to this size find their class (and the heap its page) by one table lookup
// indexed by the size in words.
inline constexpr size_t kDirectMaxSize = 1024;
inline constexpr size_t kDirectSlots = kDirectMaxSize / kWordSize + 1;

namespace detail {

constexpr uint8_t compute_class(size_t size) {
  if (size <= 8) return 0;
  if (size <= 128) return static_cast<uint8_t>((size + 15) >> 4);
  const size_t v = size - 1;
  const unsigned k = static_cast<unsigned>(std::bit_width(v)) - 1;  // 2^k <= v < 2^(k+1)
  const size_t sub = (v >> (k - 3)) & 7;
  return static_cast<uint8_t>(9 + (k - 7) * 8 + sub);
}

constexpr size_t compute_class_size(size_t cls) {
  if (cls == 0) return 8;
  if (cls <= 8) return cls * 16;
  const size_t group = (cls - 9) / 8, sub = (cls - 9) % 8;
  const size_t base = size_t{128} << group;
  return base + (sub + 1) * (base / 8);
}

constexpr std::array<uint32_t, kNumClasses> make_class_sizes() {
  std::array<uint32_t, kNumClasses> sizes{};
  for (size_t c = 0; c < kNumClasses; ++c)
    sizes[c] = static_cast<uint32_t>(compute_class_size(c));
  return sizes;
}

// Indexed by (size + 7) / 8 for size <= kDirectMaxSize.
constexpr std::array<uint8_t, kDirectSlots> make_direct_classes() {
  std::array<uint8_t, kDirectSlots> classes{};
  for (size_t slot = 0; slot < kDirectSlots; ++slot)
    classes[slot] = compute_class(slot == 0 ? 1 : slot * kWordSize);
  return classes;
}

inline constexpr std::array<uint32_t, kNumClasses> kClassSizes = make_class_sizes();
inline constexpr std::array<uint8_t, kDirectSlots> kDirectClasses = make_direct_classes();

static_assert(compute_class_size(kNumClasses - 1) == kMaxSmallSize);
static_assert(compute_class(kMaxSmallSize) == kNumClasses - 1);

}  // namespace detail

// Slot of the direct table for size. REQUIRES: size <= kDirectMaxSize.
constexpr size_t direct_slot(size_t size) {
  return (size + kWordSize - 1) / kWordSize;
}

// REQUIRES: size <= kMaxSmallSize.
constexpr size_t size_to_class(size_t size) {
  return size <= kDirectMaxSize ? detail::kDirectClasses[direct_slot(size)]
                                : detail::compute_class(size);
}

// REQUIRES: cls < kNumClasses.
constexpr size_t class_size(size_t cls) {
  return detail::kClassSizes[cls];
}

// The smallest class whose blocks hold `size` bytes at `alignment`, or kNumClasses when no
// small class does (the request then goes to a large span). REQUIRES: alignment is a power of
// two.
constexpr size_t aligned_size_to_class(size_t size, size_t alignment) {
  if (size > kMaxSmallSize) return kNumClasses;
  if (alignment <= kMinAlignment && (alignment <= kWordSize || size > kWordSize))
    return size_to_class(size);
  if (alignment > kMaxSmallSize) return kNumClasses;
  for (size_t cls = size_to_class(size < alignment ? alignment : size); cls < kNumClasses; ++cls) {
    if (class_size(cls) % alignment == 0) return cls;
  }
  return kNumClasses;
}

// Slices a page of class `cls` covers: the fewest that hold at least 8 blocks with at most an
// eighth of the page left over.
constexpr size_t class_page_slices(size_t cls) {
  const size_t block = class_size(cls);
  for (size_t slices = 1;; ++slices) {
    const size_t bytes = slices * kSliceSize;
    if (bytes / block >= 8 && (bytes % block) * 8 <= bytes) return slices;
  }
}

}  // namespace vmmem::alloc
