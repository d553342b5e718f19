// Chunk: the unit of memory the old generation and the large-object space take from src/alloc
// (layout in card_table.h), and ChunkSource, the one place that asks the allocator for it.
//
// Invariants (checked by the spaces' check() and the verifier):
//   1. A chunk is aligned to kChunkBytes; header.cards points at its card table of card_count
//      bytes, each kCardClean or kCardDirty.
//   2. A small chunk has kind kSmall, bytes == kChunkBytes, cell_size of its size class and
//      cell_count cells from first_cell; a large chunk has kind kLarge and one object at
//      kLargeObjectOffset of object_size bytes.
//   3. ChunkSource::bytes() is the sum of the `bytes` of the chunks it handed out and has not
//      taken back.
#pragma once

#include <cstddef>
#include <cstdint>

#include "alloc/allocator.h"
#include "gc/card_table.h"

namespace vmmem::gc {

enum class ChunkKind : uint8_t { kSmall = 1, kLarge = 2 };

struct ChunkHeader {
  uint8_t* cards;  // first word: the barrier reads it (card_table.h)
  uint64_t bytes;  // whole chunk
  uint64_t card_count;
  ChunkKind kind;
  uint8_t size_class;    // small
  uint32_t cell_size;    // small
  uint32_t cell_count;   // small
  uint32_t first_cell;   // small: offset of cell 0
  uint32_t live_cells;   // small: cells holding objects
  uint64_t object_size;  // large
  uint64_t padding_;

  uintptr_t base() const { return reinterpret_cast<uintptr_t>(this); }
  std::byte* cell(uint32_t index) {
    return reinterpret_cast<std::byte*>(base() + first_cell + uint64_t{index} * cell_size);
  }
  std::byte* large_object() { return reinterpret_cast<std::byte*>(base() + kLargeObjectOffset); }
  static ChunkHeader* of(const void* object) {
    return reinterpret_cast<ChunkHeader*>(chunk_base_of(object));
  }
};
static_assert(sizeof(ChunkHeader) <= kCardsOffset);
static_assert(sizeof(ChunkHeader) <= kLargeObjectOffset);

class ChunkSource {
 public:
  ChunkSource();
  ChunkSource(const ChunkSource&) = delete;
  ChunkSource& operator=(const ChunkSource&) = delete;

  // `bytes` (a multiple of 16) aligned to kChunkBytes (zeroed when asked), or null when the
  // allocator (or the test hook) refused.
  void* take(uint64_t bytes, bool zeroed = false);
  void give_back(void* chunk, uint64_t bytes);
  void fail_next(uint32_t count) { fail_next_ = count; }
  uint64_t bytes() const { return bytes_; }

 private:
  alloc::Allocator allocator_;
  uint64_t bytes_ = 0;
  uint32_t fail_next_ = 0;
};

}  // namespace vmmem::gc
