// YoungSpace: the young generation's memory — the nursery and two survivor spaces, in one
// reservation so that "is this address young" is one subtraction and one compare.
//
//   [nursery: max_nursery bytes][survivor A: survivor_bytes][survivor B: survivor_bytes]
//
// The nursery is used from its start up to nursery_size (the pacer's choice); allocation hands
// out buffers (Tlab) from nursery_top, zeroed when handed out. A buffer given back early leaves a
// filler (a header with shape 0 and length = its size in bytes), so the nursery below its top is
// a sequence of objects and fillers. A minor collection copies into the "to" survivor space,
// then finish_minor() empties the nursery and swaps the survivor spaces.
//
// Invariants (verify() walks them):
//   1. nursery_begin <= nursery_top <= nursery_begin + nursery_size <= nursery_begin +
//      max_nursery; [nursery_begin, nursery_top) parses as objects and fillers exactly.
//   2. The from-survivor space (the one holding survivors between collections) parses as
//      objects exactly up to its top; the to-survivor space is empty between collections.
//   3. Dead memory (the nursery above its top once collected, the empty survivor space) is
//      poisoned under ASan and, with the poison option, filled with kZapByte.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>

#include "gc/object.h"

namespace vmmem::gc {

inline constexpr uint8_t kZapByte = 0xdb;
inline constexpr uint64_t kTlabBytes = 32 << 10;

class YoungSpace {
 public:
  // Null when the reservation fails.
  static std::unique_ptr<YoungSpace> create(uint64_t max_nursery, uint64_t nursery_size, bool zap);
  ~YoungSpace();
  YoungSpace(const YoungSpace&) = delete;
  YoungSpace& operator=(const YoungSpace&) = delete;

  uintptr_t base() const { return reinterpret_cast<uintptr_t>(memory_); }
  uint64_t reserved() const { return reserved_; }

  // --- nursery ---
  std::byte* nursery_begin() const { return memory_; }
  std::byte* nursery_top() const { return nursery_top_; }
  std::byte* nursery_end() const { return memory_ + nursery_size_; }
  uint64_t nursery_size() const { return nursery_size_; }
  uint64_t nursery_used() const { return static_cast<uint64_t>(nursery_top_ - memory_); }
  uint64_t nursery_free() const { return static_cast<uint64_t>(nursery_end() - nursery_top_); }
  // Hands out [top, top + bytes) zeroed. REQUIRES: bytes <= nursery_free(), a multiple of 8.
  std::byte* take(uint64_t bytes);
  // [from, to) of a buffer will not be used: leaves a filler there.
  void give_back(std::byte* from, std::byte* to);
  bool in_nursery(const void* p) const {
    return reinterpret_cast<uintptr_t>(p) - base() < nursery_size_max_;
  }

  // --- survivor spaces ---
  std::byte* from_begin() const { return survivor_[from_]; }
  std::byte* from_top() const { return from_top_; }
  std::byte* to_begin() const { return survivor_[1 - from_]; }
  std::byte* to_top() const { return to_top_; }
  uint64_t survivor_bytes() const { return survivor_bytes_; }
  uint64_t survivor_used() const { return static_cast<uint64_t>(from_top_ - from_begin()); }
  bool in_from_survivor(const void* p) const { return in_range(p, from_begin(), survivor_bytes_); }
  bool in_to_survivor(const void* p) const { return in_range(p, to_begin(), survivor_bytes_); }
  // During a minor collection: room for `bytes` in to-space, or null when it is full.
  std::byte* to_allocate(uint64_t bytes) {
    if (bytes > static_cast<uint64_t>(to_begin() + survivor_bytes_ - to_top_)) return nullptr;
    std::byte* p = to_top_;
    to_top_ += bytes;
    return p;
  }

  // Opens to-space for copying (a minor collection starts).
  void begin_minor();
  // The collection is over: the nursery and from-space are dead (poisoned), the survivor spaces
  // swap, and the nursery restarts empty.
  void finish_minor();
  // REQUIRES: the nursery is empty. Clamped to the maximum.
  void resize_nursery(uint64_t bytes) {
    nursery_size_ = bytes < nursery_size_max_ ? bytes : nursery_size_max_;
  }

 private:
  YoungSpace() = default;
  static bool in_range(const void* p, const std::byte* begin, uint64_t size) {
    return reinterpret_cast<uintptr_t>(p) - reinterpret_cast<uintptr_t>(begin) < size;
  }
  void kill(std::byte* from, std::byte* to);

  std::byte* memory_ = nullptr;
  uint64_t reserved_ = 0;
  uint64_t nursery_size_max_ = 0;
  uint64_t nursery_size_ = 0;
  std::byte* nursery_top_ = nullptr;
  std::byte* survivor_[2] = {nullptr, nullptr};
  uint64_t survivor_bytes_ = 0;
  int from_ = 0;
  std::byte* from_top_ = nullptr;
  std::byte* to_top_ = nullptr;
  bool zap_ = false;
};

}  // namespace vmmem::gc
