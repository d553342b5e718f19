// The shim op vocabulary: the C allocation surface of libvmmem_malloc.so (shim/c_api.h) as
// plain values. Blocks are named by slot (an index into the live blocks, modulo their count),
// never by pointer; sizes, counts and alignments are raw, since judging them is the C API's job
// (overflowing products, alignments that are not powers of two, sizes no allocator can give).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <variant>

namespace vmmem::scenario::shim {

// Which C function an Allocate op calls, and what its `extra` operand is.
enum class AllocCall : uint8_t {
  kMalloc,         // malloc(size)
  kCalloc,         // calloc(extra, size)
  kPosixMemalign,  // posix_memalign(&p, extra, size)
  kAlignedAlloc,   // aligned_alloc(extra, size)
  kMemalign,       // memalign(extra, size)
  kValloc,         // valloc(size)
  kPvalloc,        // pvalloc(size)
  kCount,
};

struct Allocate {
  AllocCall call;
  uint64_t size;
  uint64_t extra;  // calloc: the count; the three aligned calls: the alignment; else unused
  friend bool operator==(const Allocate&, const Allocate&) = default;
};

// realloc(p, size) or, with `array`, reallocarray(p, count, size); p is the block in `slot`,
// or null with `null_pointer`.
struct Realloc {
  uint16_t slot;
  bool null_pointer;
  bool array;
  uint64_t size;
  uint64_t count;
  friend bool operator==(const Realloc&, const Realloc&) = default;
};

// free() of the block in `slot`, or free(nullptr).
struct Free {
  uint16_t slot;
  bool null_pointer;
  friend bool operator==(const Free&, const Free&) = default;
};

// Writes `byte` over the first min(usable size, kFillLimit) bytes of the block in `slot`, so
// that reallocation has contents to keep.
inline constexpr uint64_t kFillLimit = 4096;
struct Fill {
  uint16_t slot;
  uint8_t byte;
  friend bool operator==(const Fill&, const Fill&) = default;
};

// malloc_usable_size of the block in `slot`.
struct UsableSize {
  uint16_t slot;
  friend bool operator==(const UsableSize&, const UsableSize&) = default;
};

// malloc_trim(0): free memory goes back to the OS; live blocks stay as they are.
struct Trim {
  friend bool operator==(const Trim&, const Trim&) = default;
};

// A pointer the C API must refuse (report and ignore), given to free, realloc or
// malloc_usable_size.
enum class BadPointerKind : uint8_t {
  kStatic,    // an object of the program, never from any allocator
  kLibc,      // a block of the C library's own malloc (another allocator)
  kInterior,  // the block in `slot` plus one byte
  kFreed,     // the block freed most recently, not reused since (hardened mode only: without
              // it, using a freed block is undefined, as with every malloc)
  kCount,
};
enum class BadPointerUse : uint8_t { kFree, kRealloc, kUsableSize, kCount };
struct BadPointer {
  BadPointerKind kind;
  BadPointerUse use;
  uint16_t slot;
  friend bool operator==(const BadPointer&, const BadPointer&) = default;
};

// Allocator::check() and the live block count of stats(), compared with the model.
struct Check {
  friend bool operator==(const Check&, const Check&) = default;
};

using Op = std::variant<Allocate, Realloc, Free, Fill, UsableSize, Trim, BadPointer, Check>;

// What a slot names. REQUIRES: live > 0.
inline size_t pick(uint64_t slot, size_t live) {
  return static_cast<size_t>(slot % live);
}

// Requests up to this many bytes are served; above it they may be out of memory (ENOMEM): the
// executor's allocator maps at most twice this at once (OsMemory::set_map_limit, as under an
// address-space limit), so that any size can be asked for without mapping gigabytes, and the
// model accepts either outcome above it.
inline constexpr uint64_t kLargestTried = uint64_t{64} << 20;

// One line, e.g. "Allocate{call=calloc, size=24, extra=3}".
std::string describe(const Op& op);

}  // namespace vmmem::scenario::shim
