#include "alloc/allocator.h"

#include <cstdio>
#include <cstring>
#include <new>

#include "alloc/thread_binding.h"
#include "support/check.h"

namespace vmmem::alloc {
namespace {

constexpr size_t kOsPage = 4096;
// What a segment header commits: the pages of the Segment struct.
constexpr size_t kHeaderBytes = (sizeof(Segment) + kOsPage - 1) & ~(kOsPage - 1);
constexpr size_t kHeapRecordBytes = (sizeof(Heap) + kOsPage - 1) & ~(kOsPage - 1);

void print_report(const Status& status, void* /*context*/) {
  char message[Status::kMessageCapacity];
  status.format(message, sizeof message);
  std::fprintf(stderr, "vmmem allocator: %s\n", message);
}

Status out_of_memory(size_t size, size_t alignment) {
  return Status::error(ErrorCode::kOutOfMemory, "the OS refused memory for the request", alignment,
                       size);
}

// True when an allocation of class `cls` could have been asked for with `size` at some
// alignment (sized frees of aligned blocks name the unaligned size).
bool size_fits_class(size_t size, size_t cls) {
  const size_t block = class_size(cls);
  const size_t largest_alignment = block & (~block + 1);
  for (size_t alignment = 1; alignment <= largest_alignment; alignment *= 2) {
    if (aligned_size_to_class(size, alignment) == cls) return true;
  }
  return false;
}

// True when a request of `size` bytes at some alignment the block honours, or a reallocation
// growing to `size`, would have taken exactly this large span (or, when huge, a mapping this
// cache would have handed out).
bool size_fits_span(size_t size, const Segment* segment, const Page* page) {
  const auto start = reinterpret_cast<uintptr_t>(page->start);
  for (size_t alignment = 1; alignment <= kMaxAlignment && start % alignment == 0; alignment *= 2) {
    if (size <= kSmallestSpanBlock && aligned_size_to_class(size, alignment) < kNumClasses)
      continue;  // only ever a small block
    const size_t pad = alignment > kSliceSize ? alignment - kSliceSize : 0;
    if (segment->huge) {
      const size_t mapping = (kSliceSize + pad + size + kSliceSize - 1) & ~(kSliceSize - 1);
      if (segment->mapping_size >= mapping &&
          segment->mapping_size - mapping <= segment->mapping_size / 4)
        return true;
    } else {
      size_t slices = (size + pad + kSliceSize - 1) / kSliceSize;
      if (slices == 0) slices = 1;
      if (slices == page->slice_count) return true;
    }
  }
  return false;
}

// True when allocate(size), or a reallocation growing to `size`, could return this very block.
bool natural_fit(size_t size, Segment* segment, const Page* page) {
  if (page->kind == SpanKind::kSmall)
    return size <= kMaxSmallSize && size_to_class(size) == page->size_class;
  if (size <= kSmallestSpanBlock || page->start != segment->slice_address(segment->index_of(page)))
    return false;
  if (segment->huge) {
    const size_t mapping = (kSliceSize + size + kSliceSize - 1) & ~(kSliceSize - 1);
    return size > kLargestSpanBytes && segment->mapping_size >= mapping &&
           segment->mapping_size - mapping <= segment->mapping_size / 4;
  }
  return (size + kSliceSize - 1) / kSliceSize == page->slice_count;
}

}  // namespace

Allocator::Allocator(Options options) : id_(next_allocator_id()), options_(options) {
  register_allocator(this);
}

Allocator::~Allocator() {
  os_.fail_next_calls(0);
  unregister_allocator(this);
  forget_thread_binding(id_);
  for (Heap* heap = heaps_; heap != nullptr;) {
    Heap* next = heap->next_in_allocator;
    for (Segment* segment = heap->orphaned ? nullptr : heap->segments_; segment != nullptr;) {
      Segment* following = segment->next;
      SegmentMap::erase(reinterpret_cast<uintptr_t>(segment));
      if (segment->huge)
        SegmentMap::erase_tail(reinterpret_cast<uintptr_t>(segment), segment->mapping_size);
      unmap_segment(segment);
      segment = following;
    }
    heap->~Heap();
    os_.unmap(heap, kHeapRecordBytes);
    heap = next;
  }
  for (Segment** list : {&abandoned_, &orphaned_, &cache_, &huge_cache_}) {
    for (Segment* segment = *list; segment != nullptr;) {
      Segment* following = segment->next;
      if (list == &abandoned_ || list == &orphaned_) {
        SegmentMap::erase(reinterpret_cast<uintptr_t>(segment));
        if (segment->huge)
          SegmentMap::erase_tail(reinterpret_cast<uintptr_t>(segment), segment->mapping_size);
      }
      unmap_segment(segment);
      segment = following;
    }
  }
}

// ---- allocation ----------------------------------------------------------------------------

Status Allocator::validate_request(size_t size, size_t alignment) {
  if (alignment == 0 || (alignment & (alignment - 1)) != 0)
    return Status::error(ErrorCode::kInvalidArgument, "alignment is not a power of two", alignment,
                         size);
  if (alignment > kMaxAlignment)
    return Status::error(ErrorCode::kUnsupported, "alignment above the largest supported (2 MiB)",
                         alignment, size);
  if (size > kMaxRequest)
    return Status::error(ErrorCode::kOutOfMemory, "request above the largest allocation (64 TiB)",
                         alignment, size);
  return kOkStatus;
}

Result<void*> Allocator::try_allocate(size_t size, size_t alignment, bool zeroed) {
  if (Status status = validate_request(size, alignment); !status.ok()) return status;
  return allocate_on_thread_heap(size, alignment, zeroed, /*reallocated=*/false);
}

Result<void*> Allocator::allocate_on_thread_heap(size_t size, size_t alignment, bool zeroed,
                                                 bool reallocated) {
  Heap* heap = thread_heap();
  void* block = heap == nullptr ? nullptr : heap->allocate(size, alignment, zeroed, reallocated);
  if (block == nullptr) return out_of_memory(size, alignment);
  return block;
}

void* Allocator::allocate_slow(size_t size, size_t alignment, bool zeroed) {
  // Hardened allocation has no inline fast path (the direct table stays empty); this is its
  // short one, for the plain requests most calls are.
  if (options_.hardened && alignment == 1 && !zeroed && size <= kMaxSmallSize) {
    if (Heap* heap = thread_heap()) {
      if (void* block = heap->try_allocate_hardened(size_to_class(size), size)) return block;
    }
  }
  Result<void*> result = try_allocate(size, alignment, zeroed);
  return result.ok() ? result.value() : nullptr;
}

Result<void*> Allocator::heap_allocate(Heap* heap, size_t size, size_t alignment, bool zeroed) {
  if (Status status = validate_request(size, alignment); !status.ok()) return status;
  if (heap->owner_tid() != current_thread_id())
    return Status::error(ErrorCode::kInvalidArgument,
                         "a first-class heap allocates only on the thread that created it",
                         alignment, size);
  void* block = heap->allocate(size, alignment, zeroed);
  if (block == nullptr) return out_of_memory(size, alignment);
  return block;
}

// ---- freeing -------------------------------------------------------------------------------

Status Allocator::validate_free(void* p, size_t size, bool full_checks, Segment** segment_out,
                                Page** page_out) const {
  const auto address = reinterpret_cast<uintptr_t>(p);
  const uintptr_t base = segment_base_of(p);
  if (!SegmentMap::contains(base)) {
    if (SegmentMap::in_tail(base))
      return Status::error(ErrorCode::kInvalidArgument,
                           "pointer is inside a huge block, not at its start", address, size);
    return Status::error(ErrorCode::kNotFound, "pointer was not returned by this allocator",
                         address, size);
  }
  Segment* segment = reinterpret_cast<Segment*>(base);
  if (segment->allocator != this)
    return Status::error(ErrorCode::kConflict, "pointer belongs to another allocator", address,
                         size);
  Page* page = segment->live_page_of(p);
  if (page == nullptr)
    return Status::error(ErrorCode::kInvalidArgument, "pointer is not inside a live block", address,
                         size);
  if (full_checks) {
    if (page->block_index(p) == SIZE_MAX)
      return Status::error(ErrorCode::kInvalidArgument, "pointer is not the start of a block",
                           address, size);
    if (options_.hardened && !segment->is_marked_allocated(p))
      return Status::error(ErrorCode::kConflict, "block is already free (double free)", address,
                           size);
    if (size != 0) {
      bool fits;
      if (page->kind == SpanKind::kSmall) {
        fits = size <= page->block_size && size_fits_class(size, page->size_class);
      } else {
        fits = size <= page->block_size && size_fits_span(size, segment, page);
      }
      if (!fits)
        return Status::error(ErrorCode::kInvalidArgument,
                             "sized free names a size the block was not allocated with", address,
                             size);
    }
  }
  *segment_out = segment;
  *page_out = page;
  return kOkStatus;
}

void Allocator::free_validated(Segment* segment, Page* page, void* p) {
  if (options_.hardened && !segment->mark_free(p)) {
    // Another thread freed the same block between the check and here.
    report(Status::error(ErrorCode::kConflict, "block is already free (double free)",
                         reinterpret_cast<uintptr_t>(p), 0));
    return;
  }
  free_to_owner(segment, page, static_cast<Block*>(p));
}

void Allocator::free_to_owner(Segment* segment, Page* page, Block* block) {
  const uintptr_t owner = segment->owner_tid.load(std::memory_order_acquire);
  if (owner == current_thread_id() || (owner == 0 && reclaim_abandoned(segment))) {
    segment->heap.load(std::memory_order_relaxed)->free_local(segment, page, block);
  } else {
    Heap::free_remote(segment, page, block);
  }
}

bool Allocator::reclaim_abandoned(Segment* segment) {
  Heap* heap = thread_heap();
  if (heap == nullptr) return false;
  {
    std::lock_guard guard(lock_);
    // Another thread took it since its owner was read (then the free goes to that thread).
    if (!segment->abandoned) return false;
    unlink_abandoned(segment);
  }
  heap->adopt(segment);
  return true;
}

void Allocator::deallocate_in_segment(Segment* segment, void* p) {
  // Building no Status on the way keeps these frees short: without hardening every remote free
  // (each free of a producer/consumer pair), with it every free. Whatever fails a check goes
  // to deallocate_slow, which finds the same failure and reports it.
  if (segment->allocator == this) {
    if (Page* page = segment->live_page_of(p)) {
      if (!options_.hardened) {
        free_to_owner(segment, page, static_cast<Block*>(p));
        return;
      }
      // A granule bit is set only at a live block's start, so clearing one at a word-aligned p
      // is both the block-start check (no division) and the double-free check: a block already
      // free has its bit clear, and of two racing frees of one block only one clears it.
      if (reinterpret_cast<uintptr_t>(p) % kWordSize == 0 && segment->mark_free(p)) {
        free_to_owner(segment, page, static_cast<Block*>(p));
        return;
      }
    }
  }
  deallocate_slow(p);
}

void Allocator::deallocate_slow(void* p) {
  if (p == nullptr) return;
  Segment* segment;
  Page* page;
  const Status status = validate_free(p, 0, options_.hardened, &segment, &page);
  if (!status.ok()) {
    report(status);
    return;
  }
  free_validated(segment, page, p);
}

Status Allocator::deallocate_checked(void* p, size_t size) {
  if (p == nullptr) return kOkStatus;
  Segment* segment;
  Page* page;
  const Status status = validate_free(p, size, /*full_checks=*/true, &segment, &page);
  if (!status.ok()) return status;
  free_validated(segment, page, p);
  return kOkStatus;
}

void Allocator::report(const Status& status) {
  reports_.fetch_add(1, std::memory_order_relaxed);
  (options_.report != nullptr ? options_.report : print_report)(status, options_.report_context);
}

size_t Allocator::usable_size(const void* p) const {
  if (p == nullptr) return 0;
  Segment* segment;
  Page* page;
  if (!validate_free(const_cast<void*>(p), 0, /*full_checks=*/true, &segment, &page).ok()) return 0;
  return segment->usable(page, p);
}

// ---- reallocation --------------------------------------------------------------------------

Result<void*> Allocator::try_reallocate(void* p, size_t size) {
  if (p == nullptr) return try_allocate(size);
  Segment* segment;
  Page* page;
  if (Status status = validate_free(p, 0, /*full_checks=*/true, &segment, &page); !status.ok())
    return status;
  if (size == 0) {
    free_validated(segment, page, p);
    return static_cast<void*>(nullptr);
  }
  if (Status status = validate_request(size, 1); !status.ok()) return status;
  const size_t old_usable = usable_size(p);
  // In place only when a fresh request of `size` at the natural alignment, or a reallocation to
  // it, would get this very block, so that a sized free with the new size stays valid (and no
  // over-aligned block is kept for a request that no longer asks for the alignment).
  bool in_place = size <= page->block_size && natural_fit(size, segment, page);
  if (!in_place && page->kind == SpanKind::kLarge && size > kSmallestSpanBlock &&
      segment->owner_tid.load(std::memory_order_acquire) == current_thread_id()) {
    in_place =
        segment->heap.load(std::memory_order_relaxed)->try_resize_in_place(segment, page, size);
  }
  if (in_place) {
    segment->set_requested(page, p, size);
    unpoison(p, size);
    poison(static_cast<std::byte*>(p) + size, page->block_size - size);
    return p;
  }
  Result<void*> moved = allocate_on_thread_heap(size, 1, false, /*reallocated=*/true);
  if (!moved.ok()) return moved;
  std::memcpy(moved.value(), p, old_usable < size ? old_usable : size);
  free_validated(segment, page, p);
  return moved;
}

void* Allocator::reallocate(void* p, size_t size) {
  Result<void*> result = try_reallocate(p, size);
  if (!result.ok()) {
    if (result.status().code() == ErrorCode::kNotFound ||
        result.status().code() == ErrorCode::kConflict ||
        result.status().code() == ErrorCode::kInvalidArgument)
      report(result.status());
    return nullptr;
  }
  return result.value();
}

// ---- heaps ---------------------------------------------------------------------------------

Heap* Allocator::thread_heap() {
  const ThreadBinding& binding = detail::current_binding;
  if (binding.allocator_id == id_) return binding.heap;
  return bind_thread();
}

Heap* Allocator::acquire_heap(bool first_class) {
  Heap* heap = nullptr;
  {
    std::lock_guard guard(lock_);
    for (Heap* h = heaps_; h != nullptr; h = h->next_in_allocator) {
      if (!h->in_use) {
        heap = h;
        break;
      }
    }
    if (heap != nullptr) {
      Heap* link = heap->next_in_allocator;
      heap->~Heap();
      new (heap) Heap(this, current_thread_id(), first_class);
      heap->next_in_allocator = link;
      heap->in_use = true;
      return heap;
    }
  }
  void* record = os_.map_aligned(kHeapRecordBytes, kOsPage);
  if (record == nullptr) return nullptr;
  heap = new (record) Heap(this, current_thread_id(), first_class);
  heap->in_use = true;
  std::lock_guard guard(lock_);
  heap->next_in_allocator = heaps_;
  heaps_ = heap;
  return heap;
}

void Allocator::retire_heap(Heap* heap) {
  std::lock_guard guard(lock_);
  heap->in_use = false;
}

void Allocator::release_thread_heap(Heap* heap) {
  heap->abandon();
  retire_heap(heap);
}

Heap* Allocator::create_heap() {
  return acquire_heap(/*first_class=*/true);
}

void Allocator::destroy_heap(Heap* heap) {
  heap->destroy_all();
  retire_heap(heap);
}

void Allocator::collect(bool force) {
  Heap* heap = thread_heap();
  if (heap == nullptr) return;
  // Abandoned segments whose blocks were all freed elsewhere are released this way.
  for (Segment* segment = take_abandoned(); segment != nullptr; segment = take_abandoned())
    heap->adopt(segment);
  heap->collect(force);
  if (force) purge_caches();
}

void Allocator::prepare_fork() {
  // The order of evict_binding, which calls release_thread_heap under the registry lock.
  lock_registry();
  lock_.lock();
}

void Allocator::after_fork_parent() {
  lock_.unlock();
  unlock_registry();
}

void Allocator::after_fork_child() {
  lock_.unlock();
  unlock_registry();
  // Only the forking thread lives on. Nothing else runs yet, so the heap list is walked without
  // the lock (abandon takes it).
  const uintptr_t self = current_thread_id();
  bool any_orphaned = false;
  for (Heap* heap = heaps_; heap != nullptr; heap = heap->next_in_allocator) {
    if (!heap->in_use || heap->orphaned) continue;
    if (heap->owner_tid() == self) {
      heap->mend_after_fork(/*copied_owner=*/true);
    } else if (heap->changing()) {
      heap->orphaned = true;
      any_orphaned = true;
    } else if (!heap->first_class()) {
      heap->mend_after_fork(/*copied_owner=*/false);
      release_thread_heap(heap);
    }
    // A first-class heap of a thread the child lacks stays as it is: only its creator could
    // allocate from it or destroy it, and its blocks stay freeable through its segments.
  }
  if (any_orphaned) orphan_segments();
  if (options_.hardened) mend_granule_bits();
  // Whatever the stopped threads held in flight (a segment mapped but not yet listed, one
  // unlisted and not yet unmapped, slices committed or purged but not yet counted) is out of
  // the counters' reach from now on.
  const WalkedBytes walked = walk_bytes();
  os_.forget_mapped(static_cast<int64_t>(os_.counters().mapped_bytes - walked.mapped));
  committed_.store(walked.committed, std::memory_order_relaxed);
}

void Allocator::orphan_segments() {
  // Abandoned segments are in no heap either; mark them so the scan can tell them from the
  // segments a stopped thread had taken out of every list.
  for (Segment* segment = abandoned_; segment != nullptr; segment = segment->next)
    segment->owner_tid.store(kOrphanedOwner, std::memory_order_relaxed);
  SegmentMap::for_each([this](uintptr_t base) {
    auto* segment = reinterpret_cast<Segment*>(base);
    if (segment->allocator != this) return;
    Heap* heap = segment->heap.load(std::memory_order_relaxed);
    const bool in_no_list =
        heap == nullptr && segment->owner_tid.load(std::memory_order_relaxed) != kOrphanedOwner;
    if (!in_no_list && (heap == nullptr || !heap->orphaned)) return;
    segment->heap.store(nullptr, std::memory_order_relaxed);
    // No thread id equals kOrphanedOwner: every free of its blocks takes the remote path,
    // which only pushes onto a page's thread_free. kNever on every slice (a stopped thread
    // may have been relaying spans) keeps any free off the dead heap's delayed list.
    segment->owner_tid.store(kOrphanedOwner, std::memory_order_relaxed);
    segment->fast_free_tid.store(kOrphanedOwner, std::memory_order_relaxed);
    for (Page& slice : segment->slices) {
      const uintptr_t word = slice.thread_free.load(std::memory_order_relaxed);
      slice.thread_free.store(
          (word & ~Page::kStateMask) | static_cast<uintptr_t>(DelayState::kNever),
          std::memory_order_relaxed);
    }
    segment->prev = nullptr;
    segment->next = orphaned_;
    orphaned_ = segment;
  });
  for (Segment* segment = abandoned_; segment != nullptr; segment = segment->next)
    segment->owner_tid.store(0, std::memory_order_relaxed);
}

// ---- segments ------------------------------------------------------------------------------

void Allocator::add_committed(int64_t bytes) {
  if (bytes == 0) return;
  const uint64_t now =
      committed_.fetch_add(static_cast<uint64_t>(bytes), std::memory_order_relaxed) +
      static_cast<uint64_t>(bytes);
  uint64_t peak = peak_committed_.load(std::memory_order_relaxed);
  while (now > peak &&
         !peak_committed_.compare_exchange_weak(peak, now, std::memory_order_relaxed)) {
  }
}

Segment* Allocator::map_segment(size_t mapping_size, bool huge) {
  // Side tables (the hardened granule bitmap; under ASan the requested sizes) share the
  // segment's mapping, right after it, so they are mapped and unmapped together.
  const size_t bytes = mapping_size + side_bytes(huge);
  void* memory = os_.map_aligned(bytes, kSegmentSize);
  if (memory == nullptr) return nullptr;
  auto* segment = new (memory) Segment{};
  segment->mapping_size = mapping_size;
  std::byte* side = static_cast<std::byte*>(memory) + mapping_size;
  if (options_.hardened) {
    segment->allocated_bits = reinterpret_cast<std::atomic<uint64_t>*>(side);
    side += Segment::kHardenedBitsBytes;
  }
  if (kAsanEnabled && !huge) segment->requested_sizes = reinterpret_cast<uint32_t*>(side);
  add_committed(kHeaderBytes);
  return segment;
}

size_t Allocator::side_bytes(bool huge) const {
  return (options_.hardened ? Segment::kHardenedBitsBytes : 0) +
         (kAsanEnabled && !huge ? Segment::kRequestedSizesBytes : 0);
}

size_t Allocator::os_bytes(const Segment* segment) const {
  return segment->mapping_size + side_bytes(segment->huge);
}

void Allocator::unmap_segment(Segment* segment) {
  const int64_t dirty = static_cast<int64_t>(dirty_bytes(segment));
  if (os_.unmap(segment, os_bytes(segment))) {
    add_committed(-dirty - static_cast<int64_t>(kHeaderBytes));
    return;
  }
  // The OS refused: keep the segment as an empty cached one, beyond the cache's limit.
  release_to_cache(segment);
}

void Allocator::init_segment(Segment* segment, size_t mapping_size, bool huge) {
  const uint64_t dirty = segment->dirty_mask;
  std::atomic<uint64_t>* bits = segment->allocated_bits;
  uint32_t* requested = segment->requested_sizes;
  segment->~Segment();
  new (segment) Segment{};
  segment->allocator = this;
  segment->mapping_size = mapping_size;
  segment->huge = huge;
  segment->dirty_mask = dirty;
  segment->allocated_bits = bits;
  segment->requested_sizes = requested;
}

bool Allocator::acquire_segment(Heap* heap, bool may_adopt) {
  // Only threads' own heaps adopt: a first-class heap's destruction frees all it holds, and
  // the blocks of an abandoned segment are not its to free.
  if (may_adopt && !heap->first_class()) {
    if (Segment* segment = take_abandoned()) {
      heap->adopt(segment);
      return true;
    }
  }
  Segment* segment = nullptr;
  {
    std::lock_guard guard(lock_);
    if (cache_ != nullptr) {
      segment = cache_;
      cache_ = segment->next;
      --cached_;
      tick_cache_clock();
    }
  }
  if (segment == nullptr) segment = map_segment(kSegmentSize, /*huge=*/false);
  if (segment == nullptr) return false;
  init_segment(segment, kSegmentSize, /*huge=*/false);
  SegmentMap::insert(reinterpret_cast<uintptr_t>(segment));
  heap->add_fresh_segment(segment);
  return true;
}

Segment* Allocator::take_abandoned() {
  std::lock_guard guard(lock_);
  Segment* segment = abandoned_;
  if (segment != nullptr) unlink_abandoned(segment);
  return segment;
}

void Allocator::unlink_abandoned(Segment* segment) {
  unlink(abandoned_, segment);
  segment->abandoned = false;
}

void Allocator::abandon_segment(Segment* segment) {
  std::lock_guard guard(lock_);
  push_front(abandoned_, segment);
  segment->abandoned = true;
}

void Allocator::release_to_cache(Segment* segment) {
  std::lock_guard guard(lock_);
  tick_cache_clock();
  segment->cached_at = cache_clock_;
  if (segment->huge) {
    segment->next = huge_cache_;
    huge_cache_ = segment;
    ++huge_cached_;
    huge_cached_bytes_ += segment->mapping_size;
  } else {
    segment->next = cache_;
    cache_ = segment;
    ++cached_;
  }
}

void Allocator::release_segment(Segment* segment) {
  SegmentMap::erase(reinterpret_cast<uintptr_t>(segment));
  poison(segment->slice_address(1), kSegmentSize - kSliceSize);
  if (options_.purge == PurgePolicy::kEager) purge_segment(segment);
  bool keep;
  {
    std::lock_guard guard(lock_);
    keep = cached_ < options_.segment_cache;
  }
  if (keep) {
    release_to_cache(segment);
  } else {
    unmap_segment(segment);
  }
}

Segment* Allocator::acquire_huge(size_t mapping_size) {
  Segment* segment = nullptr;
  {
    std::lock_guard guard(lock_);
    // The smallest cached mapping that fits without wasting more than a quarter of it.
    Segment** best = nullptr;
    for (Segment** link = &huge_cache_; *link != nullptr; link = &(*link)->next) {
      const size_t size = (*link)->mapping_size;
      if (size >= mapping_size && size - mapping_size <= size / 4 &&
          (best == nullptr || size < (*best)->mapping_size))
        best = link;
    }
    if (best != nullptr) {
      segment = *best;
      *best = segment->next;
      --huge_cached_;
      huge_cached_bytes_ -= segment->mapping_size;
      tick_cache_clock();
    }
  }
  if (segment == nullptr) segment = map_segment(mapping_size, /*huge=*/true);
  if (segment == nullptr) return nullptr;
  init_segment(segment, segment->mapping_size, /*huge=*/true);
  SegmentMap::insert(reinterpret_cast<uintptr_t>(segment));
  SegmentMap::insert_tail(reinterpret_cast<uintptr_t>(segment), segment->mapping_size);
  return segment;
}

void Allocator::release_huge(Segment* segment) {
  SegmentMap::erase(reinterpret_cast<uintptr_t>(segment));
  SegmentMap::erase_tail(reinterpret_cast<uintptr_t>(segment), segment->mapping_size);
  const size_t object_bytes = segment->mapping_size - kSliceSize;
  poison(segment->slice_address(1), object_bytes);
  if (options_.purge == PurgePolicy::kEager) purge_segment(segment);
  bool keep;
  {
    std::lock_guard guard(lock_);
    keep = huge_cached_bytes_ + segment->mapping_size <= options_.huge_cache_bytes;
  }
  if (keep) {
    release_to_cache(segment);
  } else {
    unmap_segment(segment);
  }
}

void Allocator::purge_caches() {
  std::lock_guard guard(lock_);
  for (Segment* list : {cache_, huge_cache_}) {
    for (Segment* segment = list; segment != nullptr; segment = segment->next)
      purge_segment(segment);
  }
}

size_t Allocator::dirty_bytes(const Segment* segment) {
  // A huge segment's object is one span, dirty as a whole (bit 1); an ordinary segment's
  // slices each have their bit.
  if (segment->huge) return (segment->dirty_mask & 2) != 0 ? segment->mapping_size - kSliceSize : 0;
  return static_cast<size_t>(std::popcount(segment->dirty_mask)) * kSliceSize;
}

void Allocator::purge_segment(Segment* segment) {
  const size_t dirty = dirty_bytes(segment);
  if (dirty == 0) return;
  const size_t bytes = (segment->huge ? segment->mapping_size : kSegmentSize) - kSliceSize;
  if (!os_.purge(segment->slice_address(1), bytes)) return;  // stays dirty, counted as such
  add_committed(-static_cast<int64_t>(dirty));
  segment->dirty_mask = 0;
}

void Allocator::tick_cache_clock() {
  ++cache_clock_;
  if (options_.purge != PurgePolicy::kDelayed) return;
  for (Segment* list : {cache_, huge_cache_}) {
    for (Segment* segment = list; segment != nullptr; segment = segment->next) {
      if (cache_clock_ - segment->cached_at >= kCachePurgeEvents) purge_segment(segment);
    }
  }
}

}  // namespace vmmem::alloc
