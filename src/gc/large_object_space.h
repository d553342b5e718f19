// LargeObjectSpace: objects of at least Options::large_object_bytes, one per chunk (the object
// at kLargeObjectOffset, its card table after it). They are allocated old, never move, and die
// in a major collection's sweep, which gives their chunk back to src/alloc at once.
//
// Invariants (check() verifies each):
//   1. Every chunk in chunks_ is kind kLarge, holds one object of object_size bytes (the size
//      its header gives) and a card table covering the chunk up to the object's end.
//   2. object_bytes_ is the sum of those object sizes.
#pragma once

#include <cstdint>
#include <unordered_set>
#include <vector>

#include "gc/chunk.h"
#include "gc/object.h"
#include "support/status.h"

namespace vmmem::gc {

class LargeObjectSpace {
 public:
  LargeObjectSpace(ChunkSource& source, bool zap) : source_(source), zap_(zap) {}
  ~LargeObjectSpace();
  LargeObjectSpace(const LargeObjectSpace&) = delete;
  LargeObjectSpace& operator=(const LargeObjectSpace&) = delete;

  // A zeroed object of `size` bytes with `header_word`, or null when no chunk could be had.
  Object* allocate(uint64_t size, uint64_t header_word);
  // Frees every unmarked object and clears the marks of the others; returns bytes freed.
  uint64_t sweep();
  void clear_cards();

  // The object at p when p is the start of one, else null.
  Object* object_at(const void* p) const;
  const std::vector<ChunkHeader*>& chunks() const { return chunks_; }
  uint64_t object_bytes() const { return object_bytes_; }

  Status check(const ShapeTable& shapes) const;

 private:
  static uint64_t chunk_bytes_for(uint64_t size, uint64_t* card_count);
  void release(ChunkHeader* chunk);

  ChunkSource& source_;
  bool zap_;
  std::vector<ChunkHeader*> chunks_;
  std::unordered_set<uintptr_t> chunk_set_;
  uint64_t object_bytes_ = 0;
};

}  // namespace vmmem::gc
