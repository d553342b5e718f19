#include "alloc/heap.h"

#include <cstring>

#include "alloc/allocator.h"
#include "support/check.h"

namespace vmmem::alloc {
namespace {

// Bytes of fresh blocks one extend() carves at most: enough to amortize the call, small enough
// that a page touches its memory gradually.
constexpr size_t kExtendBytes = 4096;
// Pages smaller than this in carved bytes grow whenever find_page looks at them, before other
// pages are searched for free blocks (see find_page).
constexpr size_t kGrowWhileBelow = 16384;

inline void cpu_relax() {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_ia32_pause();
#endif
}

// Waits until no remote free is handing a block of `page` over (DelayState kNotifying).
void wait_while_notifying(const Page* page) {
  while (Page::state_of(page->thread_free.load(std::memory_order_acquire)) ==
         DelayState::kNotifying)
    cpu_relax();
}

}  // namespace

constinit Page Heap::empty_page{};

// The flag is set before the first relinking store and cleared after the last; the release
// ordering keeps the hardware from making the heap's stores visible outside that window.
Heap::ChangeScope::ChangeScope(Heap* heap)
    : heap_(heap), outer_(!heap->changing_.load(std::memory_order_relaxed)) {
  if (!outer_) return;
  heap_->changing_.store(true, std::memory_order_relaxed);
  std::atomic_thread_fence(std::memory_order_release);
}

Heap::ChangeScope::~ChangeScope() {
  if (outer_) heap_->changing_.store(false, std::memory_order_release);
}

Heap::Heap(Allocator* allocator, uintptr_t owner_tid, bool first_class)
    : allocator_(allocator),
      owner_tid_(owner_tid),
      first_class_(first_class),
      hardened_(allocator->options().hardened),
      purge_delay_(allocator->options().purge_delay) {
  for (Page*& slot : direct_)
    slot = &empty_page;
  for (Page*& page : current_)
    page = &empty_page;
}

// ---- allocation ----------------------------------------------------------------------------

void* Heap::allocate(size_t size, size_t alignment, bool zeroed, bool reallocated) {
  ChangeScope scope(this);
  ++tick_;
  process_delayed();
  maybe_purge_expired();
  const size_t cls = reallocated && size > kSmallestSpanBlock
                         ? kNumClasses
                         : aligned_size_to_class(size, alignment);
  if (cls < kNumClasses) return allocate_small(cls, size, zeroed);
  return allocate_large(size, alignment, zeroed);
}

void* Heap::allocate_small(size_t cls, size_t size, bool zeroed) {
  Page* page = find_page(cls);
  if (page == nullptr) return nullptr;
  return take_free_block(page, size, zeroed);
}

void* Heap::try_allocate_hardened(size_t cls, size_t size) {
  // No ChangeScope, as on the inline fast paths: a fork() child mends the page's `used` and
  // the block's granule bit from the free list (Allocator::mend_granule_bits).
  Page* page = queues_[cls].first;
  if (page == nullptr || page->free == nullptr) return nullptr;
  return take_free_block(page, size, /*zeroed=*/false);
}

void* Heap::take_free_block(Page* page, size_t size, bool zeroed) {
  Block* block = page->free;
  Block* next = read_link(block);
  Segment* segment = Segment::of(page);
  if (hardened_ && next != nullptr && page->block_index(next) == SIZE_MAX) {
    allocator_->report(Status::error(ErrorCode::kBrokenInvariant,
                                     "free list link points outside its page (a write after free?)",
                                     reinterpret_cast<uintptr_t>(block), page->block_size));
    VMM_CHECK(false, "hardened allocator: corrupted free list");
  }
  page->free = next;
  ++page->used;
  if (hardened_) VMM_CHECK(!segment->mark_allocated(block), "free block marked allocated");
  segment->set_requested(page, block, size);
  unpoison(block, size);
  if (zeroed) {
    const size_t usable = kAsanEnabled ? size : page->block_size;
    // A block from a fresh page is zero except for the link word it carried.
    std::memset(block, 0, page->free_is_zero ? (usable < kWordSize ? usable : kWordSize) : usable);
  }
  return block;
}

Page* Heap::find_page(size_t cls) {
  PageQueue& queue = queues_[cls];
  Page* growable = nullptr;
  Page* page = queue.first;
  while (page != nullptr) {
    if (page->free == nullptr) {
      take_thread_free(page);
      // Growing a young page while its lists are short keeps an alloc/free loop on the fast
      // path for longer between visits here.
      if (page->capacity < page->reserved && page->capacity * page->block_size < kGrowWhileBelow)
        extend(page);
    }
    if (page->free != nullptr) break;
    Page* next = page->next;
    if (page->capacity < page->reserved) {
      if (growable == nullptr) growable = page;
    } else if (!move_to_full(page)) {
      continue;  // remote frees arrived meanwhile: look again
    }
    page = next;
  }
  if (page == nullptr && growable != nullptr) {
    page = growable;
    extend(page);
  }
  if (page == nullptr) return fresh_page(cls);
  if (page != queue.first) {
    queue.remove(page);
    queue.push_front(page);
    queue_changed(cls);
  }
  return page;
}

Page* Heap::fresh_page(size_t cls) {
  const size_t slices = class_page_slices(cls);
  Page* page = take_span(slices, SpanKind::kSmall);
  if (page == nullptr) return nullptr;
  Segment* segment = Segment::of(page);
  page->size_class = static_cast<uint8_t>(cls);
  page->block_size = class_size(cls);
  page->reserved = static_cast<uint32_t>(slices * kSliceSize / page->block_size);
  page->capacity = 0;
  page->used = 0;
  page->start = segment->slice_address(segment->index_of(page));
  page->free = nullptr;
  page->thread_free.store(static_cast<uintptr_t>(DelayState::kNone), std::memory_order_relaxed);
  page->in_full = false;
  page->is_current = false;
  poison(page->start, slices * kSliceSize);
  extend(page);
  queues_[cls].push_front(page);
  queue_changed(cls);
  return page;
}

void Heap::extend(Page* page) {
  const size_t room = page->reserved - page->capacity;
  size_t count = kExtendBytes / page->block_size;
  if (count == 0) count = 1;
  if (count > room) count = room;
  std::byte* first = page->start + page->capacity * page->block_size;
  for (size_t i = 0; i + 1 < count; ++i)
    write_link(reinterpret_cast<Block*>(first + i * page->block_size),
               reinterpret_cast<Block*>(first + (i + 1) * page->block_size));
  write_link(reinterpret_cast<Block*>(first + (count - 1) * page->block_size), page->free);
  page->free_is_zero = page->fresh && (page->free == nullptr || page->free_is_zero);
  page->free = reinterpret_cast<Block*>(first);
  page->grow_capacity(static_cast<uint32_t>(count));
}

void* Heap::allocate_large(size_t size, size_t alignment, bool zeroed) {
  // A block of size 0 still needs a byte, or an aligned start could land on its span's end.
  const size_t needed = size == 0 ? 1 : size;
  const size_t pad = alignment > kSliceSize ? alignment - kSliceSize : 0;
  const size_t slices = (needed + pad + kSliceSize - 1) / kSliceSize;
  if (slices > kMaxSpanSlices) return allocate_huge(size, alignment, zeroed);
  Page* page = take_cached_span(slices);
  if (page == nullptr) page = take_span(slices, SpanKind::kLarge);
  if (page == nullptr) return nullptr;
  return start_large(Segment::of(page), page, size, alignment, zeroed);
}

void* Heap::allocate_huge(size_t size, size_t alignment, bool zeroed) {
  const size_t pad = alignment > kSliceSize ? alignment - kSliceSize : 0;
  const size_t mapping = (kSliceSize + pad + size + kSliceSize - 1) & ~(kSliceSize - 1);
  Segment* segment = allocator_->acquire_huge(mapping);
  if (segment == nullptr) return nullptr;
  add_segment(segment);
  make_used_span(segment, 1, kMaxSpanSlices, SpanKind::kLarge);
  ++segment->used_spans;
  return start_large(segment, &segment->slices[1], size, alignment, zeroed);
}

void* Heap::start_large(Segment* segment, Page* page, size_t size, size_t alignment, bool zeroed) {
  std::byte* span_start = segment->slice_address(segment->index_of(page));
  std::byte* span_end = segment->huge ? segment->base() + segment->mapping_size
                                      : span_start + page->slice_count * kSliceSize;
  const uintptr_t aligned =
      (reinterpret_cast<uintptr_t>(span_start) + alignment - 1) & ~(uintptr_t{alignment} - 1);
  page->start = reinterpret_cast<std::byte*>(aligned);
  page->block_size = static_cast<size_t>(span_end - page->start);
  page->size_class = kNumClasses;
  page->reserved = page->capacity = page->used = 1;
  page->free = nullptr;
  page->in_full = true;
  page->free_is_zero = false;
  // Large pages are always full: a remote free must tell the owner through delayed_free_.
  page->thread_free.store(static_cast<uintptr_t>(DelayState::kNotify), std::memory_order_relaxed);
  if (hardened_) VMM_CHECK(!segment->mark_allocated(page->start), "fresh block marked allocated");
  segment->set_requested(page, page->start, size);
  unpoison(page->start, size);
  if (zeroed && !page->fresh) std::memset(page->start, 0, kAsanEnabled ? size : page->block_size);
  return page->start;
}

void* Heap::try_allocate_cached_large(size_t size) {
  ChangeScope scope(this);
  const size_t slices = (size + kSliceSize - 1) / kSliceSize;
  Page* page = span_cache_[slices];
  if (page == nullptr) return nullptr;
  span_cache_[slices] = page->next;
  --span_cache_count_;
  Segment* segment = Segment::of(page);
  page->start = segment->slice_address(segment->index_of(page));
  page->block_size = slices * kSliceSize;
  page->capacity = page->used = 1;
  page->in_full = true;
  page->thread_free.store(static_cast<uintptr_t>(DelayState::kNotify), std::memory_order_relaxed);
  if (hardened_) VMM_CHECK(!segment->mark_allocated(page->start), "idle span marked allocated");
  segment->set_requested(page, page->start, size);
  unpoison(page->start, size);
  return page->start;
}

Page* Heap::take_cached_span(size_t slices) {
  Page* span = span_cache_[slices];
  if (span == nullptr) return nullptr;
  span_cache_[slices] = span->next;
  --span_cache_count_;
  return span;
}

void Heap::cache_span(Segment* segment, Page* span) {
  if (span_cache_count_ == kSpanCacheSize) {
    release_span(segment, span);
    return;
  }
  poison(segment->slice_address(segment->index_of(span)), span->slice_count * kSliceSize);
  span->capacity = span->used = 0;
  span->start = nullptr;
  span->free = nullptr;
  span->fresh = false;
  span->freed_at = purge_now();
  span->next = span_cache_[span->slice_count];
  span_cache_[span->slice_count] = span;
  ++span_cache_count_;
}

void Heap::flush_span_cache(uint64_t before) {
  if (span_cache_count_ == 0) return;
  for (Page*& head : span_cache_) {
    for (Page** link = &head; *link != nullptr;) {
      Page* span = *link;
      if (span->freed_at >= before) {
        link = &span->next;
        continue;
      }
      *link = span->next;
      --span_cache_count_;
      release_span(Segment::of(span), span);
    }
  }
}

// ---- freeing -------------------------------------------------------------------------------

void Heap::page_freed(Segment* segment, Page* page) {
  ChangeScope scope(this);
  if (page->in_full) {
    if (page->kind == SpanKind::kLarge) {
      // A large page holds one block, so it is empty now.
      page->in_full = false;
      // No remote free can be handing this block over: it was freed here, and blocks that
      // came through delayed_free_ waited for their notifier first (process_delayed).
      page->thread_free.store(static_cast<uintptr_t>(DelayState::kNone), std::memory_order_relaxed);
      if (segment->huge || allocator_->options().purge == PurgePolicy::kEager) {
        release_span(segment, page);
      } else {
        cache_span(segment, page);
      }
      return;
    }
    move_from_full(page);
  }
  if (page->used == 0) page_empty(segment, page);
}

void Heap::page_empty(Segment* segment, Page* page) {
  // The current page of its class stays, so an alloc/free loop does not churn pages.
  if (current_[page->size_class] == page) return;
  queues_[page->size_class].remove(page);
  const size_t first = segment->index_of(page);
  const size_t count = page->slice_count;
  // A big class page goes back to the OS at once (not after the purge delay): its few blocks
  // have written all over it, and whatever takes its slices next (another class's page, a
  // large block) would keep all of it resident without using it.
  if (release_span(segment, page) != nullptr && count >= kPurgeEmptyPageSlices &&
      allocator_->options().purge == PurgePolicy::kDelayed)
    purge_slices(segment, first, count);
}

void Heap::free_remote(Segment* segment, Page* page, Block* block) {
  poison(block, page->block_size);
  uintptr_t word = page->thread_free.load(std::memory_order_relaxed);
  for (;;) {
    const DelayState state = Page::state_of(word);
    const uintptr_t list = word & ~Page::kStateMask;
    if (state == DelayState::kNotifying) {
      cpu_relax();
      word = page->thread_free.load(std::memory_order_relaxed);
      continue;
    }
    if (state == DelayState::kNotify) {
      if (!page->thread_free.compare_exchange_weak(
              word, list | static_cast<uintptr_t>(DelayState::kNotifying),
              std::memory_order_acquire, std::memory_order_relaxed))
        continue;
      // While kNotifying the owner cannot abandon the page, so segment->heap stays valid, and
      // heap records are never unmapped while their allocator lives.
      Heap* heap = segment->heap.load(std::memory_order_acquire);
      Block* head = heap->delayed_free_.load(std::memory_order_relaxed);
      do {
        write_link(block, head);
      } while (!heap->delayed_free_.compare_exchange_weak(head, block, std::memory_order_release,
                                                          std::memory_order_relaxed));
      page->thread_free.store(list | static_cast<uintptr_t>(DelayState::kNone),
                              std::memory_order_release);
      return;
    }
    write_link(block, Page::list_of(word));
    if (page->thread_free.compare_exchange_weak(
            word, reinterpret_cast<uintptr_t>(block) | static_cast<uintptr_t>(state),
            std::memory_order_release, std::memory_order_relaxed))
      return;
  }
}

void Heap::process_delayed() {
  if (delayed_free_.load(std::memory_order_relaxed) == nullptr) return;
  Block* block = delayed_free_.exchange(nullptr, std::memory_order_acquire);
  while (block != nullptr) {
    Block* next = read_link(block);
    Segment* segment = Segment::of(block);
    Page* page = segment->page_of(block);
    // The remote free that handed this block over may still be storing to the page.
    wait_while_notifying(page);
    free_local(segment, page, block);
    block = next;
  }
}

bool Heap::try_resize_in_place(Segment* segment, Page* page, size_t size) {
  ChangeScope scope(this);
  const size_t first = segment->index_of(page);
  // Only blocks at their span's start: an over-aligned block's span size depends on an
  // alignment the allocator does not remember.
  if (segment->huge || page->kind != SpanKind::kLarge ||
      page->start != segment->slice_address(first))
    return false;
  const size_t span_end = first + page->slice_count;
  const size_t needed = size <= kSliceSize ? 1 : (size + kSliceSize - 1) / kSliceSize;
  if (needed == page->slice_count) return true;
  if (needed < page->slice_count) {
    // Shrink: the tail slices become a span of their own and are released like one.
    Page* tail = &segment->slices[first + needed];
    tail->slice_count = static_cast<uint32_t>(page->slice_count - needed);
    tail->slice_offset = 0;
    tail->kind = SpanKind::kLarge;
    tail->in_full = false;
    page->slice_count = static_cast<uint32_t>(needed);
    page->block_size = needed * kSliceSize;
    ++segment->used_spans;
    release_span(segment, tail);
    return true;
  }
  if (span_end >= kSlicesPerSegment) return false;
  Page* next = &segment->slices[span_end];
  if (next->kind != SpanKind::kFree || page->slice_count + next->slice_count < needed) return false;
  const size_t extra = needed - page->slice_count;
  const size_t next_count = next->slice_count;
  const uint64_t next_freed_at = next->freed_at;
  bin_remove(next);
  next->slice_count = 0;
  if (next_count > extra)
    make_free_span(segment, span_end + extra, next_count - extra, next_freed_at);
  for (size_t i = span_end; i < span_end + extra; ++i) {
    segment->slices[i].slice_offset = static_cast<uint32_t>(i - first);
    segment->slices[i].slice_count = 0;
  }
  const uint64_t mask = Segment::slice_mask(span_end, extra);
  take_purged_slices(segment, mask);
  allocator_->add_committed(static_cast<int64_t>(std::popcount(mask & ~segment->dirty_mask)) *
                            static_cast<int64_t>(kSliceSize));
  segment->dirty_mask |= mask;
  page->slice_count = static_cast<uint32_t>(needed);
  page->block_size = needed * kSliceSize;
  return true;
}

// ---- page lists ----------------------------------------------------------------------------

size_t Heap::take_thread_free(Page* page) {
  uintptr_t word = page->thread_free.load(std::memory_order_relaxed);
  do {
    if (Page::list_of(word) == nullptr) return 0;
  } while (!page->thread_free.compare_exchange_weak(
      word, word & Page::kStateMask, std::memory_order_acquire, std::memory_order_relaxed));
  Block* head = Page::list_of(word);
  Block* tail = head;
  size_t count = 1;
  for (Block* next = read_link(tail); next != nullptr; next = read_link(tail)) {
    tail = next;
    ++count;
  }
  write_link(tail, page->free);
  page->free = head;
  page->free_is_zero = false;
  page->used -= static_cast<uint32_t>(count);
  return count;
}

void Heap::set_delay_state(Page* page, DelayState state) {
  uintptr_t word = page->thread_free.load(std::memory_order_relaxed);
  for (;;) {
    if (Page::state_of(word) == DelayState::kNotifying) {
      cpu_relax();
      word = page->thread_free.load(std::memory_order_relaxed);
      continue;
    }
    if (page->thread_free.compare_exchange_weak(
            word, (word & ~Page::kStateMask) | static_cast<uintptr_t>(state),
            std::memory_order_acq_rel, std::memory_order_relaxed))
      return;
  }
}

bool Heap::move_to_full(Page* page) {
  set_delay_state(page, DelayState::kNotify);
  // Blocks pushed before the state changed would never be seen on the full list.
  if (Page::list_of(page->thread_free.load(std::memory_order_acquire)) != nullptr) {
    set_delay_state(page, DelayState::kNone);
    return false;
  }
  const size_t cls = page->size_class;
  const bool was_first = queues_[cls].first == page;
  queues_[cls].remove(page);
  full_.push_back(page);
  page->in_full = true;
  if (was_first) queue_changed(cls);
  return true;
}

void Heap::move_from_full(Page* page) {
  set_delay_state(page, DelayState::kNone);
  full_.remove(page);
  page->in_full = false;
  const size_t cls = page->size_class;
  const bool was_empty = queues_[cls].empty();
  queues_[cls].push_back(page);
  if (was_empty) queue_changed(cls);
}

void Heap::queue_changed(size_t cls) {
  if (hardened_) return;
  Page* page = queues_[cls].first != nullptr ? queues_[cls].first : &empty_page;
  // The shared empty page is never written: other threads' heaps point at it too.
  if (current_[cls] != &empty_page) current_[cls]->is_current = false;
  if (page != &empty_page) page->is_current = true;
  current_[cls] = page;
  // The direct slots of class cls are those whose sizes round to it: a contiguous run.
  const size_t lowest = cls == 0 ? 0 : class_size(cls - 1) + 1;
  if (lowest > kDirectMaxSize) return;
  const size_t highest = class_size(cls) < kDirectMaxSize ? class_size(cls) : kDirectMaxSize;
  for (size_t slot = direct_slot(lowest); slot <= direct_slot(highest); ++slot) {
    if (size_to_class(slot * kWordSize == 0 ? 1 : slot * kWordSize) == cls) direct_[slot] = page;
  }
  if (cls == 0) direct_[0] = page;
}

// ---- spans ---------------------------------------------------------------------------------

void Heap::bin_insert(Page* span) {
  bins_[span->slice_count].push_front(span);
  bin_mask_ |= uint64_t{1} << span->slice_count;
}

void Heap::bin_remove(Page* span) {
  PageQueue& bin = bins_[span->slice_count];
  bin.remove(span);
  if (bin.empty()) bin_mask_ &= ~(uint64_t{1} << span->slice_count);
}

void Heap::make_free_span(Segment* segment, size_t first, size_t count, uint64_t freed_at) {
  Page* span = &segment->slices[first];
  span->slice_count = static_cast<uint32_t>(count);
  span->slice_offset = 0;
  span->kind = SpanKind::kFree;
  span->in_full = false;
  span->used = span->capacity = span->reserved = 0;
  span->block_size = 0;
  span->start = nullptr;
  span->free = nullptr;
  span->thread_free.store(0, std::memory_order_relaxed);
  span->freed_at = freed_at;
  if (count > 1) {
    Page* last = &segment->slices[first + count - 1];
    last->slice_count = 0;
    last->slice_offset = static_cast<uint32_t>(count - 1);
  }
  bin_insert(span);
}

void Heap::make_used_span(Segment* segment, size_t first, size_t count, SpanKind kind) {
  Page* span = &segment->slices[first];
  span->slice_count = static_cast<uint32_t>(count);
  span->slice_offset = 0;
  span->kind = kind;
  span->is_current = false;
  for (size_t i = 1; i < count; ++i) {
    segment->slices[first + i].slice_offset = static_cast<uint32_t>(i);
    segment->slices[first + i].slice_count = 0;
  }
  const uint64_t mask = segment->huge ? uint64_t{1} << 1 : Segment::slice_mask(first, count);
  span->fresh = (segment->dirty_mask & mask) == 0;
  take_purged_slices(segment, mask);
  if (!segment->huge) {
    allocator_->add_committed(static_cast<int64_t>(std::popcount(mask & ~segment->dirty_mask)) *
                              static_cast<int64_t>(kSliceSize));
  } else if (span->fresh) {
    allocator_->add_committed(static_cast<int64_t>(segment->mapping_size - kSliceSize));
  }
  segment->dirty_mask |= mask;
}

Page* Heap::take_span_from_bins(size_t slices, SpanKind kind) {
  const uint64_t candidates = bin_mask_ & ~((uint64_t{1} << slices) - 1);
  if (candidates == 0) return nullptr;
  const size_t count = static_cast<size_t>(std::countr_zero(candidates));
  Page* span = bins_[count].first;
  bin_remove(span);
  Segment* segment = Segment::of(span);
  const size_t first = segment->index_of(span);
  if (count > slices) make_free_span(segment, first + slices, count - slices, span->freed_at);
  if (segment->used_spans++ == 0) --empty_segments_;
  make_used_span(segment, first, slices, kind);
  return span;
}

Page* Heap::take_span(size_t slices, SpanKind kind) {
  // An adopted segment may bring no span big enough; a fresh or cached one always does.
  for (int attempt = 0;; ++attempt) {
    if (Page* span = take_span_from_bins(slices, kind)) return span;
    if (span_cache_count_ != 0) {
      flush_span_cache();
      continue;
    }
    if (!allocator_->acquire_segment(this, /*may_adopt=*/attempt < 4)) return nullptr;
  }
}

Page* Heap::release_span(Segment* segment, Page* span, bool keep_segment) {
  if (segment->huge) {
    remove_segment(segment);
    allocator_->release_huge(segment);
    return nullptr;
  }
  size_t first = segment->index_of(span);
  size_t count = span->slice_count;
  --segment->used_spans;
  poison(segment->slice_address(first), count * kSliceSize);
  // The merged span counts as freed now, which keeps a span that is freed and soon taken again
  // resident. A neighbour that has already aged past the delay is purged before it merges, so
  // it does not get younger. (A range that a slot next to it is taken from and freed back to
  // more often than the delay stays young: the cost of per-span, not per-slice, ages.)
  const uint64_t now = purge_now();
  const Options& options = allocator_->options();
  auto purge_if_expired = [&](Page* neighbour) {
    if (options.purge == PurgePolicy::kDelayed && now - neighbour->freed_at >= purge_delay_)
      purge_span(segment, neighbour);
  };
  const size_t end = first + count;
  if (end < kSlicesPerSegment && segment->slices[end].kind == SpanKind::kFree) {
    Page* next = &segment->slices[end];
    purge_if_expired(next);
    bin_remove(next);
    count += next->slice_count;
    next->slice_count = 0;
  }
  if (first > 1) {
    const Page* before = &segment->slices[first - 1];
    Page* previous = &segment->slices[first - 1 - before->slice_offset];
    if (previous->kind == SpanKind::kFree) {
      purge_if_expired(previous);
      bin_remove(previous);
      span->slice_count = 0;
      span->kind = SpanKind::kFree;
      first = segment->index_of(previous);
      count += previous->slice_count;
    }
  }
  make_free_span(segment, first, count, now);
  Page* merged = &segment->slices[first];
  if (allocator_->options().purge == PurgePolicy::kEager) purge_span(segment, merged);
  if (segment->used_spans == 0 && !keep_segment) {
    segment_emptied(segment);
    return nullptr;
  }
  return merged;
}

void Heap::segment_emptied(Segment* segment) {
  if (++empty_segments_ == 1) return;  // the retained empty segment
  bin_remove(&segment->slices[1]);
  --empty_segments_;
  remove_segment(segment);
  allocator_->release_segment(segment);
}

void Heap::add_segment(Segment* segment) {
  segment->heap.store(this, std::memory_order_release);
  segment->owner_tid.store(owner_tid_, std::memory_order_release);
  segment->fast_free_tid.store(hardened_ ? 0 : owner_tid_, std::memory_order_release);
  push_front(segments_, segment);
}

void Heap::add_fresh_segment(Segment* segment) {
  ChangeScope scope(this);
  add_segment(segment);
  segment->used_spans = 0;
  make_free_span(segment, 1, kMaxSpanSlices, purge_now());
  ++empty_segments_;
}

void Heap::remove_segment(Segment* segment) {
  unlink(segments_, segment);
  segment->heap.store(nullptr, std::memory_order_release);
  segment->owner_tid.store(0, std::memory_order_release);
  segment->fast_free_tid.store(0, std::memory_order_release);
}

void Heap::purge_span(Segment* segment, Page* span) {
  const uint64_t purged = purge_slices(segment, segment->index_of(span), span->slice_count);
  if (purged == 0) return;
  segment->purged_mask |= purged;
  last_purged_at_ = purge_now();
  early_reuse_counted_ = false;
}

uint64_t Heap::purge_slices(Segment* segment, size_t first, size_t count) {
  const uint64_t mask = Segment::slice_mask(first, count);
  const uint64_t dirty = segment->dirty_mask & mask;
  if (dirty == 0) return 0;
  if (!allocator_->os().purge(segment->slice_address(first), count * kSliceSize))
    return 0;  // the slices stay dirty and count as committed
  segment->dirty_mask &= ~mask;
  allocator_->add_committed(-static_cast<int64_t>(std::popcount(dirty)) *
                            static_cast<int64_t>(kSliceSize));
  return dirty;
}

void Heap::take_purged_slices(Segment* segment, uint64_t mask) {
  if ((segment->purged_mask & mask) == 0) return;
  segment->purged_mask &= ~mask;
  const uint64_t now = purge_now();
  if (early_reuse_counted_ || now - last_purged_at_ >= purge_delay_) return;
  early_reuse_counted_ = true;  // one doubling per purge, however many spans come back
  last_early_reuse_ = now;
  const uint64_t limit = allocator_->options().purge_delay * kMaxPurgeDelayFactor;
  purge_delay_ = purge_delay_ * 2 < limit ? purge_delay_ * 2 : limit;
}

uint64_t Heap::purge_now() const {
  const auto clock = allocator_->options().purge_clock;
  return clock != nullptr ? clock() : tick_;
}

void Heap::maybe_purge_expired() {
  const Options& options = allocator_->options();
  if (options.purge != PurgePolicy::kDelayed) return;
  // Without a clock, time is tick_ and the check itself is the rate limit; with one, the clock
  // is read every kPurgeClockInterval calls and spans are looked for every half delay.
  const uint64_t half_delay = purge_delay_ / 2;
  const uint64_t interval =
      options.purge_clock != nullptr ? kPurgeClockInterval : (half_delay > 16 ? half_delay : 16);
  if (tick_ - last_purge_check_ < interval) return;
  last_purge_check_ = tick_;
  if (purge_now() - last_purge_time_ >= half_delay) purge_expired(false);
}

void Heap::purge_expired(bool force) {
  const uint64_t now = purge_now();
  last_purge_check_ = tick_;
  last_purge_time_ = now;
  const uint64_t base_delay = allocator_->options().purge_delay;
  if (!force && purge_delay_ > base_delay &&
      now - last_early_reuse_ >= kPurgeDelayDecayDelays * purge_delay_) {
    purge_delay_ = purge_delay_ / 2 > base_delay ? purge_delay_ / 2 : base_delay;
  }
  const uint64_t delay = purge_delay_;
  flush_span_cache(force ? UINT64_MAX : (now > delay ? now - delay : 0));
  for (Segment* segment = segments_; segment != nullptr; segment = segment->next) {
    if (segment->huge) continue;
    for (size_t i = 1; i < kSlicesPerSegment; i += segment->slices[i].slice_count) {
      Page* span = &segment->slices[i];
      if (span->kind == SpanKind::kFree && (force || now - span->freed_at >= delay))
        purge_span(segment, span);
    }
  }
}

// ---- whole-heap operations -----------------------------------------------------------------

void Heap::collect(bool force) {
  ChangeScope scope(this);
  ++tick_;
  process_delayed();
  for (Page* page = full_.first; page != nullptr;) {
    Page* next = page->next;
    if (take_thread_free(page) != 0) page_freed(Segment::of(page), page);
    page = next;
  }
  for (size_t cls = 0; cls < kNumClasses; ++cls) {
    for (Page* page = queues_[cls].first; page != nullptr;) {
      Page* next = page->next;
      take_thread_free(page);
      if (page->used == 0 && (force || page != queues_[cls].first)) {
        const bool was_first = queues_[cls].first == page;
        queues_[cls].remove(page);
        if (was_first) queue_changed(cls);
        release_span(Segment::of(page), page);
      }
      page = next;
    }
  }
  if (force) {
    // The retained empty segment goes too.
    for (Segment* segment = segments_; segment != nullptr;) {
      Segment* next = segment->next;
      if (segment->used_spans == 0) {
        bin_remove(&segment->slices[1]);
        --empty_segments_;
        remove_segment(segment);
        allocator_->release_segment(segment);
      }
      segment = next;
    }
  }
  purge_expired(force);
}

template <class F>
void Heap::for_each_page(F&& visit) {
  for (Segment* segment = segments_; segment != nullptr; segment = segment->next) {
    if (segment->huge) {
      visit(&segment->slices[1]);
      continue;
    }
    for (size_t i = 1; i < kSlicesPerSegment; i += segment->slices[i].slice_count) {
      if (segment->slices[i].is_in_use()) visit(&segment->slices[i]);
    }
  }
}

void Heap::reset_lists() {
  for (Page*& slot : direct_)
    slot = &empty_page;
  for (Page*& page : current_)
    page = &empty_page;
  for (PageQueue& queue : queues_)
    queue = {};
  for (PageQueue& bin : bins_)
    bin = {};
  full_ = {};
  bin_mask_ = 0;
  segments_ = nullptr;
  empty_segments_ = 0;
  for (Page*& head : span_cache_)
    head = nullptr;
  span_cache_count_ = 0;
}

void Heap::mend_after_fork(bool copied_owner) {
  for_each_page([copied_owner](Page* page) {
    uintptr_t word = page->thread_free.load(std::memory_order_relaxed);
    if (Page::state_of(word) == DelayState::kNotifying)
      page->thread_free.store(
          (word & ~Page::kStateMask) | static_cast<uintptr_t>(DelayState::kNotify),
          std::memory_order_relaxed);
    if (copied_owner || !page->is_in_use()) return;
    // An allocation or free stopped between its list and counter updates: the list decides
    // (a block popped but not counted stays out, one pushed but not counted is free). Large
    // pages too: their one block may sit on `free` with `used` still 1.
    size_t on_free = 0;
    for (Block* block = page->free; block != nullptr && on_free < page->capacity;
         block = read_link(block))
      ++on_free;
    page->used = static_cast<uint32_t>(page->capacity - on_free);
    page->free_is_zero = false;  // a free may have pushed a written block before clearing it
  });
}

void Heap::abandon() {
  ChangeScope scope(this);
  process_delayed();
  // From here on no remote free hands blocks to this heap.
  for_each_page([this](Page* page) { set_delay_state(page, DelayState::kNever); });
  process_delayed();
  for_each_page([this](Page* page) { take_thread_free(page); });
  // Segments that keep live blocks go on the abandoned list only after the loop: until
  // reset_lists, this heap's bins and caches still link spans of every segment, and a segment
  // on the list may be adopted at once by another thread (a free of one of its blocks).
  Segment* to_abandon = nullptr;
  for (Segment* segment = segments_; segment != nullptr;) {
    Segment* next = segment->next;
    // Return the empty pages first so that a segment left with no live block is released.
    for (size_t i = 1; !segment->huge && i < kSlicesPerSegment;) {
      Page* page = &segment->slices[i];
      // The lists are dropped whole below, so pages need not leave them one by one.
      if (page->kind != SpanKind::kFree && page->used == 0) {
        page->in_full = false;
        page = release_span(segment, page, /*keep_segment=*/true);
        i = segment->index_of(page);  // the free span it merged into
      }
      i += page->slice_count;
    }
    if (segment->huge && segment->slices[1].used == 0) {
      remove_segment(segment);
      allocator_->release_huge(segment);
    } else if (segment->used_spans == 0) {
      // Out of the bins first: later releases in this loop still coalesce through them.
      bin_remove(&segment->slices[1]);
      remove_segment(segment);
      allocator_->release_segment(segment);
    } else {
      remove_segment(segment);
      segment->next = to_abandon;
      to_abandon = segment;
    }
    segment = next;
  }
  reset_lists();
  while (to_abandon != nullptr) {
    Segment* next = to_abandon->next;
    allocator_->abandon_segment(to_abandon);
    to_abandon = next;
  }
}

void Heap::destroy_all() {
  ChangeScope scope(this);
  for_each_page([this](Page* page) { set_delay_state(page, DelayState::kNever); });
  delayed_free_.store(nullptr, std::memory_order_relaxed);
  for (Segment* segment = segments_; segment != nullptr;) {
    Segment* next = segment->next;
    remove_segment(segment);
    if (segment->allocated_bits != nullptr)
      std::memset(static_cast<void*>(segment->allocated_bits), 0, Segment::kHardenedBitsBytes);
    if (segment->huge)
      allocator_->release_huge(segment);
    else
      allocator_->release_segment(segment);
    segment = next;
  }
  reset_lists();
}

void Heap::adopt(Segment* segment) {
  ChangeScope scope(this);
  add_segment(segment);
  if (segment->huge) {
    Page* page = &segment->slices[1];
    set_delay_state(page, DelayState::kNone);
    take_thread_free(page);
    if (page->used == 0) {
      remove_segment(segment);
      allocator_->release_huge(segment);
      return;
    }
    park_large(page);
    return;
  }
  // Free spans first, so that pages released below can coalesce with them.
  for (size_t i = 1; i < kSlicesPerSegment; i += segment->slices[i].slice_count) {
    Page* span = &segment->slices[i];
    if (span->kind == SpanKind::kFree) {
      span->freed_at = purge_now();
      bin_insert(span);
    }
  }
  for (size_t i = 1; i < kSlicesPerSegment;) {
    Page* page = &segment->slices[i];
    const size_t count = page->slice_count;
    if (page->kind != SpanKind::kFree) {
      set_delay_state(page, DelayState::kNone);
      take_thread_free(page);
      if (page->used == 0) {
        page->in_full = false;
        Page* merged = release_span(segment, page, /*keep_segment=*/true);
        i = segment->index_of(merged) + merged->slice_count;
        continue;
      }
      if (page->kind == SpanKind::kLarge) {
        park_large(page);
      } else {
        page->in_full = false;
        page->is_current = false;
        const size_t cls = page->size_class;
        const bool was_empty = queues_[cls].empty();
        queues_[cls].push_back(page);
        if (was_empty) queue_changed(cls);
      }
    }
    i += count;
  }
  if (segment->used_spans == 0) {
    bin_remove(&segment->slices[1]);
    remove_segment(segment);
    allocator_->release_segment(segment);
  }
}

void Heap::park_large(Page* page) {
  page->in_full = true;
  set_delay_state(page, DelayState::kNotify);
  // A block freed before kNotify was set sits on thread_free; take it back now.
  if (take_thread_free(page) != 0) page_freed(Segment::of(page), page);
}

}  // namespace vmmem::alloc
