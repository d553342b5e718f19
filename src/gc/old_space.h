// OldSpace: the old generation's small objects — cells of size classes (size_classes.h) in
// chunks from ChunkSource. Objects arrive only by promotion during a minor collection and never
// move; a major collection's sweep frees the unmarked ones.
//
// A cell is free when its header word is 0 (shape kNoShape); a free cell's second word links it
// into free_[class]. Free cells are poisoned past those two words under ASan (and zapped with
// the poison option). Empty chunks left by a sweep stay in reserve_ for reuse (up to a bound),
// which also guarantees promotion room: reserve_for(bytes) is called before a minor collection
// starts so that allocate() cannot fail in the middle of one.
//
// Invariants (check() verifies each):
//   1. Every chunk in chunks_ is kind kSmall; its cells are either free (on free_[class], exactly
//      once) or hold an object whose size class is the chunk's class; live_cells counts the
//      latter.
//   2. object_bytes_ is the sum of the sizes of the objects in the cells.
//   3. Chunks in reserve_ are carved for no class and hold no object.
#pragma once

#include <cstdint>
#include <unordered_set>
#include <vector>

#include "gc/chunk.h"
#include "gc/object.h"
#include "gc/size_classes.h"
#include "support/status.h"

namespace vmmem::gc {

class OldSpace {
 public:
  OldSpace(ChunkSource& source, bool zap);
  ~OldSpace();
  OldSpace(const OldSpace&) = delete;
  OldSpace& operator=(const OldSpace&) = delete;

  // Makes sure that `bytes` of objects of any sizes up to `max_object` can be allocated
  // without asking the chunk source; false when it refused.
  bool reserve_for(uint64_t bytes, uint64_t max_object);
  // A cell for an object of `size` bytes (<= kMaxCellSize), header not written; null when no
  // chunk could be had.
  std::byte* allocate(uint64_t size);
  void note_object(uint64_t size) { object_bytes_ += size; }

  // Frees every unmarked object and clears the marks of the others; returns bytes freed.
  uint64_t sweep(const ShapeTable& shapes);
  void clear_cards();

  bool owns_chunk(uintptr_t chunk) const { return chunk_set_.count(chunk) != 0; }
  // The object at p when p is the start of an occupied cell of this space, else null.
  Object* object_at(const void* p) const;
  const std::vector<ChunkHeader*>& chunks() const { return chunks_; }
  uint64_t object_bytes() const { return object_bytes_; }

  Status check(const ShapeTable& shapes) const;

 private:
  struct FreeCell {
    uint64_t header;  // 0
    FreeCell* next;
  };
  ChunkHeader* new_chunk();
  void carve(ChunkHeader* chunk, uint32_t cls);
  void free_cell(std::byte* cell, uint32_t cell_size);
  void release(ChunkHeader* chunk);

  ChunkSource& source_;
  bool zap_;
  std::vector<ChunkHeader*> chunks_;         // carved, in use
  std::vector<ChunkHeader*> reserve_;        // empty, not carved
  std::unordered_set<uintptr_t> chunk_set_;  // chunks_ by base
  FreeCell* free_[kCellClasses] = {};
  uint64_t free_cells_[kCellClasses] = {};
  uint64_t object_bytes_ = 0;
};

}  // namespace vmmem::gc
