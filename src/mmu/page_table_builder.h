// PageTableBuilder: maps, unmaps and re-protects pages of one address space (one root table)
// by writing PTEs into guest memory in the spec's format, taking table pages from a
// FrameAllocator. It is how software (a guest kernel, a test, the scenario executor) builds
// tables; the walker never depends on it, and raw PTEs written any other way are equally
// valid input to the walker.
//
// Thread safety: one writer at a time per address space; PTE stores are atomic words, so
// walkers on other threads see each PTE either before or after.
//
// Invariants of the tables it writes (walker-visible; tests check them through the walker):
//   1. A leaf it writes has V=1, R or X set, never W without R, and exactly the flag bits
//      asked for; pointer PTEs it writes have V=1 and nothing else but the PPN.
//   2. No table it leaves behind an unmap is empty: unmap clears the leaf, then, from the leaf's
//      table upwards, frees every table that is now all zeros and is one of the allocator's
//      frames in use (never the root), clearing the pointer to it. Tables that are not the
//      allocator's (raw PTEs may point anywhere) or not all zeros stay.
//
// Flushing after unmap: the TLB caches leaves only, and a freed table held nothing but the
// leaf just cleared, so the address flush (sfence.vma va[, asid]) the leaf needs is all the
// Mmu needs. (Hardware that caches non-leaf PTEs needs sfence.vma with rs1 = x0, as the spec
// says for any non-leaf change; unmap reports the tables it freed so such a caller can tell.)
//
// Errors, decided in this order (the reference model follows it):
//   map:     size not a page size of the mode, flags not a valid
//            leaf (R or X set, not W without R, no V bit), va not canonical, va or pa not
//            aligned to size, or pa + size past 2^56 -> kInvalidArgument; then walking down:
//            a table address not in RAM -> kUnmapped; a leaf above the target level or any
//            valid PTE at it -> kConflict; more tables needed than frames left -> kOutOfMemory.
//            A failed map writes nothing.
//   unmap, protect, find_leaf: protect's flags invalid or va not
//            canonical -> kInvalidArgument; a table not in RAM -> kUnmapped; an invalid PTE
//            or a pointer at level 0 on the way -> kNotFound.
//   pte_address(va, level): as find_leaf, but stops at `level` (level >= levels or va not
//            canonical -> kInvalidArgument); a leaf above `level` -> kNotFound.
#pragma once

#include <cstdint>

#include "mem/guest_memory.h"
#include "mmu/frame_allocator.h"
#include "mmu/pte.h"
#include "mmu/pte_memory.h"
#include "support/status.h"

namespace vmmem::mmu {

struct LeafLocation {
  uint64_t pte_address;
  unsigned level;
  uint64_t entry;
};

class PageTableBuilder {
 public:
  // Tables whose root is the zeroed (or already built) table at `root`, with new tables from
  // `frames`. REQUIRES: mode is Sv39 or Sv48; root is 4 KiB aligned; memory and frames
  // outlive the builder.
  PageTableBuilder(mem::GuestMemory& memory, FrameAllocator& frames, Mode mode, uint64_t root);

  Mode mode() const { return mode_; }
  uint64_t root() const { return root_; }
  uint64_t root_ppn() const { return root_ >> kPageShift; }

  // Maps [va, va + size) to [pa, pa + size) with `flags` (R W X U G A D; V is implied).
  Status map(uint64_t va, uint64_t pa, uint64_t size, uint8_t flags);
  // map's checks up to kOutOfMemory, writing nothing: the number of tables it would add.
  // (Mapping a global page into several address spaces at once checks them all first.)
  Result<unsigned> plan_map(uint64_t va, uint64_t pa, uint64_t size, uint8_t flags);
  // Clears the leaf that maps va (of whatever size) and frees the tables it leaves empty
  // (invariant 2); the number of tables freed.
  Result<unsigned> unmap(uint64_t va);
  // Replaces R W X U A D of the leaf that maps va with those of `flags`; G is kept as it is.
  Status protect(uint64_t va, uint8_t flags);
  Result<LeafLocation> find_leaf(uint64_t va);
  // Address of the level-`level` PTE on va's walk (for tests and fault injection).
  Result<uint64_t> pte_address(uint64_t va, unsigned level);

  // Whether flags form a leaf map/protect accept.
  static bool valid_leaf_flags(uint8_t flags);

 private:
  bool table_is_empty(uint64_t table);
  PteMemory ptes_;
  FrameAllocator* frames_;
  Mode mode_;
  uint64_t root_;
};

}  // namespace vmmem::mmu
