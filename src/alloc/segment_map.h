// SegmentMap: one bit per kSegmentSize-aligned address in the 48-bit address space, set while
// a segment of some Allocator in this process lives there and hands out blocks; and a second
// bit, set for the kSegmentSize granules a huge segment covers past its first, so a pointer deep
// inside a huge block is known for what it is.
//
// It is how deallocate() tells a block of ours from any other pointer in O(1) without touching
// memory it does not own: only when the bit of a pointer's segment base is set is the segment
// header read. The table is 8 MiB of zero-initialized static storage; the kernel backs only
// the pages that hold set bits.
//
// Thread safety: all functions may be called from any thread (atomic bit operations).
// Invariant: a bit is set exactly while its segment is mapped and owned by a live heap or on
// an allocator's abandoned list (never while cached or unmapped).
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>

#include "alloc/layout.h"

namespace vmmem::alloc {

class SegmentMap {
 public:
  static constexpr unsigned kAddressBits = 48;
  static constexpr size_t kSegments = size_t{1} << (kAddressBits - kSegmentShift);
  static constexpr size_t kWords = kSegments / 64;

  static bool contains(uintptr_t segment_base) {
    const uintptr_t index = segment_base >> kSegmentShift;
    if (index >= kSegments) return false;
    return (word(index).load(std::memory_order_relaxed) >> (index % 64)) & 1;
  }
  static void insert(uintptr_t segment_base) {
    const uintptr_t index = segment_base >> kSegmentShift;
    word(index).fetch_or(uint64_t{1} << (index % 64), std::memory_order_release);
  }
  static void erase(uintptr_t segment_base) {
    const uintptr_t index = segment_base >> kSegmentShift;
    word(index).fetch_and(~(uint64_t{1} << (index % 64)), std::memory_order_release);
  }

  // Calls visit(segment_base) for every set bit: a scan of the whole table (about a
  // millisecond), for the rare walks that cannot follow any list (Allocator::after_fork_child).
  template <class F>
  static void for_each(F&& visit) {
    for (size_t i = 0; i < kWords; ++i) {
      uint64_t bits = word(i * 64).load(std::memory_order_acquire);
      while (bits != 0) {
        const unsigned bit = static_cast<unsigned>(__builtin_ctzll(bits));
        bits &= bits - 1;
        visit(static_cast<uintptr_t>(i * 64 + bit) << kSegmentShift);
      }
    }
  }

  // The granules (kSegmentSize each) after the first of a mapping of `size` bytes at base.
  static void insert_tail(uintptr_t segment_base, size_t size) {
    mark_tail(segment_base, size, true);
  }
  static void erase_tail(uintptr_t segment_base, size_t size) {
    mark_tail(segment_base, size, false);
  }
  static bool in_tail(uintptr_t granule) {
    const uintptr_t index = granule >> kSegmentShift;
    if (index >= kSegments) return false;
    return (tail_word(index).load(std::memory_order_relaxed) >> (index % 64)) & 1;
  }

 private:
  static std::atomic_ref<uint64_t> word(uintptr_t index) {
    return std::atomic_ref<uint64_t>(bits_[index / 64]);
  }
  static std::atomic_ref<uint64_t> tail_word(uintptr_t index) {
    return std::atomic_ref<uint64_t>(tail_bits_[index / 64]);
  }
  static void mark_tail(uintptr_t segment_base, size_t size, bool set) {
    const uintptr_t first = (segment_base >> kSegmentShift) + 1;
    const uintptr_t end = (segment_base + size + kSegmentSize - 1) >> kSegmentShift;
    for (uintptr_t index = first; index < end && index < kSegments; ++index) {
      const uint64_t bit = uint64_t{1} << (index % 64);
      if (set)
        tail_word(index).fetch_or(bit, std::memory_order_release);
      else
        tail_word(index).fetch_and(~bit, std::memory_order_release);
    }
  }
  // Plain words reached only through atomic_ref: zero-initialized static storage with no
  // constructor to run, whatever the compiler.
  alignas(std::atomic_ref<uint64_t>::required_alignment) static uint64_t bits_[kWords];
  alignas(std::atomic_ref<uint64_t>::required_alignment) static uint64_t tail_bits_[kWords];
};

}  // namespace vmmem::alloc
