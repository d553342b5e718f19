#include "mmu/walker.h"

namespace vmmem::mmu {

Fault Walker::find_leaf(const TranslationContext& context, uint64_t va, Access access,
                        bool check_perm, WalkResult* result, uint64_t** leaf_at) {
  const Mode mode = context.satp.mode;
  if (!is_canonical(va, mode)) return Fault::kNonCanonical;
  uint64_t table = context.satp.root_ppn << kPageShift;
  for (unsigned level = levels(mode); level-- > 0;) {
    uint64_t* at = ptes_.locate(table + 8 * uint64_t{vpn_index(va, level)});
    if (at == nullptr) return Fault::kPteAccessFault;
    const uint64_t entry = PteMemory::load(at);
    if ((entry & pte::kValid) == 0) return Fault::kInvalidPte;
    if ((entry & pte::kRead) == 0 && (entry & pte::kWrite) != 0) return Fault::kWriteWithoutRead;
    if ((entry & pte::kReservedHigh) != 0) return Fault::kReservedBits;
    if (!pte::is_leaf(entry)) {
      if ((entry & pte::kReservedInPointer) != 0) return Fault::kReservedBits;
      if (level == 0) return Fault::kPointerAtLastLevel;
      table = pte::ppn(entry) << kPageShift;
      continue;
    }
    if (check_perm) {
      if (const Fault fault = check_permission(context, entry, access); fault != Fault::kNone) {
        return fault;
      }
    }
    const uint64_t low_ppn_mask = (uint64_t{1} << (kLevelBits * level)) - 1;
    if ((pte::ppn(entry) & low_ppn_mask) != 0) return Fault::kMisalignedSuperpage;
    const uint64_t offset_mask = page_size_at(level) - 1;
    result->pa = ((pte::ppn(entry) << kPageShift) & ~offset_mask) | (va & offset_mask);
    result->level = level;
    result->entry = entry;
    *leaf_at = at;
    return Fault::kNone;
  }
  return Fault::kPointerAtLastLevel;  // unreachable: level 0 returns above
}

WalkResult Walker::walk(const TranslationContext& context, uint64_t va, Access access) {
  // One named result, filled in place and returned in every path (the copy of a struct built
  // from narrow stores stalls store forwarding on the miss path).
  WalkResult result;
  if (context.satp.mode == Mode::kBare) {
    result.pa = va;
    result.entry =
        pte::kValid | pte::kRead | pte::kWrite | pte::kExecute | pte::kAccessed | pte::kDirty;
    return result;
  }
  const uint64_t needed = pte::kAccessed | (access == Access::kStore ? pte::kDirty : 0);
  for (;;) {
    uint64_t* leaf_at = nullptr;
    result.fault = find_leaf(context, va, access, /*check_perm=*/true, &result, &leaf_at);
    if (result.fault != Fault::kNone || (result.entry & needed) == needed) return result;
    if (policy_ == AdPolicy::kFault) {
      result.fault =
          (result.entry & pte::kAccessed) == 0 ? Fault::kAccessedClear : Fault::kDirtyClear;
      return result;
    }
    // Svadu cannot set A/D in a PTE that lies in ROM: the update is an access fault.
    if (ptes_.read_only()) {
      result.fault = Fault::kPteAccessFault;
      return result;
    }
    const uint64_t updated = result.entry | needed;
    if (ptes_.compare_and_set(leaf_at, result.entry, updated)) {
      result.entry = updated;
      return result;
    }
    // Another hart changed the PTE between our read and the update: start over.
  }
}

WalkResult Walker::probe(const TranslationContext& context, uint64_t va) {
  if (context.satp.mode == Mode::kBare) return walk(context, va, Access::kLoad);
  WalkResult result;
  uint64_t* leaf_at = nullptr;
  result.fault = find_leaf(context, va, Access::kLoad, /*check_perm=*/false, &result, &leaf_at);
  if (result.fault == Fault::kNone && (result.entry & pte::kAccessed) == 0) {
    result.fault = Fault::kAccessedClear;
  }
  return result;
}

}  // namespace vmmem::mmu
