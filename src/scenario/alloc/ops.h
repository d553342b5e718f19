// The alloc op vocabulary: everything a client of the Allocator can do, as plain values.
// Blocks, pool objects and first-class heaps are named by slot (an index into what is live,
// taken modulo its count), never by pointer, so every op sequence is valid to run and shrinks
// well. Sizes and alignments are raw: judging them is part of the allocator's job.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <variant>

namespace vmmem::scenario::alloc {

// allocate (heap 0: the thread's own heap) or heap_allocate (heap k > 0: the first-class heap
// in slot k - 1, modulo the live heaps; the thread's heap when there is none).
struct Alloc {
  uint64_t size;
  uint64_t alignment;  // 1: the natural alignment
  bool zeroed;
  uint8_t heap;
  friend bool operator==(const Alloc&, const Alloc&) = default;
};

// Frees the block in `slot`; `sized` passes the size it was allocated with.
struct Free {
  uint16_t slot;
  bool sized;
  friend bool operator==(const Free&, const Free&) = default;
};

struct Realloc {
  uint16_t slot;
  uint64_t size;
  friend bool operator==(const Realloc&, const Realloc&) = default;
};

// Fills the first min(size, kWriteLimit) bytes of the block in `slot` with the pattern (enough
// to see any overlap; more would only slow fuzzing down).
inline constexpr uint64_t kWriteLimit = 64 * 1024;
struct Write {
  uint16_t slot;
  uint64_t pattern;
  friend bool operator==(const Write&, const Write&) = default;
};

// Allocator::check(), the live-block walk and the statistics, compared with the model.
struct Check {
  friend bool operator==(const Check&, const Check&) = default;
};

// collect(force) on the calling thread.
struct Collect {
  bool force;
  friend bool operator==(const Collect&, const Collect&) = default;
};

struct PoolAlloc {
  friend bool operator==(const PoolAlloc&, const PoolAlloc&) = default;
};

struct PoolFree {
  uint16_t slot;
  friend bool operator==(const PoolFree&, const PoolFree&) = default;
};

struct HeapCreate {
  friend bool operator==(const HeapCreate&, const HeapCreate&) = default;
};

struct HeapDestroy {
  uint8_t heap;  // slot, modulo the live first-class heaps
  friend bool operator==(const HeapDestroy&, const HeapDestroy&) = default;
};

// The next `count` OS calls (map, unmap or purge, whichever comes) fail.
struct FailNextOsCall {
  uint8_t count;
  friend bool operator==(const FailNextOsCall&, const FailNextOsCall&) = default;
};

// The calling thread gives its heap up, as at thread exit (Allocator::thread_detach): its
// segments with live blocks are abandoned; a free of one of their blocks (on any thread), or
// an allocation that needs a segment, adopts them again.
struct Detach {
  friend bool operator==(const Detach&, const Detach&) = default;
};

// Frees the block in `slot` on another thread (a remote free).
struct Handoff {
  uint16_t slot;
  uint8_t thread;
  friend bool operator==(const Handoff&, const Handoff&) = default;
};

// A free the allocator must refuse, or accept as a no-op. Kinds:
enum class BadFreeKind : uint8_t {
  kNull,        // free(nullptr): nothing happens
  kForeign,     // a pointer into memory the allocator never owned: kNotFound
  kInterior,    // the block in `slot` plus `offset` (1 .. its size - 1): kInvalidArgument
  kWrongSize,   // a sized free of the block in `slot` naming a size it cannot have had
  kDoubleFree,  // a block freed earlier and not reused since (hardened mode only)
  kFreeTwice,   // the block in `slot` freed (validly), then at once again (hardened mode only)
  kCount,
};
struct BadFree {
  BadFreeKind kind;
  uint16_t slot;
  uint32_t offset;
  friend bool operator==(const BadFree&, const BadFree&) = default;
};

// What a slot names: `slot` modulo the live count (blocks, pool objects or heaps). REQUIRES:
// live > 0.
inline size_t pick(uint64_t slot, size_t live) {
  return static_cast<size_t>(slot % live);
}

using Op = std::variant<Alloc, Free, Realloc, Write, Check, Collect, PoolAlloc, PoolFree,
                        HeapCreate, HeapDestroy, FailNextOsCall, Handoff, BadFree, Detach>;

// One line, e.g. "Alloc{size=24, alignment=1, zeroed=0, heap=0}".
std::string describe(const Op& op);

// The contents of a block written with `pattern`, as 8-byte little-endian words: word i is
// pattern_word(pattern, i), so shifted or swapped bytes show and fills run a word at a time.
inline uint64_t pattern_word(uint64_t pattern, uint64_t index) {
  uint64_t x = (pattern ^ index * 0x9e3779b97f4a7c15) * 0xbf58476d1ce4e5b9;
  return x ^ (x >> 31);
}
inline uint8_t pattern_byte(uint64_t pattern, uint64_t offset) {
  return static_cast<uint8_t>(pattern_word(pattern, offset >> 3) >> (8 * (offset & 7)));
}

}  // namespace vmmem::scenario::alloc
