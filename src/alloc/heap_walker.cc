// The heap walk and its users: Allocator::stats, check and for_each_live_block, and
// Heap::check_lists.
#include "alloc/heap_walker.h"

#include <cstring>

#include "support/check.h"

namespace vmmem::alloc {
namespace {

constexpr size_t kOsPage = 4096;
constexpr size_t kHeaderBytes = (sizeof(Segment) + kOsPage - 1) & ~(kOsPage - 1);
constexpr size_t kHeapRecordBytes = (sizeof(Heap) + kOsPage - 1) & ~(kOsPage - 1);

// Adds the blocks of one list to `set`; *count gets their number.
const char* mark_list(const Page& page, const Block* block, PageFreeSet& set, size_t* count) {
  for (size_t steps = 0; block != nullptr; ++steps) {
    if (steps > page.capacity) return "a free list is longer than its page (a cycle)";
    const size_t index = page.block_index(block);
    if (index == SIZE_MAX) return "a free-list link is not a block start of its page";
    if (set.contains(index)) return "a block is on two free lists (or twice on one)";
    set.bits[index / 64] |= uint64_t{1} << (index % 64);
    ++*count;
    block = read_link(block);
  }
  return nullptr;
}

Status broken(const char* what, const void* where, uint64_t size = 0) {
  return Status::error(ErrorCode::kBrokenInvariant, what, reinterpret_cast<uintptr_t>(where), size);
}

}  // namespace

VMM_NO_FUZZ_TRACING const char* HeapWalker::collect_free(const Page& page, const Heap* owner,
                                                         PageFreeSet& set) {
  std::memset(set.bits, 0, sizeof set.bits);
  set.on_free = set.on_thread_free = set.on_delayed = 0;
  if (page.capacity > PageFreeSet::kMaxBlocks) return "a page holds more blocks than fit a slice";
  if (const char* error = mark_list(page, page.free, set, &set.on_free)) return error;
  if (const char* error =
          mark_list(page, Page::list_of(page.thread_free.load(std::memory_order_acquire)), set,
                    &set.on_thread_free))
    return error;
  if (owner == nullptr) return nullptr;
  size_t steps = 0;
  for (const Block* block = owner->peek_delayed(); block != nullptr; block = read_link(block)) {
    if (++steps > (size_t{1} << 32)) return "the delayed-free list does not end";
    if (Segment::of(block)->page_of(block) != &page) continue;
    const size_t index = page.block_index(block);
    if (index == SIZE_MAX) return "a delayed-free block is not a block start";
    if (set.contains(index)) return "a delayed-free block is also on a page free list";
    set.bits[index / 64] |= uint64_t{1} << (index % 64);
    ++set.on_delayed;
  }
  return nullptr;
}

// ---- stats ---------------------------------------------------------------------------------

Stats Allocator::stats() const {
  Stats stats;
  HeapWalker walker(*this);
  PageFreeSet set;
  walker.for_each_segment([&](Segment* segment, const Heap* owner) {
    ++stats.segments;
    if (owner == nullptr) ++stats.abandoned_segments;
    HeapWalker::for_each_span(segment, [&](Page* page) {
      if (!page->is_in_use()) return;
      if (HeapWalker::collect_free(*page, owner, set) != nullptr) return;  // check() reports it
      const size_t live = set.live(*page);
      BlockCounts& counts =
          page->kind == SpanKind::kSmall ? stats.small[page->size_class] : stats.large;
      counts.blocks += live;
      counts.bytes += live * page->block_size;
    });
  });
  for (const BlockCounts& counts : stats.small) {
    stats.live.blocks += counts.blocks;
    stats.live.bytes += counts.bytes;
  }
  stats.live.blocks += stats.large.blocks;
  stats.live.bytes += stats.large.bytes;
  std::lock_guard guard(lock_);
  for (const Heap* heap = heaps_; heap != nullptr; heap = heap->next_in_allocator)
    stats.heaps += heap->in_use ? 1 : 0;
  for (const Segment* segment = orphaned_; segment != nullptr; segment = segment->next)
    ++stats.orphaned_segments;
  stats.cached_segments = cached_ + huge_cached_;
  stats.committed_bytes = committed_.load(std::memory_order_relaxed);
  stats.peak_committed_bytes = peak_committed_.load(std::memory_order_relaxed);
  stats.os = os_.counters();
  stats.reserved_bytes = stats.os.mapped_bytes;
  stats.reports = reports_.load(std::memory_order_relaxed);
  return stats;
}

// ---- live blocks ---------------------------------------------------------------------------

void Allocator::for_each_live_block(void (*visit)(void* block, size_t usable, void* context),
                                    void* context) const {
  HeapWalker walker(*this);
  PageFreeSet set;
  walker.for_each_segment([&](Segment* segment, const Heap* owner) {
    HeapWalker::for_each_span(segment, [&](Page* page) {
      if (!page->is_in_use() || HeapWalker::collect_free(*page, owner, set) != nullptr) return;
      for (size_t i = 0; i < page->capacity; ++i) {
        if (set.contains(i)) continue;
        std::byte* block = page->start + i * page->block_size;
        // Remotely freed blocks still waiting on thread_free or delayed lists are in `set`.
        visit(block, segment->usable(page, block), context);
      }
    });
  });
}

// ---- check ---------------------------------------------------------------------------------

VMM_NO_FUZZ_TRACING Status Allocator::check_segment(Segment* segment, const Heap* owner) const {
  if (segment->allocator != this) return broken("segment of another allocator", segment);
  if (!SegmentMap::contains(reinterpret_cast<uintptr_t>(segment)))
    return broken("live segment missing from the segment map", segment);
  const uintptr_t expected_owner = owner != nullptr ? owner->owner_tid() : 0;
  if (segment->heap.load(std::memory_order_relaxed) != owner ||
      segment->owner_tid.load(std::memory_order_relaxed) != expected_owner ||
      segment->fast_free_tid.load(std::memory_order_relaxed) !=
          (options_.hardened ? 0 : expected_owner))
    return broken("segment ownership fields disagree with its heap", segment);
  if (segment->abandoned != (owner == nullptr))
    return broken("segment's abandoned flag disagrees with the list it is on", segment);
  if (segment->huge && segment->mapping_size <= kSegmentSize)
    return broken("huge segment no larger than an ordinary one", segment);
  if (segment->dirty_mask & 1) return broken("the header slice is marked dirty", segment);
  if ((segment->dirty_mask & segment->purged_mask) != 0)
    return broken("a slice is both dirty and marked purged", segment);

  // Span layout (invariants 1-3 of segment.h).
  size_t used_spans = 0;
  bool previous_free = false;
  size_t i = 1;
  if (segment->huge) {
    const Page& page = segment->slices[1];
    if (page.kind != SpanKind::kLarge || page.slice_count != kMaxSpanSlices)
      return broken("a huge segment's span is not one large block", segment);
    used_spans = 1;
    i = kSlicesPerSegment;
  }
  while (i < kSlicesPerSegment) {
    const Page& span = segment->slices[i];
    const size_t count = span.slice_count;
    if (count == 0 || i + count > kSlicesPerSegment || span.slice_offset != 0)
      return broken("slices are not partitioned into spans", &span);
    if (span.is_in_use()) {
      ++used_spans;
      previous_free = false;
      for (size_t k = 1; k < count; ++k) {
        const Page& slice = segment->slices[i + k];
        if (slice.slice_offset != k || slice.slice_count != 0)
          return broken("an in-use span's slice does not lead back to its first", &slice);
      }
    } else {
      if (previous_free) return broken("two adjacent free spans were not coalesced", &span);
      previous_free = true;
      if (count > 1 && segment->slices[i + count - 1].slice_offset != count - 1)
        return broken("a free span's last slice does not lead back to its first", &span);
      // Only a span's first slice has a count: a stale one inside a free span (left by a
      // coalesce) would be taken for a span start once the slices around it are reused.
      for (size_t k = 1; k < count; ++k) {
        if (segment->slices[i + k].slice_count != 0)
          return broken("a free span's slice still has a slice count", &segment->slices[i + k]);
      }
    }
    i += count;
  }
  if (used_spans != segment->used_spans)
    return broken("used_spans differs from the in-use spans walked", segment, used_spans);

  // Pages: the accounting identity and the lists (page.h, invariant 2 here).
  PageFreeSet set;
  Status status;
  HeapWalker::for_each_span(segment, [&](Page* page) {
    if (!status.ok() || !page->is_in_use()) return;
    if (const char* error = HeapWalker::collect_free(*page, owner, set)) {
      status = broken(error, page);
      return;
    }
    if (page->kind == SpanKind::kSmall) {
      if (page->size_class >= kNumClasses || page->block_size != class_size(page->size_class) ||
          page->reserved != page->slice_count * kSliceSize / page->block_size ||
          page->start != segment->slice_address(segment->index_of(page))) {
        status = broken("a small page's class, size or start is wrong", page);
        return;
      }
    } else if (page->reserved != 1 || page->capacity > 1 ||
               (page->capacity == 1) != (page->start != nullptr)) {
      status = broken("a large page does not hold exactly one block (or none, when cached)", page);
      return;
    }
    if (page->capacity > page->reserved || page->used + set.on_free != page->capacity ||
        page->used < set.on_thread_free + set.on_delayed) {
      status = broken("page accounting: used + |free| != capacity", page, page->used);
      return;
    }
    if (owner == nullptr &&
        Page::state_of(page->thread_free.load(std::memory_order_relaxed)) != DelayState::kNever) {
      status = broken("a page of an abandoned segment may still notify a heap", page);
      return;
    }
    if (segment->allocated_bits != nullptr) {
      for (size_t b = 0; b < page->capacity; ++b) {
        const void* block = page->start + b * page->block_size;
        if (segment->is_marked_allocated(block) == set.contains(b)) {
          status = broken("hardened granule bit disagrees with the free lists", block);
          return;
        }
      }
    }
  });
  return status;
}

VMM_NO_FUZZ_TRACING const char* Heap::check_lists() const {
  size_t pages_on_lists = 0;
  for (size_t cls = 0; cls < kNumClasses; ++cls) {
    for (const Page* page = queues_[cls].first; page != nullptr; page = page->next) {
      ++pages_on_lists;
      if (page->kind != SpanKind::kSmall || page->size_class != cls || page->in_full)
        return "a queued page is not a small page of its queue's class";
      if (Segment::of(page)->heap.load(std::memory_order_relaxed) != this)
        return "a queued page belongs to another heap";
      if (page->is_current != (current_[cls] == page))
        return "a page's is_current disagrees with its heap's current page";
    }
    const Page* expected =
        hardened_ || queues_[cls].first == nullptr ? &empty_page : queues_[cls].first;
    for (size_t slot = 0; slot < kDirectSlots; ++slot) {
      if (size_to_class(slot == 0 ? 1 : slot * kWordSize) == cls && direct_[slot] != expected)
        return "a direct slot does not point at its class's current page";
    }
  }
  for (const Page* page = full_.first; page != nullptr; page = page->next) {
    ++pages_on_lists;
    const DelayState state = Page::state_of(page->thread_free.load(std::memory_order_relaxed));
    if (page->kind != SpanKind::kSmall || !page->in_full || page->is_current ||
        (state != DelayState::kNotify && state != DelayState::kNone))
      return "a page on the full list is not a full small page";
  }
  if (span_cache_count_ > kSpanCacheSize) return "the span cache overflows";
  size_t cached = 0;
  for (size_t count = 0; count < kSlicesPerSegment; ++count) {
    for (const Page* span = span_cache_[count]; span != nullptr; span = span->next) {
      ++cached;
      if (span->kind != SpanKind::kLarge || span->slice_count != count || span->in_full ||
          span->used != 0 || span->capacity != 0 ||
          Segment::of(span)->heap.load(std::memory_order_relaxed) != this)
        return "a cached span is not an idle large span of its size in this heap";
    }
  }
  if (cached != span_cache_count_) return "span_cache_count differs from the cached spans";
  pages_on_lists += cached;
  size_t in_use_pages = 0, free_spans = 0, empty_segments = 0;
  bool large_off_list = false;
  for (Segment* segment = segments_; segment != nullptr; segment = segment->next) {
    if (segment->used_spans == 0) ++empty_segments;
    HeapWalker::for_each_span(segment, [&](Page* span) {
      if (!span->is_in_use()) {
        ++free_spans;
      } else if (span->kind == SpanKind::kSmall || span->used == 0) {
        ++in_use_pages;  // on a queue, the full list or the span cache
      } else if (!span->in_full) {
        large_off_list = true;
      }
    });
  }
  if (in_use_pages != pages_on_lists) return "an in-use page is on no list of its heap";
  if (large_off_list) return "a large page holding its block is not marked full";
  size_t binned = 0;
  for (size_t count = 1; count < kSlicesPerSegment; ++count) {
    if (((bin_mask_ >> count) & 1) != (bins_[count].empty() ? 0u : 1u))
      return "bin_mask disagrees with the bins";
    for (const Page* span = bins_[count].first; span != nullptr; span = span->next) {
      ++binned;
      if (span->kind != SpanKind::kFree || span->slice_count != count)
        return "a binned span is not a free span of its bin's size";
      if (Segment::of(span)->heap.load(std::memory_order_relaxed) != this)
        return "a binned span belongs to another heap";
    }
  }
  if (bin_mask_ & 1) return "bin 0 is marked non-empty";
  if (binned != free_spans) return "a free span is in no bin";
  if (empty_segments != empty_segments_ || empty_segments_ > 1)
    return "empty_segments differs from the segments walked (or exceeds one)";
  for (const Block* block = peek_delayed(); block != nullptr; block = read_link(block)) {
    const Segment* segment = Segment::of(block);
    if (!SegmentMap::contains(reinterpret_cast<uintptr_t>(segment)) ||
        segment->heap.load(std::memory_order_relaxed) != this)
      return "a delayed-free block is not from this heap";
  }
  return nullptr;
}

Allocator::WalkedBytes Allocator::walk_bytes() const {
  WalkedBytes walked;
  auto account = [&](const Segment* segment) {
    walked.mapped += os_bytes(segment);
    walked.committed += kHeaderBytes + dirty_bytes(segment);
  };
  for (const Heap* heap = heaps_; heap != nullptr; heap = heap->next_in_allocator)
    walked.mapped += kHeapRecordBytes;
  for (const Segment* segment = orphaned_; segment != nullptr; segment = segment->next)
    account(segment);
  HeapWalker(*this).for_each_segment([&](Segment* segment, const Heap*) { account(segment); });
  std::lock_guard guard(lock_);
  for (const Segment* segment = cache_; segment != nullptr; segment = segment->next)
    account(segment);
  for (const Segment* segment = huge_cache_; segment != nullptr; segment = segment->next)
    account(segment);
  return walked;
}

void Allocator::mend_granule_bits() {
  PageFreeSet set;
  HeapWalker(*this).for_each_segment([&](Segment* segment, const Heap* owner) {
    HeapWalker::for_each_span(segment, [&](Page* page) {
      if (!page->is_in_use() || HeapWalker::collect_free(*page, owner, set) != nullptr) return;
      for (size_t b = 0; b < page->capacity; ++b) {
        const void* block = page->start + b * page->block_size;
        if (set.contains(b)) {
          segment->mark_free(block);
        } else {
          segment->mark_allocated(block);
        }
      }
    });
  });
}

VMM_NO_FUZZ_TRACING Status Allocator::check() const {
  HeapWalker walker(*this);
  Status status;
  for (const Heap* heap = heaps_; heap != nullptr; heap = heap->next_in_allocator) {
    if (!heap->in_use) {
      if (heap->segments() != nullptr) return broken("a pooled heap still owns segments", heap);
      continue;
    }
    if (heap->orphaned) continue;  // half-relinked by design; its segments are on orphaned_
    if (const char* error = heap->check_lists()) return broken(error, heap);
  }
  for (const Segment* segment = orphaned_; segment != nullptr; segment = segment->next) {
    if (segment->owner_tid.load(std::memory_order_relaxed) != kOrphanedOwner ||
        !SegmentMap::contains(reinterpret_cast<uintptr_t>(segment)))
      return broken("an orphaned segment is not marked orphaned or left the segment map", segment);
  }
  walker.for_each_segment([&](Segment* segment, const Heap* owner) {
    if (status.ok()) status = check_segment(segment, owner);
  });
  if (!status.ok()) return status;
  const WalkedBytes walked = walk_bytes();
  std::lock_guard guard(lock_);
  size_t cached = 0, huge_cached = 0;
  uint64_t huge_bytes = 0;
  for (const Segment* segment = cache_; segment != nullptr; segment = segment->next, ++cached) {
    if (SegmentMap::contains(reinterpret_cast<uintptr_t>(segment)))
      return broken("a cached segment is still in the segment map", segment);
  }
  for (const Segment* segment = huge_cache_; segment != nullptr; segment = segment->next) {
    ++huge_cached;
    huge_bytes += segment->mapping_size;
    if (SegmentMap::contains(reinterpret_cast<uintptr_t>(segment)))
      return broken("a cached huge segment is still in the segment map", segment);
  }
  if (cached != cached_ || huge_cached != huge_cached_ || huge_bytes != huge_cached_bytes_)
    return broken("cache counters differ from the cache lists", cache_, cached);
  if (walked.mapped != os_.counters().mapped_bytes)
    return broken("mapped bytes differ from the segments and heap records walked", nullptr,
                  walked.mapped);
  if (walked.committed != committed_.load(std::memory_order_relaxed))
    return broken("committed bytes differ from the headers and dirty slices walked", nullptr,
                  walked.committed);
  return kOkStatus;
}

}  // namespace vmmem::alloc
