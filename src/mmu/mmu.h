// Mmu: one virtual CPU's address-translation path — TLB, page walker, stride prefetcher,
// batch translation, the load/store path to guest memory, and the shootdown mailbox other
// threads use to flush this vCPU's TLB.
//
//   translate(va, access): TLB hit (one compare) -> pa; else victim table, else a walk
//     (walker.h) whose success fills the TLB and whose fault is returned, never cached.
//   load<T>/store<T>(va): translate, then the bytes. A TLB entry for a RAM page keeps the host
//     address of the page, so a hit copies the bytes with no GuestMemory lookup. MMIO pages
//     take the slow path to the device. An access that crosses into the next page translates
//     both pages (first page first; its fault wins) before any byte moves, and both parts must
//     be RAM. A physical access GuestMemory refuses is kPhysicalAccessFault.
//
// Thread safety: one owner thread calls everything except shootdown(); any thread may post
// to shootdown() and wait. GuestMemory's add/remove must not run concurrently with the owner
// (GuestMemory's own rule); the Mmu listens for generation changes (its mailbox goes stale)
// and the owner flushes before its next translation.
//
// Invariants (check() verifies 1 and the TLB's own):
//   1. tlb_ holds only entries filled under memory generation generation_; no TLB entry is
//      used (translation or host address) unless memory's generation still equals it: the
//      owner flushes and catches up first. Host addresses and the dirty-tracking state of
//      each page (TlbEntry::tracked) are therefore those of the current regions.
//   2. Every translation sees all shootdown requests posted before it began: the fast paths
//      hit only while the mailbox names the main table (nothing posted and no generation
//      change since the owner last caught up; never, when counting hits); otherwise they miss
//      and the slow path catches up first.
//   3. Stores reach guest memory's dirty tracking: a store through a host address happens
//      only on pages whose region had tracking off at the fill (tracking on or off changes the
//      generation, so invariant 1 keeps that true); tracked pages, page-crossing stores and
//      MMIO write through GuestMemory, which marks the pages.
//   4. In coherent use (software flushes after changing a PTE, as the spec requires) every
//      translation equals a fresh walk; otherwise a hit may be stale only with a translation
//      that was valid at some point since the last flush that covers it.
#pragma once

#include <cstdint>
#include <cstring>
#include <optional>
#include <span>

#include "mem/guest_memory.h"
#include "mmu/fault.h"
#include "mmu/pte_memory.h"
#include "mmu/shootdown.h"
#include "mmu/stride_prefetcher.h"
#include "mmu/tlb.h"
#include "mmu/translation_context.h"
#include "mmu/walker.h"

namespace vmmem::mmu {

struct MmuConfig {
  TlbConfig tlb;
  AdPolicy ad_policy = AdPolicy::kUpdate;
  unsigned prefetch_depth = 0;  // pages walked ahead on a confirmed stride; 0: off
  // Count TLB hits. The fast paths count nothing (an increment per hit is a read-modify-write
  // chain through memory, and even testing this flag is a load per access), so with counting
  // on, the mailbox never names the main table and every access takes the out-of-line path,
  // which counts its hits there: for statistics and the prefetch benches, not for speed. Every
  // other counter is kept on the slow paths and always counts.
  bool count_hits = false;
};

struct Translation {
  Fault fault = Fault::kNone;
  uint64_t pa = 0;
  friend bool operator==(const Translation&, const Translation&) = default;
};

template <mem::GuestScalar T>
struct LoadResult {
  Fault fault = Fault::kNone;
  T value = 0;
};

class Mmu final : private mem::GenerationListener {
 public:
  // REQUIRES: memory outlives the Mmu.
  explicit Mmu(mem::GuestMemory& memory, const MmuConfig& config = {});
  ~Mmu();
  Mmu(const Mmu&) = delete;
  Mmu& operator=(const Mmu&) = delete;

  void set_context(const TranslationContext& context) { tlb_.set_context(context); }
  const TranslationContext& context() const { return tlb_.context(); }

  Translation translate(uint64_t va, Access access) {
    const TlbEntry& entry = fast_slot(va);
    if ((entry.compare[index(access)] & ~TlbEntry::kViaMemory) == page_of(va)) [[likely]] {
      return {Fault::kNone, va + entry.pa_offset};
    }
    return translate_slow(va, access);
  }

  template <mem::GuestScalar T>
  LoadResult<T> load(uint64_t va) {
    if (std::byte * host; fast_host<T>(va, Access::kLoad, &host)) [[likely]] {
      T value;
      std::memcpy(&value, host, sizeof(T));
      return {Fault::kNone, from_little_endian(value)};
    }
    return load_slow_as<T>(va);
  }

  template <mem::GuestScalar T>
  Fault store(uint64_t va, T value) {
    if (std::byte * host; fast_host<T>(va, Access::kStore, &host)) [[likely]] {
      const T stored = from_little_endian(value);
      std::memcpy(host, &stored, sizeof(T));
      return Fault::kNone;
    }
    return store_slow(va, sizeof(T), value);
  }

  // Width known at run time (1, 2, 4 or 8); the value is zero-extended / truncated.
  Fault load_scalar(uint64_t va, unsigned width, uint64_t* value);
  Fault store_scalar(uint64_t va, unsigned width, uint64_t value);

  // Translates vas[i] into out[i] for every i. Consecutive addresses in the same 4 KiB page
  // share one lookup (sorted input runs cost one TLB probe per page). REQUIRES: out.size() >=
  // vas.size().
  void translate_batch(std::span<const uint64_t> vas, Access access, std::span<Translation> out);

  // sfence.vma and the range extension, applied at once (by the owner).
  void flush(const FlushRequest& request);

  // Other threads post here; see shootdown.h.
  ShootdownMailbox& shootdown() { return shootdown_; }
  // Applies queued shootdown requests (and any guest-memory change) now: the owner's idle loop
  // calls it; translations do it themselves.
  void service_shootdowns() { catch_up(); }

  Walker& walker() { return walker_; }
  const Tlb& tlb() const { return tlb_; }
  const TlbCounters& counters() const { return tlb_.counters(); }

  Status check() const;

 private:
  static constexpr uint64_t page_of(uint64_t va) { return va & ~(kPageSize - 1); }
  static constexpr unsigned index(Access access) { return static_cast<unsigned>(access); }
  template <mem::GuestScalar T>
  static T from_little_endian(T value) {
    if constexpr (std::endian::native == std::endian::big && sizeof(T) > 1) return byteswap(value);
    return value;
  }

  // va's slot in the table the fast paths use: the main table while the TLB may be used as it
  // is (no shootdown posted, guest memory's regions unchanged since the owner last caught up:
  // invariants 1 and 2), else a table that denies everything (shootdown.h), so a stale TLB
  // costs the fast path nothing but the load of the table's address. Guest memory tells the Mmu
  // of every generation change (generation_changed), which swaps in the stale table, so the
  // hot path never reads the generation itself.
  const TlbEntry& fast_slot(uint64_t va) const {
    return *reinterpret_cast<const TlbEntry*>(
        reinterpret_cast<const std::byte*>(shootdown_.fast_table()) + tlb_.slot_offset(va));
  }
  void generation_changed() override { shootdown_.mark_stale(); }
  // Whether the slow path must catch up first.
  bool behind() const { return shootdown_.stale() || memory_.generation() != generation_; }

  // Whether a TLB entry allows the access and the T is naturally aligned; if so, *host is the
  // host address of the T. (A bool, not a null host address: a host address is never tested.)
  template <mem::GuestScalar T>
  bool fast_host(uint64_t va, Access access, std::byte** host) {
    static_assert(sizeof(T) - 1 <= TlbEntry::kAlignmentBits);
    const TlbEntry& entry = fast_slot(va);
    // The page with va's misalignment in the low bits, which a compare word never has: only
    // naturally aligned accesses hit, and those never leave their page (misaligned ones take
    // the slow path, which splits them at a page boundary). One mask, one compare.
    if (entry.compare[index(access)] != (va & (~(kPageSize - 1) | (sizeof(T) - 1)))) return false;
    *host = reinterpret_cast<std::byte*>(va + entry.host_offset);
    return true;
  }

  template <mem::GuestScalar T>
  [[gnu::noinline]] LoadResult<T> load_slow_as(uint64_t va) {
    LoadResult<T> result;
    uint64_t value = 0;
    result.fault = load_slow(va, sizeof(T), &value);
    result.value = static_cast<T>(value);
    return result;
  }

  Translation translate_slow(uint64_t va, Access access);
  // After a successful translate(va, access) on the slow path (a miss just filled, or hit
  // counting on): the host address of va when its main-table entry allows the access through
  // the host address (RAM; for a store, not dirty-tracked); else null (GuestMemory's path).
  std::byte* host_after_translate(uint64_t va, Access access);
  // Walks and fills; the walk's fault otherwise.
  Translation walk_and_fill(uint64_t va, Access access);
  void prefetch_after_miss(uint64_t va);
  // Brings the TLB up to date: re-arms the mailbox, then flushes when guest memory's generation
  // moved and applies queued shootdowns (arming first: shootdown.h, invariant 2).
  void catch_up();
  Fault load_slow(uint64_t va, unsigned width, uint64_t* value);
  Fault store_slow(uint64_t va, unsigned width, uint64_t value);
  // Translates both pages of an access that crosses a page boundary; the two physical parts.
  Fault translate_split(uint64_t va, unsigned width, Access access, uint64_t* first_pa,
                        uint64_t* second_pa);

  mem::GuestMemory& memory_;
  MmuConfig config_;
  Walker walker_;
  Tlb tlb_;
  StridePrefetcher prefetcher_;
  ShootdownMailbox shootdown_;
  uint64_t generation_;  // guest memory's generation the TLB entries were filled under
  PteMemory ram_;        // where fills find the host address of a RAM page (its last-region cache)
};

}  // namespace vmmem::mmu
