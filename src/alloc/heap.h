// Heap: the pages, free spans and segments one thread allocates from. Every thread that uses
// an Allocator gets its own default Heap; a first-class heap (Allocator::create_heap) is a
// Heap that a thread creates, allocates from and destroys explicitly.
//
// Thread safety: one owner thread (owner_tid) calls everything here except that any thread may
// push onto delayed_free_ (through a page in the kNotify state, see page.h). Blocks from this
// heap may be freed by any thread: the owner pushes onto the page's free list, others onto its
// thread_free.
//
// Invariants (check() verifies them):
//   1. Every in-use small page of class c is on queues_[c] or on full_; one on full_ has
//      in_full set and DelayState kNotify or kNone (kNone once a remote free has handed a block
//      over through delayed_free_). A large page holding its block is on no list, with in_full
//      set.
//   2. current_[c] is queues_[c].first, and direct_[s] is current_[class of s], or the shared
//      empty page when that queue is empty or the allocator is hardened (hardened allocation
//      always takes the checked path).
//   3. Every free span of every segment in segments_ is in bins_[slice_count], and bin_mask_
//      has bit n set exactly when bins_[n] is not empty.
//   4. empty_segments_ counts the segments with used_spans == 0, and is at most 1 outside a
//      call (the retained segment that keeps an alloc/free loop of big blocks off the OS).
//   5. Every block on delayed_free_ belongs to a page of this heap whose DelayState is not
//      kNever; such a page is counted as holding that block in `used`.
//   6. span_cache_[n] lists idle large spans of n slices (their block was freed): kind kLarge,
//      used == capacity == 0, not in_full; span_cache_count_ counts them, at most
//      kSpanCacheSize. An alloc/free loop of big blocks reuses them without touching the
//      segment layout; they go back to the free spans when they age past the purge delay or
//      when a span is needed and the bins have none.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>

#include "alloc/layout.h"
#include "alloc/page.h"
#include "alloc/page_queue.h"
#include "alloc/segment.h"
#include "alloc/size_classes.h"

namespace vmmem::alloc {

// Under PurgePolicy::kDelayed a class page of this many slices or more (512 KiB: the classes
// above 56 KiB, eight blocks a page) is purged as soon as it empties, unless it is its class's
// current page; smaller ones wait for the purge delay like every free span. (Measured on the
// churn workload: 4 slices cut its peak RSS from 33.1 to 26.1 MiB for 8% more median time, 8 slices
// to 31.1 MiB for 3%.)
inline constexpr size_t kPurgeEmptyPageSlices = 8;

class Allocator;

class Heap {
 public:
  // The empty page every unused direct_ slot points at: its free list is always null, so the
  // allocation fast path needs no null check of the page.
  static Page empty_page;

  Heap(Allocator* allocator, uintptr_t owner_tid, bool first_class);
  Heap(const Heap&) = delete;
  Heap& operator=(const Heap&) = delete;

  // The allocation fast path: a block for `size` bytes from the current page of its class, or
  // null when that page has none ready (then call allocate()). REQUIRES: size <= kDirectMaxSize.
  void* try_allocate_direct(size_t size) {
    Page* page = direct_[direct_slot(size)];
    Block* block = page->free;
    if (__builtin_expect(block == nullptr, 0)) return nullptr;
    page->free = read_link(block);
    ++page->used;
    if constexpr (kAsanEnabled) {
      Segment::of(page)->set_requested(page, block, size);
      unpoison(block, size);
    }
    return block;
  }

  // Any request (size <= kMaxRequest, alignment a power of two <= kMaxAlignment): null when the
  // OS refused memory. `reallocated` marks the new block of a reallocation, which goes to a
  // large span above kSmallestSpanBlock (size_classes.h).
  void* allocate(size_t size, size_t alignment, bool zeroed, bool reallocated = false);

  // A block of class `cls` from its current page, or null (then call allocate()).
  void* try_allocate_class(size_t cls, size_t size) {
    Page* page = current_[cls];
    Block* block = page->free;
    if (__builtin_expect(block == nullptr, 0)) return nullptr;
    page->free = read_link(block);
    ++page->used;
    if constexpr (kAsanEnabled) {
      Segment::of(page)->set_requested(page, block, size);
      unpoison(block, size);
    }
    return block;
  }

  // Hardened mode's fast path: a block of class `cls` from the first page of its queue, with
  // the checks allocate() makes, or null (then call allocate()). It skips what the plain fast
  // paths skip too: the clock tick, the delayed frees and the purge check.
  void* try_allocate_hardened(size_t cls, size_t size);

  // A large block (kMaxSmallSize < size <= the largest span, natural alignment) from an idle
  // span of the right size, or null (then call allocate()).
  void* try_allocate_cached_large(size_t size);

  // Frees a block of one of this heap's pages on the owner thread. REQUIRES: the calling thread
  // owns the page's segment; block is live.
  void free_local(Segment* segment, Page* page, Block* block) {
    poison(block, page->block_size);
    write_link(block, page->free);
    page->free = block;
    page->free_is_zero = false;
    // The current page of its class stays when it empties, so an alloc/free loop makes no call.
    if (__builtin_expect((--page->used == 0 && !page->is_current) || page->in_full, 0))
      page_freed(segment, page);
  }

  // The slow half of free_local: the page left the full list or became empty.
  void page_freed(Segment* segment, Page* page);

  // Called by a thread that does not own the block's segment.
  static void free_remote(Segment* segment, Page* page, Block* block);

  // Resizes the large block at `page` in place to exactly the slices `size` bytes take, giving
  // tail slices back or taking the free slices right after it; false when it cannot (too few
  // free slices, a huge or over-aligned block). REQUIRES: called by the segment's owner thread.
  bool try_resize_in_place(Segment* segment, Page* page, size_t size);

  // Takes the blocks other threads freed (delayed list and every page's thread_free), returns
  // empty pages to their segments and, with `force`, purges every free span now.
  void collect(bool force);

  // Hands everything to the allocator as the owner thread leaves: pages with live blocks stay
  // in their segments, which go on the abandoned list; the heap is empty afterwards.
  void abandon();
  // Releases every segment at once, live blocks included (first-class heap destruction).
  void destroy_all();
  // Takes an abandoned segment: its pages and free spans become this heap's (the segment is
  // released at once when none of its blocks is live any more). REQUIRES: not first_class().
  void adopt(Segment* segment);
  // Makes a fresh or cached segment this heap's, as one free span.
  void add_fresh_segment(Segment* segment);

  uintptr_t owner_tid() const { return owner_tid_; }
  // How long a free span waits now before it is purged (PurgePolicy::kDelayed).
  uint64_t purge_delay() const { return purge_delay_; }
  bool first_class() const { return first_class_; }
  Allocator* allocator() const { return allocator_; }
  Segment* segments() const { return segments_; }
  // Pops the delayed-free list (for the walkers, which must see those blocks as free).
  Block* peek_delayed() const { return delayed_free_.load(std::memory_order_acquire); }

  // Verifies invariants 1-5 for this heap's own lists; segments are checked by the allocator.
  // Returns a static description of the first violation, or null.
  const char* check_lists() const;

  Heap* next_in_allocator = nullptr;  // the allocator's list of heaps (pool and live)
  bool in_use = false;                // owned by a thread or a client; else pooled
  // Set in a fork() child for a heap whose owner thread was changing it when the process
  // forked (see changing()): its lists may be half-linked, so nothing walks it again and its
  // record is never pooled; its segments went to the allocator's orphaned list.
  bool orphaned = false;

  // True while the owner is inside a call that relinks lists, spans or segments (every call
  // below that is not an inline fast path). The inline fast paths change only one page's free
  // list and `used`, which mend_after_fork() recomputes. fork() copies memory as it stands
  // when the other threads stop, so a child reads this to know whether it may walk the heap.
  bool changing() const { return changing_.load(std::memory_order_relaxed); }

  // In a fork() child, before anything walks this heap: when `copied_owner` is false (its owner
  // thread does not exist in the child and changing() was false) the page accounting a fast
  // path may have left half-done is recomputed from the free lists; for every heap, a page
  // left kNotifying by a remote free that fork() stopped goes back to kNotify (the block it
  // was handing over is lost to the child, never handed out twice).
  void mend_after_fork(bool copied_owner);

 private:
  friend class Allocator;

  void* allocate_small(size_t cls, size_t size, bool zeroed);
  // Pops the first free block of `page` (which has one), checking its link in hardened mode.
  void* take_free_block(Page* page, size_t size, bool zeroed);
  void* allocate_large(size_t size, size_t alignment, bool zeroed);
  void* allocate_huge(size_t size, size_t alignment, bool zeroed);
  // Sets up a large page: one block at `alignment` in its span.
  void* start_large(Segment* segment, Page* page, size_t size, size_t alignment, bool zeroed);
  Page* take_cached_span(size_t slices);
  // Keeps the idle large span for reuse, or releases it when the cache is full.
  void cache_span(Segment* segment, Page* span);
  // Returns cached spans to the free spans: all of them, or those freed before `before`.
  void flush_span_cache(uint64_t before = UINT64_MAX);
  // A page of class `cls` with a free block, moved to the front of its queue. Blocks already
  // carved come first, from any page of the queue: carving new ones (extend) touches memory no
  // block has used yet, so a page that has room but nothing free grows only when no page of the
  // queue has a free block, and a fresh page is taken only when none has room either. (Young
  // pages, under kGrowWhileBelow carved bytes, grow as soon as they run dry.)
  Page* find_page(size_t cls);
  Page* fresh_page(size_t cls);
  void extend(Page* page);
  // Moves the thread_free blocks onto free; returns how many.
  size_t take_thread_free(Page* page);
  // False when remote frees arrived while moving it (the page then stays queued).
  bool move_to_full(Page* page);
  void move_from_full(Page* page);
  void set_delay_state(Page* page, DelayState state);
  void process_delayed();
  void queue_changed(size_t cls);
  void remove_page(Page* page);
  void page_empty(Segment* segment, Page* page);

  // Spans.
  Page* take_span(size_t slices, SpanKind kind);
  Page* take_span_from_bins(size_t slices, SpanKind kind);
  // Returns the span to the free spans of its segment (coalescing); an emptied segment is
  // retained or released unless `keep_segment`, when the caller decides. Returns the free span
  // it became part of, or null when its segment went back to the allocator.
  Page* release_span(Segment* segment, Page* span, bool keep_segment = false);
  void bin_insert(Page* span);
  void bin_remove(Page* span);
  void make_free_span(Segment* segment, size_t first, size_t count, uint64_t freed_at);
  void make_used_span(Segment* segment, size_t first, size_t count, SpanKind kind);
  void segment_emptied(Segment* segment);
  void add_segment(Segment* segment);
  void remove_segment(Segment* segment);
  // The time free spans age by: Options::purge_clock, or tick_ without one.
  uint64_t purge_now() const;
  void maybe_purge_expired();
  // Purges the free spans older than the purge delay, or all of them when `force`.
  void purge_expired(bool force);
  // Purges a free span and marks its slices purged: taking them back within the delay is the
  // evidence the adaptive delay grows on.
  void purge_span(Segment* segment, Page* span);
  // Returns the dirty slices of [first, first + count) to the OS without marking them purged
  // (a page purged as it empties is no evidence about the delay); the slices it purged, 0
  // when none were dirty or the OS refused.
  uint64_t purge_slices(Segment* segment, size_t first, size_t count);
  // The slices of `mask` are about to hold a block: clears their purged bits. When some were
  // set and this heap last purged a span less than one delay ago, the delay was too short for
  // this program and doubles (see PurgePolicy::kDelayed).
  void take_purged_slices(Segment* segment, uint64_t mask);
  // A large page with a live block waits in the kNotify state (see DelayState).
  void park_large(Page* page);
  template <class F>
  void for_each_page(F&& visit);
  void reset_lists();

  // Marks the heap changing() for its lifetime; nested scopes leave the outer one in charge.
  class ChangeScope {
   public:
    explicit ChangeScope(Heap* heap);
    ~ChangeScope();
    ChangeScope(const ChangeScope&) = delete;
    ChangeScope& operator=(const ChangeScope&) = delete;

   private:
    Heap* heap_;
    bool outer_;
  };

  // Hot: the allocation fast paths read direct_ (by size in words) and current_ (by class).
  Page* direct_[kDirectSlots];
  Page* current_[kNumClasses];
  Allocator* allocator_;
  uintptr_t owner_tid_;
  bool first_class_;
  bool hardened_;
  uint64_t tick_ = 0;
  uint64_t last_purge_check_ = 0;     // tick_ when expired spans were last looked for
  uint64_t last_purge_time_ = 0;      // purge_now() then
  uint64_t purge_delay_;              // the adaptive delay, in purge_now() units
  uint64_t last_purged_at_ = 0;       // purge_now() when this heap last purged a span
  bool early_reuse_counted_ = false;  // that purge has already doubled the delay
  uint64_t last_early_reuse_ = 0;     // purge_now() when purged slices were last taken early
  PageQueue queues_[kNumClasses];
  PageQueue full_;
  PageQueue bins_[kSlicesPerSegment];  // free spans by slice count (index 0 unused)
  uint64_t bin_mask_ = 0;
  Segment* segments_ = nullptr;
  size_t empty_segments_ = 0;
  std::atomic<Block*> delayed_free_{nullptr};
  static constexpr size_t kSpanCacheSize = 8;
  Page* span_cache_[kSlicesPerSegment] = {};  // by slice count, linked through Page::next
  size_t span_cache_count_ = 0;
  std::atomic<bool> changing_{false};  // written by the owner only
};

}  // namespace vmmem::alloc
