// Walker: the privileged spec's address-translation algorithm over page tables in guest
// memory (Sv39 / Sv48; Bare translates to itself).
//
// For each level from the root down, the PTE at table + 8 * VPN[level] decides, in order:
//   1. not in RAM                                   -> kPteAccessFault
//   2. V = 0                                        -> kInvalidPte
//   3. R = 0 and W = 1                              -> kWriteWithoutRead
//   4. any of bits 63..54 set                       -> kReservedBits
//   5. pointer (R = W = X = 0): D, A or U set       -> kReservedBits
//                               at level 0          -> kPointerAtLastLevel
//                               otherwise descend to PPN * 4 KiB
//   6. leaf: U-mode and U = 0                       -> kSupervisorPageInUser
//            S-mode, U = 1, fetch or SUM = 0        -> kUserPageInSupervisor
//            load without R (or X with MXR)          -> kNotReadable
//            store without W / fetch without X      -> kNotWritable / kNotExecutable
//   7. superpage whose low PPN fields are not zero  -> kMisalignedSuperpage
//   8. A = 0, or a store and D = 0: Svade           -> kAccessedClear / kDirtyClear
//                                   Svadu           -> set them with a compare-and-set on the
//      PTE in guest memory; if the PTE changed meanwhile, walk again from the root.
// A non-canonical address faults (kNonCanonical) before any PTE is read. The walk reads at
// most one PTE per level, so no table layout (a PTE that points back to a table above it
// included) makes it loop: the only repetition is the Svadu retry, which needs another
// thread changing the PTE each time.
//
// Thread safety: one Walker per thread; PTE reads and updates are atomic words.
#pragma once

#include <cstdint>

#include "mem/guest_memory.h"
#include "mmu/fault.h"
#include "mmu/pte.h"
#include "mmu/pte_memory.h"
#include "mmu/translation_context.h"

namespace vmmem::mmu {

// How the walker treats a leaf whose A (or, for stores, D) bit is clear.
enum class AdPolicy : uint8_t {
  kFault,   // Svade: a page fault; software sets the bits
  kUpdate,  // Svadu: the walker sets them atomically in guest memory
};

struct WalkResult {
  Fault fault = Fault::kNone;
  uint64_t pa = 0;
  // On success, the leaf: its level (0 for 4 KiB) and its PTE after any A/D update. Bare
  // reports a level-0 leaf with R W X A D set.
  unsigned level = 0;
  uint64_t entry = 0;
};

class Walker {
 public:
  Walker(mem::GuestMemory& memory, AdPolicy policy) : ptes_(memory), policy_(policy) {}

  AdPolicy policy() const { return policy_; }

  // The spec's translation of `va` for `access` under `context`.
  WalkResult walk(const TranslationContext& context, uint64_t va, Access access);

  // A walk that writes nothing and checks no permission: the leaf mapping va, if the tables
  // hold a valid one with A already set (what a prefetcher may cache), else a fault.
  WalkResult probe(const TranslationContext& context, uint64_t va);

  // Whether `access` to a leaf with PTE `entry` passes step 6 (privilege and R/W/X) under
  // `context`; kNone or the fault.
  static Fault check_permission(const TranslationContext& context, uint64_t entry, Access access) {
    const bool user_page = (entry & pte::kUser) != 0;
    if (context.privilege == Privilege::kUser) {
      if (!user_page) return Fault::kSupervisorPageInUser;
    } else if (user_page && (access == Access::kFetch || !context.sum)) {
      return Fault::kUserPageInSupervisor;
    }
    switch (access) {
      case Access::kLoad: {
        const bool readable =
            (entry & pte::kRead) != 0 || (context.mxr && (entry & pte::kExecute) != 0);
        return readable ? Fault::kNone : Fault::kNotReadable;
      }
      case Access::kStore:
        return (entry & pte::kWrite) != 0 ? Fault::kNone : Fault::kNotWritable;
      case Access::kFetch:
        return (entry & pte::kExecute) != 0 ? Fault::kNone : Fault::kNotExecutable;
    }
    return Fault::kNone;
  }

 private:
  // Steps 1-5 and 7 for every level; kNone with the leaf in *result otherwise.
  Fault find_leaf(const TranslationContext& context, uint64_t va, Access access, bool check_perm,
                  WalkResult* result, uint64_t** leaf_at);

  PteMemory ptes_;
  AdPolicy policy_;
};

}  // namespace vmmem::mmu
