// PteMemory: how the walker and the page-table builder reach PTEs in guest memory (and the
// MMU the host address of a RAM page it caches: locate(page) works for any 8-aligned byte). A PTE
// is read and written only when its 8 bytes lie in RAM (never through an MMIO handler, never past a
// region), and always as one atomic 64-bit word, so a walker on one hart and a builder or an A/D
// update on another never tear an entry. Every PTE store and every compare-and-set that succeeds
// marks the PTE's page in its region's dirty bitmap when tracking is on (GuestMemory's rule for
// writers through a host address), so live migration sees page-table edits and A/D updates.
//
// Thread safety: one PteMemory per thread (it caches the last RAM region it used, like
// mem::MemoryAccessor); any number may share a GuestMemory under GuestMemory's rules.
//
// Invariants:
//   1. While generation_ == memory_.generation(), [base_, base_ + size_) is one RAM region,
//      host_ maps its first byte and dirty_ is its dirty bitmap (null when tracking is off).
//   2. PTE addresses are 8-byte aligned (table base + 8 * index) and RAM host mappings are
//      page aligned, so every PTE's host address is aligned for std::atomic_ref<uint64_t>.
#pragma once

#include <atomic>
#include <bit>
#include <cstdint>
#include <memory>

#include "mem/guest_memory.h"
#include "support/check.h"

namespace vmmem::mmu {

class PteMemory {
 public:
  explicit PteMemory(mem::GuestMemory& memory) : memory_(memory) {}

  mem::GuestMemory& memory() const { return memory_; }

  // Host address of the PTE at `address`, or null when those 8 bytes are not RAM.
  // REQUIRES: address is 8-byte aligned.
  uint64_t* locate(uint64_t address) {
    const uint64_t offset = address - base_;
    if (generation_ == memory_.generation() && offset < size_) {
      return reinterpret_cast<uint64_t*>(host_ + offset);
    }
    return locate_slow(address);
  }

  // Whether the region of the last located address has dirty tracking on. REQUIRES: locate()
  // just returned non-null.
  bool tracked() const { return dirty_ != nullptr; }
  // Whether the region of the last located address is ROM (its host bytes are mapped read-only:
  // nothing may be written through them). REQUIRES: locate() just returned non-null.
  bool read_only() const { return read_only_; }

  static uint64_t load(const uint64_t* at) {
    return from_little_endian(
        std::atomic_ref<uint64_t>(*const_cast<uint64_t*>(at)).load(std::memory_order_acquire));
  }
  // REQUIRES (store, compare_and_set): `at` came from the last locate() of this PteMemory, and
  // that region is not ROM (read_only() is false).
  void store(uint64_t* at, uint64_t value) {
    VMM_CHECK(!read_only_, "a PTE store into ROM");
    std::atomic_ref<uint64_t>(*at).store(from_little_endian(value), std::memory_order_release);
    note_written(at);
  }
  // Replaces `expected` with `desired` if the PTE still holds `expected`.
  bool compare_and_set(uint64_t* at, uint64_t expected, uint64_t desired) {
    VMM_CHECK(!read_only_, "a PTE update in ROM");
    uint64_t raw = from_little_endian(expected);
    if (!std::atomic_ref<uint64_t>(*at).compare_exchange_strong(raw, from_little_endian(desired),
                                                                std::memory_order_acq_rel,
                                                                std::memory_order_acquire)) {
      return false;
    }
    note_written(at);
    return true;
  }

 private:
  static uint64_t from_little_endian(uint64_t value) {
    if constexpr (std::endian::native == std::endian::big) return __builtin_bswap64(value);
    return value;
  }

  uint64_t* locate_slow(uint64_t address) {
    auto window = memory_.ram_window(address);
    if (!window) return nullptr;
    base_ = window->base;
    size_ = window->size;
    host_ = window->host;
    dirty_ = window->dirty;
    read_only_ = window->read_only;
    // The region stays mapped while this cache names it, even if it is removed meanwhile.
    hold_ = std::move(window->hold);
    generation_ = memory_.generation();
    return reinterpret_cast<uint64_t*>(host_ + (address - base_));
  }

  // After the write, as GuestMemory does: a take_dirty() racing with it reports the page now or
  // in the next take.
  void note_written(const uint64_t* at) const {
    if (dirty_ != nullptr) dirty_->mark(reinterpret_cast<const std::byte*>(at) - host_, 8);
  }

  mem::GuestMemory& memory_;
  uint64_t generation_ = ~uint64_t{0};  // never a GuestMemory generation
  uint64_t base_ = 0;
  uint64_t size_ = 0;
  std::byte* host_ = nullptr;
  bool read_only_ = false;
  std::shared_ptr<const void> hold_;
  mem::DirtyBitmap* dirty_ = nullptr;
};

}  // namespace vmmem::mmu
