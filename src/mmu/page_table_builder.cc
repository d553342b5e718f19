#include "mmu/page_table_builder.h"

#include <array>

namespace vmmem::mmu {
namespace {

constexpr uint8_t kPermissionFlags = pte::kRead | pte::kWrite | pte::kExecute | pte::kUser |
                                     pte::kGlobal | pte::kAccessed | pte::kDirty;

bool is_valid(uint64_t entry) {
  return (entry & pte::kValid) != 0;
}

}  // namespace

bool PageTableBuilder::valid_leaf_flags(uint8_t flags) {
  if ((flags & ~kPermissionFlags) != 0) return false;
  if ((flags & (pte::kRead | pte::kExecute)) == 0) return false;
  return !((flags & pte::kWrite) != 0 && (flags & pte::kRead) == 0);
}

PageTableBuilder::PageTableBuilder(mem::GuestMemory& memory, FrameAllocator& frames, Mode mode,
                                   uint64_t root)
    : ptes_(memory), frames_(&frames), mode_(mode), root_(root) {
  VMM_CHECK(mode != Mode::kBare && root % kPageSize == 0,
            "page tables need Sv39/Sv48 and an aligned root");
}

Status PageTableBuilder::map(uint64_t va, uint64_t pa, uint64_t size, uint8_t flags) {
  const Result<unsigned> missing = plan_map(va, pa, size, flags);
  if (!missing.ok()) return missing.status();
  if (missing.value() > frames_->available()) {
    return Status::error(ErrorCode::kOutOfMemory, "map: no frames for page tables", va, size);
  }
  unsigned target = 0;
  while (page_size_at(target) != size)
    ++target;
  uint64_t table = root_;
  for (unsigned level = levels(mode_) - 1; level != target; --level) {
    uint64_t* at = ptes_.locate(table + 8 * vpn_index(va, level));
    uint64_t entry = PteMemory::load(at);
    if (!is_valid(entry)) {
      const uint64_t frame = frames_->allocate().value();
      entry = pte::make(frame >> kPageShift, pte::kValid);
      ptes_.store(at, entry);
    }
    table = pte::ppn(entry) << kPageShift;
  }
  ptes_.store(ptes_.locate(table + 8 * vpn_index(va, target)),
              pte::make(pa >> kPageShift, pte::kValid | flags));
  return kOkStatus;
}

Result<unsigned> PageTableBuilder::plan_map(uint64_t va, uint64_t pa, uint64_t size,
                                            uint8_t flags) {
  unsigned target = 0;
  while (target < levels(mode_) && page_size_at(target) != size)
    ++target;
  if (target == levels(mode_) || !valid_leaf_flags(flags) || !is_canonical(va, mode_) ||
      va % size != 0 || pa % size != 0 || pa >= kPhysicalAddressLimit ||
      kPhysicalAddressLimit - pa < size) {
    return Status::error(ErrorCode::kInvalidArgument, "map: bad size, flags or alignment", va,
                         size);
  }
  uint64_t table = root_;
  unsigned level = levels(mode_) - 1;
  unsigned missing = 0;
  for (;; --level) {
    uint64_t* at = ptes_.locate(table + 8 * vpn_index(va, level));
    if (at == nullptr) return Status::error(ErrorCode::kUnmapped, "map: table not in RAM", table);
    const uint64_t entry = PteMemory::load(at);
    if (level == target) {
      if (is_valid(entry)) return Status::error(ErrorCode::kConflict, "map: already mapped", va);
      break;
    }
    if (!is_valid(entry)) {
      missing = level - target;
      break;
    }
    if (pte::is_leaf(entry)) {
      return Status::error(ErrorCode::kConflict, "map: inside a larger page", va, size);
    }
    table = pte::ppn(entry) << kPageShift;
  }
  return missing;
}

Result<LeafLocation> PageTableBuilder::find_leaf(uint64_t va) {
  if (!is_canonical(va, mode_)) {
    return Status::error(ErrorCode::kInvalidArgument, "va not canonical", va);
  }
  uint64_t table = root_;
  for (unsigned level = levels(mode_); level-- > 0;) {
    const uint64_t address = table + 8 * vpn_index(va, level);
    uint64_t* at = ptes_.locate(address);
    if (at == nullptr) return Status::error(ErrorCode::kUnmapped, "table not in RAM", table);
    const uint64_t entry = PteMemory::load(at);
    if (!is_valid(entry)) break;
    if (pte::is_leaf(entry)) return LeafLocation{address, level, entry};
    table = pte::ppn(entry) << kPageShift;
  }
  return Status::error(ErrorCode::kNotFound, "no leaf maps the address", va);
}

Result<unsigned> PageTableBuilder::unmap(uint64_t va) {
  Result<LeafLocation> leaf = find_leaf(va);
  if (!leaf.ok()) return leaf.status();
  ptes_.store(ptes_.locate(leaf.value().pte_address), 0);
  // The tables on va's walk, root first (find_leaf just read every one of them).
  std::array<uint64_t, kMaxLevels> tables{};
  uint64_t table = root_;
  for (unsigned level = levels(mode_) - 1;; --level) {
    tables[level] = table;
    if (level == leaf.value().level) break;
    table = pte::ppn(PteMemory::load(ptes_.locate(table + 8 * vpn_index(va, level)))) << kPageShift;
  }
  unsigned freed = 0;
  for (unsigned level = leaf.value().level; level + 1 < levels(mode_); ++level) {
    const uint64_t empty = tables[level];
    if (!frames_->in_use(empty) || !table_is_empty(empty)) break;
    ptes_.store(ptes_.locate(tables[level + 1] + 8 * vpn_index(va, level + 1)), 0);
    frames_->free(empty);
    ++freed;
  }
  return freed;
}

bool PageTableBuilder::table_is_empty(uint64_t table) {
  for (uint64_t i = 0; i < kPageSize / 8; ++i) {
    if (PteMemory::load(ptes_.locate(table + 8 * i)) != 0) return false;
  }
  return true;
}

Status PageTableBuilder::protect(uint64_t va, uint8_t flags) {
  if (!valid_leaf_flags(flags)) {
    return Status::error(ErrorCode::kInvalidArgument, "protect: flags not a valid leaf", va);
  }
  Result<LeafLocation> leaf = find_leaf(va);
  if (!leaf.ok()) return leaf.status();
  const uint64_t old = leaf.value().entry;
  const uint64_t kept = old & (~pte::kFlagBits | pte::kGlobal);
  const uint64_t changed = (flags & ~pte::kGlobal) | pte::kValid;
  ptes_.store(ptes_.locate(leaf.value().pte_address), kept | changed);
  return kOkStatus;
}

Result<uint64_t> PageTableBuilder::pte_address(uint64_t va, unsigned level) {
  if (level >= levels(mode_) || !is_canonical(va, mode_)) {
    return Status::error(ErrorCode::kInvalidArgument, "pte_address: bad level or va", va, level);
  }
  uint64_t table = root_;
  for (unsigned at_level = levels(mode_) - 1;; --at_level) {
    const uint64_t address = table + 8 * vpn_index(va, at_level);
    if (at_level == level) return address;
    uint64_t* at = ptes_.locate(address);
    if (at == nullptr) return Status::error(ErrorCode::kUnmapped, "table not in RAM", table);
    const uint64_t entry = PteMemory::load(at);
    if (!is_valid(entry) || pte::is_leaf(entry)) {
      return Status::error(ErrorCode::kNotFound, "no table at that level", va, level);
    }
    table = pte::ppn(entry) << kPageShift;
  }
}

}  // namespace vmmem::mmu
