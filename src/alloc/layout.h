// The address-space layout every part of the allocator agrees on.
//
// Memory comes from the OS in segments: kSegmentSize bytes aligned to kSegmentSize, so the
// segment of any block is the block's address with the low kSegmentShift bits cleared. A
// segment is cut into kSlicesPerSegment slices of kSliceSize bytes; slice 0 holds the segment
// header (its page table), and every other slice belongs to exactly one span: a page of small
// blocks, a large block, or free space. Objects too big for one segment get a huge segment of
// their own whose first kSegmentSize bytes follow the same rules.
#pragma once

#include <cstddef>
#include <cstdint>

namespace vmmem::alloc {

inline constexpr unsigned kSegmentShift = 22;
inline constexpr size_t kSegmentSize = size_t{1} << kSegmentShift;  // 4 MiB
inline constexpr unsigned kSliceShift = 16;
inline constexpr size_t kSliceSize = size_t{1} << kSliceShift;  // 64 KiB
inline constexpr size_t kSlicesPerSegment = kSegmentSize / kSliceSize;
// Slices a span inside an ordinary segment may cover (all but the header slice).
inline constexpr size_t kMaxSpanSlices = kSlicesPerSegment - 1;
// The largest block an ordinary segment holds; bigger ones get a huge segment.
inline constexpr size_t kLargestSpanBytes = kMaxSpanSlices * kSliceSize;

// Every block is aligned to at least this; blocks of 16 bytes and more to kMinAlignment.
inline constexpr size_t kWordSize = 8;
inline constexpr size_t kMinAlignment = 16;
// The largest alignment allocate() accepts.
inline constexpr size_t kMaxAlignment = size_t{1} << 21;  // 2 MiB

// The largest request the allocator tries to satisfy; beyond it, allocation fails with
// kOutOfMemory before any arithmetic can wrap.
inline constexpr size_t kMaxRequest = size_t{1} << 46;

inline uintptr_t segment_base_of(const void* p) {
  return reinterpret_cast<uintptr_t>(p) & ~(uintptr_t{kSegmentSize} - 1);
}

}  // namespace vmmem::alloc
