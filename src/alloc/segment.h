// Segment: kSegmentSize bytes aligned to kSegmentSize (or, for one huge object, a larger
// mapping whose first kSegmentSize bytes follow the same layout), with this header at its
// start. The header is slice 0: a page table with one Page per slice. A pointer finds its
// page by arithmetic alone: segment = address & ~(kSegmentSize - 1), slice = offset >>
// kSliceShift, then that slice's slice_offset back to the span's first slice.
//
// Ownership: a segment belongs to one Heap (heap, owner_tid) while it is in that heap's
// segment list; to nobody while it is on the allocator's abandoned list (owner_tid == 0); and
// it is neither while cached or being unmapped; in a fork() child a segment of a thread that
// stopped mid-change is orphaned (owner_tid == kOrphanedOwner, heap null, on the allocator's
// orphaned list: freed into, never allocated from). fast_free_tid equals owner_tid, except 0 in
// hardened mode, so every free of a hardened allocator takes the checked path
// (Allocator::deallocate_in_segment).
//
// Invariants (check() verifies them):
//   1. Slices 1 .. kSlicesPerSegment-1 of an ordinary segment are partitioned into spans; the
//      span layout rules of page.h hold. A huge segment has exactly one in-use span.
//   2. No two adjacent spans are both free (free spans coalesce on release).
//   3. used_spans counts the in-use spans; a segment on a heap's list with used_spans == 0 is
//      that heap's one retained empty segment.
//   4. dirty_mask has a bit for every slice that may hold non-zero bytes; a clear bit's slice
//      reads as zeros (fresh from the OS or purged). No slice is both dirty and in
//      purged_mask (taking a slice for a block clears its purged bit).
//   5. In hardened mode, bit b of allocated_bits is set exactly when a live block (or a block
//      freed remotely and not yet collected... see heap.h) starts at start + 8 * b.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>

#include "alloc/layout.h"
#include "alloc/page.h"
#include "alloc/sanitizer.h"

namespace vmmem::alloc {

class Allocator;

// No thread's id (thread pointers are aligned), so no free of an orphaned segment's blocks is
// taken for a local one.
inline constexpr uintptr_t kOrphanedOwner = 1;

struct Segment {
  Allocator* allocator;
  std::atomic<Heap*> heap;
  std::atomic<uintptr_t> owner_tid;
  std::atomic<uintptr_t> fast_free_tid;
  size_t mapping_size;  // kSegmentSize, or more for a huge segment
  bool huge;
  bool abandoned;  // on the allocator's abandoned list (read and written under its lock)
  uint32_t used_spans;
  uint64_t dirty_mask;
  // Slices a heap purged as part of a free span and has not used since: taking one again is
  // the evidence the heap's adaptive purge delay grows on (heap.h). Cleared with the segment.
  uint64_t purged_mask;
  // Hardened mode: one bit per 8-byte granule of the first kSegmentSize bytes, set at the
  // start of every allocated block. A separate mapping of kHardenedBitsBytes.
  std::atomic<uint64_t>* allocated_bits;
  // Under ASan, ordinary segments: the size each small block was asked for, per 8-byte granule
  // (usable_size reports it, and the rest of the block stays poisoned). 32 bits: a 64 KiB
  // request does not fit 16, nor does the shortfall of a 0-byte request in a 64 KiB block.
  // Null otherwise.
  uint32_t* requested_sizes;
  Segment* next;  // in a heap's list, the abandoned list (both doubly linked) or a cache
  Segment* prev;
  uint64_t cached_at;  // in an allocator's cache: its cache clock when the segment entered
  Page slices[kSlicesPerSegment];

  static constexpr size_t kHardenedBitsBytes = kSegmentSize / kWordSize / 8;
  static constexpr size_t kRequestedSizesBytes = kSegmentSize / kWordSize * sizeof(uint32_t);

  // What a client may use of the live block at p: the block, or under ASan what it asked for.
  size_t usable(const Page* page, const void* p) const {
    if constexpr (kAsanEnabled) {
      return page->kind == SpanKind::kSmall ? requested_sizes[granule_of(p)] : page->requested;
    }
    return page->block_size;
  }
  void set_requested(Page* page, const void* p, size_t size) {
    if (page->kind != SpanKind::kSmall) {
      page->requested = size;
    } else if constexpr (kAsanEnabled) {
      requested_sizes[granule_of(p)] = static_cast<uint32_t>(size);
    }
  }

  static Segment* of(const void* p) { return reinterpret_cast<Segment*>(segment_base_of(p)); }

  std::byte* base() { return reinterpret_cast<std::byte*>(this); }
  std::byte* slice_address(size_t index) { return base() + index * kSliceSize; }
  size_t slice_index(const void* p) const {
    return static_cast<size_t>(static_cast<const std::byte*>(p) -
                               reinterpret_cast<const std::byte*>(this)) >>
           kSliceShift;
  }
  size_t index_of(const Page* page) const { return static_cast<size_t>(page - slices); }

  // The span that contains p. REQUIRES: p lies in the first kSegmentSize bytes of this
  // segment, in an in-use span.
  Page* page_of(const void* p) {
    Page* slice = &slices[slice_index(p)];
    return slice - slice->slice_offset;
  }
  // page_of for any p in the first kSegmentSize bytes: the in-use span that contains it, or null
  // when p is in the header slice or a free span. Only a free span's last slice keeps its
  // slice_offset, so a bad pointer into a free span's interior reads a stale one: the clamp
  // keeps the first slice inside the segment whatever it holds.
  Page* live_page_of(const void* p) {
    const size_t slice = slice_index(p);
    const size_t offset = slices[slice].slice_offset;
    const size_t first = slice - (offset <= slice ? offset : slice);
    Page* page = &slices[first];
    if (slice == 0 || first == 0 || page->slice_count == 0 || first + page->slice_count <= slice ||
        !page->is_in_use())
      return nullptr;
    return page;
  }

  // Bit mask of the slices [first, first + count).
  static uint64_t slice_mask(size_t first, size_t count) {
    const uint64_t ones = count >= 64 ? ~uint64_t{0} : (uint64_t{1} << count) - 1;
    return ones << first;
  }

  // Granule bit helpers for hardened mode.
  size_t granule_of(const void* p) const {
    return static_cast<size_t>(static_cast<const std::byte*>(p) -
                               reinterpret_cast<const std::byte*>(this)) /
           kWordSize;
  }
  // Sets the bit; returns its previous value.
  bool mark_allocated(const void* p) {
    const size_t g = granule_of(p);
    const uint64_t bit = uint64_t{1} << (g % 64);
    return (allocated_bits[g / 64].fetch_or(bit, std::memory_order_acq_rel) & bit) != 0;
  }
  // Clears the bit; returns its previous value.
  bool mark_free(const void* p) {
    const size_t g = granule_of(p);
    const uint64_t bit = uint64_t{1} << (g % 64);
    return (allocated_bits[g / 64].fetch_and(~bit, std::memory_order_acq_rel) & bit) != 0;
  }
  bool is_marked_allocated(const void* p) const {
    const size_t g = granule_of(p);
    return (allocated_bits[g / 64].load(std::memory_order_acquire) >> (g % 64)) & 1;
  }
};

static_assert(sizeof(Segment) <= kSliceSize, "the segment header must fit in slice 0");

// Links `segment` in front of the doubly linked list (through next/prev) that starts at `head`.
inline void push_front(Segment*& head, Segment* segment) {
  segment->prev = nullptr;
  segment->next = head;
  if (head != nullptr) head->prev = segment;
  head = segment;
}

// Takes `segment` out of the doubly linked list that starts at `head`.
inline void unlink(Segment*& head, Segment* segment) {
  if (segment->prev != nullptr)
    segment->prev->next = segment->next;
  else
    head = segment->next;
  if (segment->next != nullptr) segment->next->prev = segment->prev;
  segment->next = segment->prev = nullptr;
}

}  // namespace vmmem::alloc
