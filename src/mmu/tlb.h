// Tlb: one virtual CPU's translation cache. A direct-mapped main table indexed by the 4 KiB
// virtual page number, plus a small fully associative victim table that catches what the
// main table displaces.
//
// Every entry serves one 4 KiB virtual page (`page`), even when it caches a superpage leaf: a
// 2 MiB leaf fills one entry per 4 KiB page touched, each remembering the leaf's base and
// level, so flushing one 4 KiB page of a superpage removes exactly the entries of that leaf
// and nothing else. Each entry keeps three compare words, one per access type. A compare word
// is the entry's page address when that access may complete from the entry under the current
// context, so a hit is one compare of the word with the page of the access; flags in the low
// bits, which a page address never has, send the access to the slow path. The flags start at
// bit 3 so that bits 0-2 stay free for the access path's alignment check (Mmu::fast_host):
//   kDenied:     this access would not pass (privilege, R/W/X, A, or D for a store), or the
//                entry belongs to another ASID, or is empty — the slow path walks and faults
//                precisely;
//   kViaMemory:  loads and stores must go through GuestMemory, not the host address: the
//                physical page is not RAM (MMIO or nothing), or, for the store word only, its
//                region has dirty tracking on (GuestMemory's write marks the page; a store
//                through the host address would not). Translations may still hit;
//   kPrefetched: filled by the prefetcher and not used yet; the first use counts a prefetch
//                hit and clears the flag.
//
// Thread safety: owned by one thread (the vCPU); other threads reach it only through the
// Mmu's shootdown mailbox.
//
// Invariants (check() verifies them):
//   1. A main-table entry with a page sits in slot (page >> 12) & (size - 1); an empty entry
//      has page == kNoPage and all compare words kDenied.
//   2. Every compare word equals compare_word(entry, context, access) for the context last
//      given to set_context: the entry's page, plus kDenied/kViaMemory/kPrefetched as above.
//   3. No page appears twice in the TLB (main and victim tables together).
//   4. An entry's page lies inside its leaf [leaf_base, leaf_base + page_size_at(level)).
//   5. superpage_low_ <= superpage_high_ bound every cached superpage leaf, when any is cached.
#pragma once

#include <array>
#include <bit>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <vector>

#include "mmu/fault.h"
#include "mmu/pte.h"
#include "mmu/translation_context.h"
#include "support/status.h"

namespace vmmem::mmu {

// The main table lives inside the Tlb (no pointer to load on the hit path), sized for the
// largest configuration.
inline constexpr unsigned kMaxMainEntries = 256;

struct TlbConfig {
  unsigned main_entries = 256;  // a power of two, at most kMaxMainEntries
  unsigned victim_entries = 8;
  // A range flush of more pages than this flushes the whole TLB (or the whole ASID) instead.
  uint64_t range_flush_limit = 32;
};

// sfence.vma's four forms (rs1 = va or x0, rs2 = asid or x0) and the range extension.
enum class FlushKind : uint8_t { kAll, kAsid, kAddress, kAddressAsid, kRange, kRangeAsid };
inline constexpr unsigned kFlushKinds = 6;

struct TlbCounters {
  uint64_t hits = 0;             // fast-path hits
  uint64_t misses = 0;           // walks started by a translation
  uint64_t victim_hits = 0;      // misses in the main table found in the victim table
  uint64_t prefetch_hits = 0;    // first uses of a prefetched entry
  uint64_t prefetches = 0;       // entries the prefetcher filled
  uint64_t evictions = 0;        // valid entries dropped from the victim table to make room
  uint64_t superpage_scans = 0;  // address flushes that had to look for superpage entries
  uint64_t range_fallbacks = 0;  // range flushes that flushed everything instead
  std::array<uint64_t, kFlushKinds> flushes{};
};

struct TlbEntry {
  static constexpr uint64_t kDenied = 8;
  static constexpr uint64_t kViaMemory = 16;
  static constexpr uint64_t kPrefetched = 32;
  static constexpr uint64_t kFlagMask = kDenied | kViaMemory | kPrefetched;
  // Bits of a compare word that no flag uses: the misalignment of an access of up to 8 bytes.
  static constexpr uint64_t kAlignmentBits = 7;
  static_assert((kFlagMask & kAlignmentBits) == 0 && kFlagMask < 4096);
  static constexpr uint64_t kNoPage = ~uint64_t{0};

  std::array<uint64_t, kAccessKinds> compare{kDenied, kDenied, kDenied};
  uint64_t pa_offset = 0;     // pa = va + pa_offset (mod 2^64)
  uintptr_t host_offset = 0;  // host address = va + host_offset, when the page is RAM
  uint64_t page = kNoPage;    // the 4 KiB virtual page this entry serves
  uint64_t leaf_base = 0;     // virtual address of the leaf page's first byte
  uint8_t level = 0;
  uint8_t flags = 0;  // the leaf PTE's V R W X U G A D
  uint16_t asid = 0;
  bool ram = false;
  bool tracked = false;    // RAM whose region had dirty tracking on at the fill
  bool read_only = false;  // ROM: stores go through guest memory, which refuses them
  bool prefetched = false;

  bool empty() const { return page == kNoPage; }
  bool global() const { return (flags & pte::kGlobal) != 0; }
  bool covers(uint64_t va) const { return va - leaf_base < page_size_at(level); }
};
static_assert(sizeof(TlbEntry) == 64 && alignof(TlbEntry) <= 64,
              "a TLB entry is one cache line; Tlb::slot() computes its offset with one mask");

class Tlb {
 public:
  explicit Tlb(const TlbConfig& config = {});

  const TlbConfig& config() const { return config_; }
  // The main-table slot of va: the page number times the entry size, as one shift and one
  // mask (entries are one cache line each).
  TlbEntry& slot(uint64_t va) { return *at_offset(slot_offset(va)); }
  const TlbEntry& slot(uint64_t va) const {
    return *const_cast<Tlb*>(this)->at_offset(slot_offset(va));
  }
  // The byte offset of va's slot from the first entry of the main table (or of any table laid
  // out like it: the Mmu's fast path applies it to the table the shootdown mailbox names).
  uint64_t slot_offset(uint64_t va) const { return (va >> kSlotShift) & slot_mask_; }
  const TlbEntry* main_table() const { return main_.data(); }
  TlbCounters& counters() { return counters_; }
  const TlbCounters& counters() const { return counters_; }

  // Re-derives every compare word for a new context (ASID, privilege, SUM, MXR). A change of
  // translation mode flushes everything: Bare entries mean nothing under Sv39 and back.
  void set_context(const TranslationContext& context);
  const TranslationContext& context() const { return context_; }

  // Moves the victim entry serving `page` into its main slot (the main entry goes to the
  // victim table in its place); the main slot, or null when the victim table lacks the page.
  TlbEntry* promote_victim(uint64_t page);
  // Filling an entry in place (no copy of a whole entry on the miss path): claim() empties
  // the page's main slot, moving a valid occupant to the victim table, and returns it with
  // `page` set; the caller fills the other fields; commit() derives the compare words and
  // records superpage bounds. REQUIRES: may_be_in_victim, unless the caller knows the victim
  // table lacks the page (it just looked); nothing else touches the TLB between the two.
  TlbEntry& claim(uint64_t page, bool may_be_in_victim);
  void commit(TlbEntry& entry);

  void flush_all();
  void flush_asid(uint16_t asid);                       // non-global entries of asid
  void flush_address(uint64_t va);                      // every entry whose leaf covers va
  void flush_address_asid(uint64_t va, uint16_t asid);  // non-global ones of asid
  // Entries whose leaf overlaps [va, va + length) (of `asid` only, globals kept, when given).
  void flush_range(uint64_t va, uint64_t length, std::optional<uint16_t> asid);

  // Clears an entry's prefetched mark on its first use, counting a prefetch hit.
  void mark_used(TlbEntry& entry);

  uint64_t compare_word(const TlbEntry& entry, Access access) const;

  template <class F>
  void for_each_entry(F f) const {
    for (const TlbEntry& e : main())
      if (!e.empty()) f(e);
    for (const TlbEntry& e : victim_)
      if (!e.empty()) f(e);
  }

  Status check() const;

 private:
  static constexpr unsigned kSlotShift = kPageShift - std::countr_zero(sizeof(TlbEntry));
  TlbEntry* at_offset(uint64_t offset) {
    return reinterpret_cast<TlbEntry*>(reinterpret_cast<std::byte*>(main_.data()) + offset);
  }
  std::span<TlbEntry> main() { return {main_.data(), config_.main_entries}; }
  std::span<const TlbEntry> main() const { return {main_.data(), config_.main_entries}; }
  void refresh(TlbEntry& entry) const;
  // Fills allowed_ for context_.
  void derive_allowed();
  void clear(TlbEntry& entry);
  // Flushes entries covering va for which `matches(entry)` holds.
  template <class Matches>
  void flush_covering(uint64_t va, Matches matches);

  TlbConfig config_;
  uint64_t mask_;
  uint64_t slot_mask_;  // mask_ * sizeof(TlbEntry)
  alignas(64) std::array<TlbEntry, kMaxMainEntries> main_;
  std::vector<TlbEntry> victim_;
  unsigned victim_next_ = 0;  // round-robin replacement
  TranslationContext context_;
  // Under context_, for each leaf flag byte (V R W X U G A D): bit a set when access a may
  // complete from an entry with those flags (privilege, R/W/X, A, and D for a store).
  std::array<uint8_t, 256> allowed_{};
  uint64_t superpage_count_ = 0;  // superpage entries filled since the bounds were reset
  uint64_t superpage_low_ = ~uint64_t{0};
  uint64_t superpage_high_ = 0;
  TlbCounters counters_;
};

}  // namespace vmmem::mmu
