// Allocator: a size-class allocator in the family of mimalloc and scudo. Small blocks (8 B ..
// 64 KiB, size_classes.h) come from pages of one class carved out of 4 MiB segments
// (layout.h); larger blocks are runs of 64 KiB slices of the same segments, and objects
// bigger than a segment get one of their own. Every thread allocates from its own Heap with no
// lock and no atomic operation on the fast path; a block freed by another thread goes to its
// page's atomic thread_free list and the owner takes it back. The segments of a thread that
// exited are abandoned: the first thread to free one of their blocks adopts that segment.
//
// Thread safety: allocate*, deallocate*, reallocate, usable_size and collect may be called
// from any thread at any time. A first-class Heap is allocated from and destroyed only by the
// thread that created it; its blocks may be freed anywhere. stats(), check() and
// for_each_live_block() read every heap and need quiescence: no other thread inside the
// allocator during the call. The destructor needs the same, and releases every block.
//
// Invariants (check() verifies each and names the first violation):
//   1. Every segment passes the checks of segment.h; every in-use page the identity of page.h;
//      every heap the list rules of heap.h.
//   2. No block is on two free lists, every free-list link is a block start of its own page,
//      and the delayed-free lists hold only blocks of their heap's pages.
//   3. SegmentMap has the bit of every segment in a heap, on the abandoned list or (in a fork()
//      child) on the orphaned list set, and of no cached segment.
//   4. The OS layer's mapped bytes equal the segments, caches and heap records walked, and the
//      committed counter equals the segment headers plus the dirty slices walked.
//   5. In hardened mode a granule bit is set exactly at the start of each live block.
//
// Bad input (every answer below is also what the reference model predicts):
//   allocate: alignment 0 or not a power of two -> kInvalidArgument; alignment above
//     kMaxAlignment -> kUnsupported; size above kMaxRequest -> kOutOfMemory; the OS refusing
//     memory -> kOutOfMemory. Size 0 gets a unique minimal block (as glibc's malloc(0)).
//     The status's address is the alignment, its size the requested size.
//   usable_size: small blocks waste under 16 bytes up to 128 B and at most 12.5% above (with
//     the natural alignment); large ones less than a slice plus the alignment; huge ones (above
//     63 slices) may get a cached mapping up to a third bigger than they need.
//   deallocate: null -> nothing. A pointer in no live segment of this process ->
//     kNotFound ("not returned by this allocator") and nothing changes; a segment of another
//     Allocator -> kConflict; not the start of a handed-out block -> kInvalidArgument. In
//     hardened mode also: a block already free (double free) -> kConflict; a sized free whose
//     size maps to another class (or, for large blocks, another slice count) ->
//     kInvalidArgument. deallocate() reports these through Options::report and changes
//     nothing; deallocate_checked() returns them. Without hardening, deallocate() skips the
//     last two and the block-start check: freeing a pointer it never returned that lies inside
//     one of its segments is undefined, as with malloc.
//   reallocate(null, n) is allocate(n); reallocate(p, 0) frees p and returns null (as glibc);
//     on failure it returns null and p stays valid and unchanged. A block it moves to a size
//     above kSmallestSpanBlock gets a large span, where later growth is in place.
#pragma once

#include <bit>
#include <cstddef>
#include <cstdint>

#include "alloc/heap.h"
#include "alloc/layout.h"
#include "alloc/os_memory.h"
#include "alloc/segment.h"
#include "alloc/segment_map.h"
#include "alloc/spin_lock.h"
#include "alloc/stats.h"
#include "alloc/thread_id.h"
#include "support/status.h"

namespace vmmem::alloc {

// When free memory goes back to the OS (MADV_DONTNEED; it reads as zeros afterwards).
enum class PurgePolicy : uint8_t {
  // As soon as a span is free or a segment enters the cache.
  kEager,
  // A free span once it has stayed free for the heap's purge delay, in units of the purge clock
  // (heap ticks, i.e. slow-path calls, unless Options::purge_clock says otherwise). The delay
  // starts at Options::purge_delay and adapts: a purged span taken again within one delay of
  // the purge doubles it (up to kMaxPurgeDelayFactor times), a quiet stretch of
  // kPurgeDelayDecayDelays delays without one halves it back, so memory a busy program recycles
  // stays resident instead of being returned and faulted in again;
  // an empty segment in the cache once kCachePurgeEvents other segments have entered or left
  // the cache since it came in, so a loop that frees and allocates one big object reuses its
  // pages without faulting them in again. Dirty cached memory is bounded by the cache limits.
  kDelayed,
  kNever,  // only on collect(true)
};

// Cache events (a segment entering or leaving the segment caches) after which a cached empty
// segment is purged under PurgePolicy::kDelayed.
inline constexpr uint64_t kCachePurgeEvents = 16;

// The adaptive purge delay's bounds: Options::purge_delay times 1 .. kMaxPurgeDelayFactor; it
// halves once no purged span was taken early for kPurgeDelayDecayDelays current delays.
inline constexpr uint64_t kMaxPurgeDelayFactor = 64;
inline constexpr uint64_t kPurgeDelayDecayDelays = 4;

// Slow-path calls between two looks at Options::purge_clock for expired spans.
inline constexpr uint64_t kPurgeClockInterval = 32;

struct Options {
  bool hardened = false;
  PurgePolicy purge = PurgePolicy::kDelayed;
  uint32_t purge_delay = 512;
  // The clock that ages free spans under kDelayed. Null: the heap's own tick (slow-path calls),
  // which keeps every run deterministic (the tests, the model, the fuzzer). A program that wants
  // memory returned after a quiet period rather than after a number of calls passes a monotonic
  // clock (the malloc shim passes milliseconds) and gives purge_delay in its units. It is read
  // at most once per kPurgeClockInterval slow-path calls and when a span becomes free.
  uint64_t (*purge_clock)() = nullptr;
  // Empty ordinary segments kept mapped (purged) for reuse; beyond this they are unmapped.
  uint32_t segment_cache = 16;
  // Bytes of freed huge segments kept mapped (purged) for reuse.
  uint64_t huge_cache_bytes = uint64_t{64} << 20;
  // Receives every bad free deallocate() detects; null prints the message on stderr.
  void (*report)(const Status& status, void* context) = nullptr;
  void* report_context = nullptr;
};

// Which heap the calling thread uses for which Allocator (the most recent one is cached).
struct ThreadBinding {
  uint64_t allocator_id = 0;
  Heap* heap = nullptr;
};
namespace detail {
// Defined in thread_binding.cc (not inline), so each copy of the library linked into a process
// has its own.
extern constinit thread_local ThreadBinding current_binding;
}  // namespace detail

class Allocator {
 public:
  explicit Allocator(Options options = {});
  ~Allocator();
  Allocator(const Allocator&) = delete;
  Allocator& operator=(const Allocator&) = delete;

  // A block of at least `size` bytes aligned to 8 (size <= 8) or 16, or null when out of
  // memory. The fast path is a thread-local check, a table lookup and a list pop (for a large
  // block: an idle span of the right size).
  void* allocate(size_t size) {
    void* block;
    if (size <= kMaxSmallSize) {
      block = allocate_small_fast(size);
    } else {
      const ThreadBinding& binding = detail::current_binding;
      block = binding.allocator_id == id_ && size <= kLargestSpanBytes
                  ? binding.heap->try_allocate_cached_large(size)
                  : nullptr;
    }
    if (__builtin_expect(block != nullptr, 1)) return block;
    return allocate_slow(size, 1, false);
  }
  // allocate()'s fast path for a small block: the block, or null where allocate() would go on
  // (then call allocate()). It calls nothing, so a caller that keeps its own slow path out of
  // line has a fast path that saves no registers (the malloc shim).
  void* allocate_small_fast(size_t size) {
    const ThreadBinding& binding = detail::current_binding;
    if (__builtin_expect(binding.allocator_id != id_ || size > kMaxSmallSize, 0)) return nullptr;
    if (__builtin_expect(size <= kDirectMaxSize, 1)) return binding.heap->try_allocate_direct(size);
    return binding.heap->try_allocate_class(detail::compute_class(size), size);
  }
  // What allocate() does for a small size once allocate_small_fast has returned null: its slow
  // path, without a second try of the fast one. REQUIRES: size <= kMaxSmallSize.
  void* allocate_small_slow(size_t size) { return allocate_slow(size, 1, false); }
  // REQUIRES nothing: a bad alignment makes it return null (try_allocate says why). A small
  // block comes from the first class whose blocks all sit at the alignment (the one the slow
  // path picks too), on the same fast path as plain allocation.
  void* allocate(size_t size, size_t alignment) {
    const ThreadBinding& binding = detail::current_binding;
    if (__builtin_expect(binding.allocator_id == id_ && size <= kMaxSmallSize &&
                             alignment <= kMaxSmallSize && std::has_single_bit(alignment),
                         1)) {
      const size_t cls = aligned_size_to_class(size, alignment);
      if (cls < kNumClasses) {
        if (void* block = binding.heap->try_allocate_class(cls, size)) return block;
      }
    }
    return allocate_slow(size, alignment, false);
  }
  void* allocate_zeroed(size_t size, size_t alignment = 1) {
    return allocate_slow(size, alignment, true);
  }
  // Like allocate, with the reason when there is no block.
  Result<void*> try_allocate(size_t size, size_t alignment = 1, bool zeroed = false);
  // Why a request would be refused before any memory is sought (bad alignment, too big), or
  // ok: what explains a null from allocate() other than the OS refusing memory.
  static Status validate_request(size_t size, size_t alignment);

  // Frees a block from any thread. The fast path (owner thread, not hardened) is a segment-map
  // bit test, a thread-id and an allocator compare and a list push.
  void deallocate(void* p) {
    const uintptr_t base = segment_base_of(p);
    // base != 0 costs one fused compare; it also keeps GCC from analysing a literal
    // deallocate(nullptr) as a segment access at address 0 (false -Warray-bounds).
    if (__builtin_expect(base != 0 && SegmentMap::contains(base), 1)) {
      Segment* segment = reinterpret_cast<Segment*>(base);
      // The allocator compare keeps a block of another Allocator on this thread off this
      // heap's lists (deallocate_slow reports it); it reads the same cache line.
      if (__builtin_expect(
              segment->fast_free_tid.load(std::memory_order_relaxed) == current_thread_id() &&
                  segment->allocator == this,
              1)) {
        segment->heap.load(std::memory_order_relaxed)
            ->free_local(segment, segment->page_of(p), static_cast<Block*>(p));
        return;
      }
      deallocate_in_segment(segment, p);
      return;
    }
    deallocate_slow(p);
  }
  // Frees p after checking it whatever the mode; `size` (when not 0) must be the size it was
  // allocated with. Returns why p was refused, and then nothing changed.
  Status deallocate_checked(void* p, size_t size = 0);

  void* reallocate(void* p, size_t size);
  Result<void*> try_reallocate(void* p, size_t size);

  // Bytes the block at p may use: at least what was asked for (exactly that under ASan, which
  // poisons the rest); 0 for null and for pointers that are not live blocks of this allocator.
  size_t usable_size(const void* p) const;

  // First-class heaps. create_heap returns null when out of memory.
  Heap* create_heap();
  Result<void*> heap_allocate(Heap* heap, size_t size, size_t alignment = 1, bool zeroed = false);
  // Frees every block of `heap` at once and returns its memory. REQUIRES: called by the thread
  // that created it; none of its blocks is used again.
  void destroy_heap(Heap* heap);

  // Takes back the calling thread's remotely freed blocks, returns empty pages and adopts
  // abandoned segments; with `force` also purges every free span and the caches now.
  void collect(bool force = false);
  // The calling thread gives its heap up now, as it does when it exits.
  void thread_detach();

  // fork() from a process where other threads may be inside the allocator: prepare_fork
  // (before fork) takes this allocator's lock and the thread registry's, so the child starts
  // with neither held by a thread it does not have. after_fork_parent releases them;
  // after_fork_child releases them and abandons the default heaps of every thread but the
  // caller (none of them exists in the child), so their blocks stay freeable and their
  // segments are adopted like those of an exited thread. A heap whose thread was inside a
  // slow path when the process forked (Heap::changing()) may be half-relinked: it is
  // orphaned instead — never walked again, its segments moved to orphaned_ where frees of
  // their blocks are accepted and the memory stays unused for the child's lifetime (what
  // mimalloc and jemalloc's thread caches leave behind in a child). Memory such a thread had
  // mapped or committed and not yet published in any list leaves the counters (stats and
  // invariant 4 count what the child can reach). REQUIRES: each is called
  // once, in that order, by the thread that forks.
  void prepare_fork();
  void after_fork_parent();
  void after_fork_child();

  Stats stats() const;
  Status check() const;
  // Calls visit(block, usable_size, context) for every live block (quiescence required).
  void for_each_live_block(void (*visit)(void* block, size_t usable, void* context),
                           void* context) const;
  template <class F>
  void for_each_live_block(F&& visit) const {
    for_each_live_block([](void* block, size_t usable,
                           void* context) { (*static_cast<F*>(context))(block, usable); },
                        &visit);
  }

  const Options& options() const { return options_; }
  OsMemory& os() { return os_; }
  uint64_t id() const { return id_; }

 private:
  friend class Heap;
  friend void evict_binding(ThreadBinding& binding);
  friend void register_allocator(Allocator* allocator);
  friend void unregister_allocator(Allocator* allocator);
  friend class HeapWalker;

  void* allocate_slow(size_t size, size_t alignment, bool zeroed);
  // try_allocate after validate_request accepted the request (Heap::allocate says what
  // `reallocated` changes).
  Result<void*> allocate_on_thread_heap(size_t size, size_t alignment, bool zeroed,
                                        bool reallocated);
  // deallocate() of a pointer inside one of this process's segments, off the fast path (another
  // thread's block, or hardened mode): the checks without a Status, or deallocate_slow.
  void deallocate_in_segment(Segment* segment, void* p);
  void deallocate_slow(void* p);
  // The checks of deallocate_checked; on success *segment/*page are p's.
  Status validate_free(void* p, size_t size, bool full_checks, Segment** segment,
                       Page** page) const;
  void free_validated(Segment* segment, Page* page, void* p);
  // Frees a checked block: onto its page's free list when the calling thread owns the
  // segment, onto thread_free otherwise. A block of an abandoned segment (its thread exited)
  // first makes the calling thread's heap adopt the segment (reclaim_abandoned), so the thread
  // that now frees a dead thread's blocks also reuses their pages, instead of every page
  // waiting for whichever heap next runs out of segments.
  void free_to_owner(Segment* segment, Page* page, Block* block);
  // Adopts `segment` into the calling thread's heap; false when the thread has no heap of this
  // allocator yet or the segment is no longer on the abandoned list.
  bool reclaim_abandoned(Segment* segment);
  void report(const Status& status);

  // The calling thread's heap, creating it on first use; null when out of memory.
  Heap* thread_heap();
  Heap* bind_thread();
  Heap* acquire_heap(bool first_class);
  void retire_heap(Heap* heap);
  // Called at thread exit (or thread_detach) for the thread's default heap.
  void release_thread_heap(Heap* heap);

  // Segments. acquire_segment gives `heap` a fresh or cached segment, or (may_adopt) an
  // abandoned one; false when the OS refused memory.
  bool acquire_segment(Heap* heap, bool may_adopt);
  // The abandoned list is doubly linked so that a free can take any segment off it at once
  // (reclaim_abandoned). take_abandoned and abandon_segment take lock_; unlink_abandoned
  // REQUIRES it held.
  Segment* take_abandoned();
  void abandon_segment(Segment* segment);
  void unlink_abandoned(Segment* segment);
  void release_segment(Segment* segment);
  Segment* acquire_huge(size_t mapping_size);
  void release_huge(Segment* segment);
  Segment* map_segment(size_t mapping_size, bool huge);
  void unmap_segment(Segment* segment);
  void release_to_cache(Segment* segment);
  size_t os_bytes(const Segment* segment) const;
  size_t side_bytes(bool huge) const;
  void init_segment(Segment* segment, size_t mapping_size, bool huge);
  void purge_caches();
  // Bytes of the segment written since it was last fresh or purged (its share of committed_).
  static size_t dirty_bytes(const Segment* segment);
  // Returns the segment's dirty memory to the OS; it stays dirty when the OS refuses.
  // REQUIRES: lock_ held, or the segment in no list.
  void purge_segment(Segment* segment);
  // Advances the cache clock by one event and, under kDelayed, purges the cached segments it
  // has aged past kCachePurgeEvents. REQUIRES: lock_ held.
  void tick_cache_clock();
  void add_committed(int64_t bytes);

  Status check_segment(Segment* segment, const Heap* owner) const;
  // The bytes invariant 4 compares with the counters: heap records and every segment walked
  // (heaps, abandoned, orphaned, caches). Needs quiescence, as check().
  struct WalkedBytes {
    uint64_t mapped = 0;
    uint64_t committed = 0;
  };
  WalkedBytes walk_bytes() const;
  // after_fork_child: moves every segment of an orphaned heap, and every segment a stopped
  // thread held in no list, to orphaned_.
  void orphan_segments();
  // after_fork_child, hardened: a thread that fork() stopped between a block's granule bit and
  // its free list (either order, on either fast path) left them out of step. The lists decide,
  // as they do for `used`: every block on none of them is live and gets its bit (a block whose
  // free was cut short stays allocated in the child). Orphaned segments are not walked.
  void mend_granule_bits();

  const uint64_t id_;
  const Options options_;
  OsMemory os_;

  mutable SpinLock lock_;  // guards everything below
  Heap* heaps_ = nullptr;  // every heap record, in use or pooled
  Segment* abandoned_ = nullptr;
  // In a fork() child: segments of heaps whose threads were stopped mid-change. Their blocks
  // may still be freed (owner kOrphanedOwner sends every free down the remote path) but no heap
  // allocates from them again; the destructor unmaps them.
  Segment* orphaned_ = nullptr;
  Segment* cache_ = nullptr;  // empty ordinary segments
  size_t cached_ = 0;
  Segment* huge_cache_ = nullptr;
  uint64_t huge_cached_bytes_ = 0;
  size_t huge_cached_ = 0;
  uint64_t cache_clock_ = 0;  // segments that entered or left a cache

  std::atomic<uint64_t> committed_{0};
  std::atomic<uint64_t> peak_committed_{0};
  std::atomic<uint64_t> reports_{0};

  Allocator* next_registered_ = nullptr;  // the process-wide registry (thread_binding.cc)
};

}  // namespace vmmem::alloc
