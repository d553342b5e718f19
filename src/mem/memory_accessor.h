// MemoryAccessor: one thread's (one vCPU's) door into a GuestMemory, with a private cache of
// the last RAM region it touched. GuestMemory's own cache is one thread_local entry shared by
// every instance the thread uses; an accessor's belongs to one instance and, in a loop, lives in
// registers: the fast path is a generation compare and one bounds check, the way a per-CPU
// softmmu TLB works in an emulator.
//
// Thread safety: an accessor is used by one thread at a time; many accessors may share one
// GuestMemory under GuestMemory's rules (add/remove need exclusive access).
//
// Invariants:
//   1. While generation_ == memory_.generation(), [base_, base_ + size_) is one RAM region of
//      memory_ and host_ maps its first byte. generation_ starts at a value memory_ never
//      reports, so the first access always refills.
//   2. hold_ keeps the cached region's host memory (and dirty bitmap) mapped, so an access that
//      passed the generation check just before a concurrent remove() lands in memory that
//      still exists.
//   3. Every answer equals what memory_.read/write would give for the same call; the cache
//      changes speed, never results.
#pragma once

#include <cstdint>
#include <cstring>
#include <memory>
#include <utility>

#include "mem/guest_memory.h"

namespace vmmem::mem {

class MemoryAccessor {
 public:
  // REQUIRES: memory outlives the accessor.
  explicit MemoryAccessor(GuestMemory& memory) : memory_(memory) {}

  template <GuestScalar T>
  Result<T> read(uint64_t address) {
    if (const std::byte* at = cached<T>(address)) {
      T value;
      std::memcpy(&value, at, sizeof(T));
      return from_little_endian(value);
    }
    refill(address);
    return memory_.read<T>(address);
  }

  template <GuestScalar T>
  Status write(uint64_t address, T value) {
    if (std::byte* at = writable_ ? cached<T>(address) : nullptr) {
      const T stored = from_little_endian(value);
      std::memcpy(at, &stored, sizeof(T));
      if (dirty_ != nullptr) dirty_->mark(address - base_, sizeof(T));
      return kOkStatus;
    }
    refill(address);
    return memory_.write<T>(address, value);
  }

 private:
  static constexpr uint64_t kNoGeneration = ~uint64_t{0};

  // Host address of [address, address + sizeof(T)) when the cached window holds it.
  template <GuestScalar T>
  std::byte* cached(uint64_t address) const {
    if (generation_ != memory_.generation()) return nullptr;
    const uint64_t offset = address - base_;                        // huge when address < base_
    return offset <= size_ - sizeof(T) ? host_ + offset : nullptr;  // RAM windows >= 4 KiB
  }

  template <GuestScalar T>
  static T from_little_endian(T value) {
    if constexpr (std::endian::native == std::endian::big && sizeof(T) > 1) return byteswap(value);
    return value;
  }

  // Caches the RAM region holding `address`, if any; otherwise leaves the cache invalid.
  void refill(uint64_t address) {
    if (auto window = memory_.ram_window(address)) {
      base_ = window->base;
      size_ = window->size;
      host_ = window->host;
      dirty_ = window->dirty;
      writable_ = !window->read_only;
      generation_ = window->generation;
      hold_ = std::move(window->hold);
    } else {
      generation_ = kNoGeneration;
      hold_.reset();
    }
  }

  GuestMemory& memory_;
  uint64_t generation_ = kNoGeneration;
  uint64_t base_ = 0;
  uint64_t size_ = 0;
  std::byte* host_ = nullptr;
  DirtyBitmap* dirty_ = nullptr;  // the region's bitmap while its tracking is on
  std::shared_ptr<const void> hold_;
  bool writable_ = false;  // RAM, not ROM: writes may take the cached path
};

}  // namespace vmmem::mem
