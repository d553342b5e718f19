// HeapWalker: the one walk over an Allocator's heaps, segments, pages and free lists, shared by
// stats(), check() and for_each_live_block() (see STYLE.md: one heap walk, many users). It
// reads everything and changes nothing; callers guarantee quiescence.
#pragma once

#include <cstddef>
#include <cstdint>

#include "alloc/allocator.h"

namespace vmmem::alloc {

// The free blocks of one in-use page, by block index, and how many sit on each list.
struct PageFreeSet {
  static constexpr size_t kMaxBlocks = kSliceSize / kWordSize;  // 8 B blocks in one slice
  uint64_t bits[kMaxBlocks / 64];
  size_t on_free = 0;
  size_t on_thread_free = 0;
  size_t on_delayed = 0;
  // Blocks the client holds: handed out and not freed by anyone.
  size_t live(const Page& page) const { return page.used - on_thread_free - on_delayed; }
  bool contains(size_t index) const { return (bits[index / 64] >> (index % 64)) & 1; }
};

class HeapWalker {
 public:
  explicit HeapWalker(const Allocator& allocator) : allocator_(allocator) {}

  // Calls visit(segment, owner) for every segment in a heap (owner = that heap) or on the
  // abandoned list (owner = null). Orphaned heaps and segments (fork) are not walked.
  template <class F>
  void for_each_segment(F&& visit) const {
    for (const Heap* heap = allocator_.heaps_; heap != nullptr; heap = heap->next_in_allocator) {
      if (!heap->in_use || heap->orphaned) continue;
      for (Segment* segment = heap->segments(); segment != nullptr; segment = segment->next)
        visit(segment, heap);
    }
    for (Segment* segment = allocator_.abandoned_; segment != nullptr; segment = segment->next)
      visit(segment, static_cast<const Heap*>(nullptr));
  }

  // Calls visit(page) for each span of an ordinary segment, or its one span when huge.
  template <class F>
  static void for_each_span(Segment* segment, F&& visit) {
    if (segment->huge) {
      visit(&segment->slices[1]);
      return;
    }
    for (size_t i = 1; i < kSlicesPerSegment;) {
      Page* span = &segment->slices[i];
      if (span->slice_count == 0) return;  // a broken layout; check() reports it
      visit(span);
      i += span->slice_count;
    }
  }

  // Fills `set` with the free blocks of an in-use page of `owner` (null when abandoned).
  // Returns a description of the first broken list rule (a link to a non-block, a block on two
  // lists, a list that does not end), or null.
  static const char* collect_free(const Page& page, const Heap* owner, PageFreeSet& set);

 private:
  const Allocator& allocator_;
};

}  // namespace vmmem::alloc
