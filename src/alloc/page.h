// Page: the descriptor of one slice of a segment, and — at the first slice of a span — of the
// whole span: a page of small blocks of one size class, one large block, or free space.
//
// Lists of a small page (mimalloc's sharding, with local frees pushed straight back onto free):
//   free        blocks ready to hand out; the allocation fast path pops it and the owner
//               thread's frees push onto it (LIFO: an alloc/free loop reuses one warm block).
//   thread_free blocks other threads freed, pushed with a CAS; the owner takes the whole list
//               in one exchange when `free` runs dry. Its two low bits are the DelayState
//               (blocks are 8-aligned).
// Blocks past `capacity` have never been handed out; extend() carves more of them on demand,
// so a fresh page touches only the memory it uses.
//
// Accounting identity of an in-use page (check() verifies it):
//   used + |free| == capacity <= reserved
// and the blocks live for the client are `used` minus those on thread_free and on the heap's
// delayed-free list. No block is on two lists; every link points at a block start inside the
// page.
//
// Thread safety: the owner thread of the page's segment reads and writes every field; other
// threads only push onto thread_free, and read fields that were set before the block they free
// was handed out (kind, block_size, start, slice_offset, slice_count, size_class) and, to
// validate a free, `capacity`. That one the owner may grow (extend) while they read it, so both
// sides access it as a relaxed atomic (capacity_now, grow_capacity): a freeing thread got its
// block after the block was carved, so whichever capacity it reads covers the block.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>

#include "alloc/sanitizer.h"

namespace vmmem::alloc {

class Heap;
struct Segment;

struct Block {
  Block* next;
};

// Free-list link access that ASan allows: free blocks stay poisoned except while one of these
// touches their first word.
inline Block* read_link(const Block* block) {
  unpoison(block, sizeof(Block*));
  Block* next = block->next;
  poison(block, sizeof(Block*));
  return next;
}
inline void write_link(Block* block, Block* next) {
  unpoison(block, sizeof(Block*));
  block->next = next;
  poison(block, sizeof(Block*));
}

// What a remote free does when it pushes onto thread_free (the low bits of the word):
//   kNone       just push; the owner collects when it next looks at the page.
//   kNotify     the page sits on the owner's full list, where the owner never looks: hand the
//               block to the owning heap's delayed-free list instead, so the owner learns.
//   kNotifying  a remote free is handing a block over right now; everyone else waits.
//   kNever      no live heap owns the page (abandoned or being destroyed): just push.
enum class DelayState : uintptr_t { kNone = 0, kNotify = 1, kNotifying = 2, kNever = 3 };

enum class SpanKind : uint8_t { kFree = 0, kSmall = 1, kLarge = 2 };

// 128 bytes, so that finding a slice's descriptor is a shift, not a multiply.
struct alignas(128) Page {
  static constexpr uintptr_t kStateMask = 3;

  // Span layout. At a span's first slice slice_count > 0 and slice_offset == 0; every other
  // slice has slice_count == 0. In an in-use span every slice's slice_offset leads back to the
  // first; in a free span only the last slice's does (for coalescing).
  uint32_t slice_count;
  uint32_t slice_offset;

  SpanKind kind;
  uint8_t size_class;  // small pages
  bool fresh;          // the span read as zeros when it was taken (blocks past capacity still do)
  uint32_t reserved;   // blocks the page can hold
  size_t block_size;
  size_t requested;  // large pages: the size the block was asked for
  std::byte* start;  // first block
  std::atomic<uintptr_t> thread_free;
  uint64_t freed_at;  // free spans: the purge clock (Heap::purge_now) when the span became free

  // The second cache line holds what the owner writes as it allocates and frees. A remote free
  // reads only the first (the span layout above) and swaps thread_free there, so a thread that
  // frees the blocks of a page its owner is allocating from does not pull away the line the
  // owner writes on every allocation. (Checked frees read `capacity` as well.)
  alignas(64) Block* free;
  uint32_t used;
  uint32_t capacity;  // blocks carved out so far
  bool in_full;       // on the owner's full list (large pages always)
  bool is_current;    // its heap's current page for its class (kept when it empties)
  bool free_is_zero;  // every block on `free` is zero except its link word

  // Links in the owner's page queue or full list (small pages), span cache (idle large
  // spans), or span bin (free spans).
  Page* next;
  Page* prev;

  static Block* list_of(uintptr_t word) { return reinterpret_cast<Block*>(word & ~kStateMask); }
  static DelayState state_of(uintptr_t word) { return static_cast<DelayState>(word & kStateMask); }

  // `capacity` as another thread may read it (see Thread safety above).
  uint32_t capacity_now() const {
    return std::atomic_ref(const_cast<uint32_t&>(capacity)).load(std::memory_order_relaxed);
  }
  // Owner only: carves `count` more blocks' worth of capacity.
  void grow_capacity(uint32_t count) {
    std::atomic_ref(capacity).store(capacity + count, std::memory_order_relaxed);
  }

  bool is_in_use() const { return kind != SpanKind::kFree; }
  size_t bytes() const { return block_size * reserved; }

  // Block index of p, or SIZE_MAX when p is not a block start of this page.
  size_t block_index(const void* p) const {
    const auto offset = static_cast<size_t>(static_cast<const std::byte*>(p) - start);
    if (static_cast<const std::byte*>(p) < start || offset >= block_size * capacity_now())
      return SIZE_MAX;
    return offset % block_size == 0 ? offset / block_size : SIZE_MAX;
  }
};

static_assert(sizeof(Page) == 128, "a slice's descriptor is found by a shift");
static_assert(offsetof(Page, thread_free) < 64 && offsetof(Page, free) == 64 &&
                  offsetof(Page, prev) < 128,
              "remote frees touch only the first line, the owner's fast paths the second");

}  // namespace vmmem::alloc
