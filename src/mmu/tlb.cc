#include "mmu/tlb.h"

#include <bit>
#include <set>

#include "mmu/walker.h"
#include "support/check.h"

namespace vmmem::mmu {

Tlb::Tlb(const TlbConfig& config)
    : config_(config),
      mask_(config.main_entries - 1),
      slot_mask_(mask_ * sizeof(TlbEntry)),
      victim_(config.victim_entries) {
  VMM_CHECK(std::has_single_bit(config.main_entries) && config.main_entries <= kMaxMainEntries,
            "TLB size must be a power of two, at most kMaxMainEntries");
  derive_allowed();
}

void Tlb::derive_allowed() {
  for (unsigned flags = 0; flags < allowed_.size(); ++flags) {
    uint8_t allowed = 0;
    for (unsigned a = 0; a < kAccessKinds; ++a) {
      const auto access = static_cast<Access>(a);
      const unsigned needed = pte::kAccessed | (access == Access::kStore ? pte::kDirty : 0);
      const bool permitted = context_.satp.mode == Mode::kBare ||
                             Walker::check_permission(context_, flags, access) == Fault::kNone;
      if ((flags & needed) == needed && permitted) allowed |= static_cast<uint8_t>(1u << a);
    }
    allowed_[flags] = allowed;
  }
}

// The definition (invariant 2), written out; refresh() computes the same words from allowed_,
// and check() compares the two.
uint64_t Tlb::compare_word(const TlbEntry& entry, Access access) const {
  if (entry.empty()) return TlbEntry::kDenied;
  uint64_t word = entry.page;
  if (!entry.global() && entry.asid != context_.satp.asid) word |= TlbEntry::kDenied;
  const uint64_t needed = pte::kAccessed | (access == Access::kStore ? pte::kDirty : 0);
  if ((entry.flags & needed) != needed) word |= TlbEntry::kDenied;
  if (context_.satp.mode != Mode::kBare &&
      Walker::check_permission(context_, entry.flags, access) != Fault::kNone) {
    word |= TlbEntry::kDenied;
  }
  if (!entry.ram || (access == Access::kStore && (entry.tracked || entry.read_only)))
    word |= TlbEntry::kViaMemory;
  if (entry.prefetched) word |= TlbEntry::kPrefetched;
  return word;
}

void Tlb::refresh(TlbEntry& entry) const {
  if (entry.empty()) {
    entry.compare = {TlbEntry::kDenied, TlbEntry::kDenied, TlbEntry::kDenied};
    return;
  }
  // compare_word() for the three accesses, sharing what they have in common (the miss path
  // runs this on every fill).
  uint64_t common = entry.page;
  if (!entry.global() && entry.asid != context_.satp.asid) common |= TlbEntry::kDenied;
  if (!entry.ram) common |= TlbEntry::kViaMemory;
  if (entry.prefetched) common |= TlbEntry::kPrefetched;
  const unsigned allowed = allowed_[entry.flags];
  auto denied = [allowed](Access access) {
    return (allowed & (1u << static_cast<unsigned>(access))) == 0 ? TlbEntry::kDenied : 0;
  };
  entry.compare[0] = common | denied(Access::kLoad);
  entry.compare[1] = common | denied(Access::kStore) |
                     (entry.tracked || entry.read_only ? TlbEntry::kViaMemory : 0);
  entry.compare[2] = common | denied(Access::kFetch);
}

void Tlb::mark_used(TlbEntry& entry) {
  entry.prefetched = false;
  refresh(entry);
  ++counters_.prefetch_hits;
}

void Tlb::clear(TlbEntry& entry) {
  entry = TlbEntry{};
}

void Tlb::set_context(const TranslationContext& context) {
  const bool mode_changed = context.satp.mode != context_.satp.mode;
  context_ = context;
  derive_allowed();
  if (mode_changed) {
    flush_all();
    return;
  }
  for (TlbEntry& entry : main())
    refresh(entry);
  for (TlbEntry& entry : victim_)
    refresh(entry);
}

TlbEntry* Tlb::promote_victim(uint64_t page) {
  for (TlbEntry& candidate : victim_) {
    if (candidate.page != page) continue;
    TlbEntry& home = slot(page);
    std::swap(home, candidate);
    ++counters_.victim_hits;
    return &home;
  }
  return nullptr;
}

TlbEntry& Tlb::claim(uint64_t page, bool may_be_in_victim) {
  // The page may still sit in the victim table (filled, displaced, then prefetched again).
  if (may_be_in_victim) {
    for (TlbEntry& old : victim_) {
      if (old.page == page) clear(old);
    }
  }
  TlbEntry& home = slot(page);
  if (!home.empty() && home.page != page) {
    if (victim_.empty()) {
      ++counters_.evictions;
    } else {
      TlbEntry& spill = victim_[victim_next_];
      if (++victim_next_ == victim_.size()) victim_next_ = 0;
      if (!spill.empty()) ++counters_.evictions;
      spill = home;
    }
  }
  clear(home);
  home.page = page;
  return home;
}

void Tlb::commit(TlbEntry& entry) {
  if (entry.level > 0) {
    ++superpage_count_;
    superpage_low_ = std::min(superpage_low_, entry.leaf_base);
    superpage_high_ = std::max(superpage_high_, entry.leaf_base + (page_size_at(entry.level) - 1));
  }
  refresh(entry);
}

void Tlb::flush_all() {
  for (TlbEntry& entry : main())
    clear(entry);
  for (TlbEntry& entry : victim_)
    clear(entry);
  superpage_count_ = 0;
  superpage_low_ = ~uint64_t{0};
  superpage_high_ = 0;
  ++counters_.flushes[static_cast<unsigned>(FlushKind::kAll)];
}

void Tlb::flush_asid(uint16_t asid) {
  auto flush = [&](TlbEntry& entry) {
    if (!entry.empty() && !entry.global() && entry.asid == asid) clear(entry);
  };
  for (TlbEntry& entry : main())
    flush(entry);
  for (TlbEntry& entry : victim_)
    flush(entry);
  ++counters_.flushes[static_cast<unsigned>(FlushKind::kAsid)];
}

template <class Matches>
void Tlb::flush_covering(uint64_t va, Matches matches) {
  const uint64_t page = va & ~(kPageSize - 1);
  if (TlbEntry& home = slot(page); home.page == page && matches(home)) clear(home);
  for (TlbEntry& entry : victim_) {
    if (!entry.empty() && entry.covers(va) && matches(entry)) clear(entry);
  }
  // Entries of a superpage leaf serve other 4 KiB pages too; look for them only when va lies
  // where superpages have been cached.
  if (superpage_count_ == 0 || va < superpage_low_ || va > superpage_high_) return;
  ++counters_.superpage_scans;
  for (TlbEntry& entry : main()) {
    if (!entry.empty() && entry.level > 0 && entry.covers(va) && matches(entry)) clear(entry);
  }
}

void Tlb::flush_address(uint64_t va) {
  flush_covering(va, [](const TlbEntry&) { return true; });
  ++counters_.flushes[static_cast<unsigned>(FlushKind::kAddress)];
}

void Tlb::flush_address_asid(uint64_t va, uint16_t asid) {
  flush_covering(va, [asid](const TlbEntry& e) { return !e.global() && e.asid == asid; });
  ++counters_.flushes[static_cast<unsigned>(FlushKind::kAddressAsid)];
}

void Tlb::flush_range(uint64_t va, uint64_t length, std::optional<uint16_t> asid) {
  ++counters_.flushes[static_cast<unsigned>(asid ? FlushKind::kRangeAsid : FlushKind::kRange)];
  if (length == 0) return;
  const uint64_t first = va & ~(kPageSize - 1);
  const uint64_t last = va + (length - 1) < va ? ~uint64_t{0} : va + (length - 1);
  const uint64_t pages = ((last - first) >> kPageShift) + 1;
  if (pages == 0 || pages > config_.range_flush_limit) {
    ++counters_.range_fallbacks;
    if (asid) {
      flush_asid(*asid);
    } else {
      flush_all();
    }
    return;
  }
  for (uint64_t i = 0; i < pages; ++i) {
    const uint64_t at = first + (i << kPageShift);
    if (asid) {
      flush_covering(at, [a = *asid](const TlbEntry& e) { return !e.global() && e.asid == a; });
    } else {
      flush_covering(at, [](const TlbEntry&) { return true; });
    }
  }
}

Status Tlb::check() const {
  std::set<uint64_t> pages;
  auto check_entry = [&](const TlbEntry& entry) -> Status {
    for (unsigned a = 0; a < kAccessKinds; ++a) {
      if (entry.compare[a] != compare_word(entry, static_cast<Access>(a))) {
        return Status::error(ErrorCode::kBrokenInvariant, "tlb: stale compare word", entry.page, a);
      }
    }
    if (entry.empty()) return kOkStatus;
    if (!pages.insert(entry.page).second) {
      return Status::error(ErrorCode::kBrokenInvariant, "tlb: page cached twice", entry.page);
    }
    if (!entry.covers(entry.page) || entry.level >= kMaxLevels) {
      return Status::error(ErrorCode::kBrokenInvariant, "tlb: page outside its leaf", entry.page,
                           entry.level);
    }
    if (entry.level > 0 && (entry.leaf_base < superpage_low_ ||
                            entry.leaf_base + (page_size_at(entry.level) - 1) > superpage_high_)) {
      return Status::error(ErrorCode::kBrokenInvariant, "tlb: superpage outside its bounds",
                           entry.leaf_base, entry.level);
    }
    return kOkStatus;
  };
  for (size_t i = 0; i < config_.main_entries; ++i) {
    const TlbEntry& entry = main_[i];
    if (!entry.empty() && ((entry.page >> kPageShift) & mask_) != i) {
      return Status::error(ErrorCode::kBrokenInvariant, "tlb: entry in the wrong slot", entry.page,
                           i);
    }
    if (Status s = check_entry(entry); !s.ok()) return s;
  }
  for (const TlbEntry& entry : victim_) {
    if (Status s = check_entry(entry); !s.ok()) return s;
  }
  return kOkStatus;
}

}  // namespace vmmem::mmu
