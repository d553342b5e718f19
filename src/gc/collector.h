// Collector: the plan that drives the spaces. A minor collection evacuates the young generation
// (roots and dirty cards first, then Cheney order through to-space and a stack of promoted
// objects); a major collection evacuates everything young into the old generation, marks from
// the roots with an explicit MarkStack, and sweeps the old generation and the large objects.
//
// The collector only moves and frees; timing, statistics, the pacer and debug verification are
// the Heap's (heap.cc).
#pragma once

#include <cstdint>
#include <vector>

#include "gc/mark_stack.h"
#include "gc/object.h"
#include "support/status.h"

namespace vmmem::gc {

class Heap;
struct ChunkHeader;
struct CollectionStats;

class Collector {
 public:
  explicit Collector(Heap& heap) : heap_(heap) {}

  // Evacuates the nursery and from-survivor space; with promote_all every survivor goes to
  // the old generation. kOutOfMemory, with nothing changed, when the old generation cannot
  // reserve room for the worst case.
  Status evacuate(bool promote_all, CollectionStats* stats);
  // Marks from the roots and sweeps. REQUIRES: the young generation is empty (evacuate(true)).
  void mark_and_sweep(CollectionStats* stats);

 private:
  bool in_from_space(const Object* p) const;
  Object* forward(Object* p) {
    if (!in_from_space(p)) return p;
    const uint64_t word = p->header_word();
    if (word & header::kForwarded) return reinterpret_cast<Object*>(word & ~header::kForwarded);
    return copy(p, word);
  }
  Object* copy(Object* p, uint64_t word);
  void scan_card(ChunkHeader* chunk, uint64_t card);
  void scan_cards(ChunkHeader* chunk);
  // Updates the slots of an object in the old generation; dirties the cards of those that stay
  // young.
  void scan_old_slots(Object* object, uint64_t first, uint64_t end);

  Heap& heap_;
  bool promote_all_ = false;
  uint32_t promotion_age_ = 1;
  uint64_t survived_ = 0;
  uint64_t promoted_ = 0;
  uint64_t cards_scanned_ = 0;
  std::vector<Object*> promoted_objects_;  // promoted, slots not yet scanned
  MarkStack mark_stack_;
};

}  // namespace vmmem::gc
