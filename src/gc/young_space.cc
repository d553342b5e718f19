#include "gc/young_space.h"

#include <sys/mman.h>

#include <cstring>

#include "alloc/sanitizer.h"
#include "support/check.h"

namespace vmmem::gc {

std::unique_ptr<YoungSpace> YoungSpace::create(uint64_t max_nursery, uint64_t nursery_size,
                                               bool zap) {
  // Survivors of one collection are at most a nursery's worth plus the previous survivors; a
  // half-nursery survivor space covers the usual case and the rest is promoted early.
  const uint64_t survivor = (max_nursery / 2 + 4095) & ~uint64_t{4095};
  const uint64_t reserved = max_nursery + 2 * survivor;
  void* memory = mmap(nullptr, reserved, PROT_READ | PROT_WRITE,
                      MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  if (memory == MAP_FAILED) return nullptr;
  std::unique_ptr<YoungSpace> space(new YoungSpace());
  space->memory_ = static_cast<std::byte*>(memory);
  space->reserved_ = reserved;
  space->nursery_size_max_ = max_nursery;
  space->nursery_size_ = nursery_size;
  space->nursery_top_ = space->memory_;
  space->survivor_[0] = space->memory_ + max_nursery;
  space->survivor_[1] = space->survivor_[0] + survivor;
  space->survivor_bytes_ = survivor;
  space->from_top_ = space->survivor_[0];
  space->to_top_ = space->survivor_[1];
  space->zap_ = zap;
  // Everything starts dead (fresh pages read as zeros, so nothing to zap): buffers and to-space
  // are opened as they are used.
  alloc::poison(space->memory_, reserved);
  return space;
}

YoungSpace::~YoungSpace() {
  alloc::unpoison(memory_, reserved_);
  munmap(memory_, reserved_);
}

std::byte* YoungSpace::take(uint64_t bytes) {
  VMM_CHECK(bytes <= nursery_free() && bytes % kObjectAlignment == 0, "nursery take past its end");
  std::byte* p = nursery_top_;
  alloc::unpoison(p, bytes);
  std::memset(p, 0, bytes);
  nursery_top_ += bytes;
  return p;
}

void YoungSpace::give_back(std::byte* from, std::byte* to) {
  if (from == to) return;
  const uint64_t bytes = static_cast<uint64_t>(to - from);
  reinterpret_cast<Object*>(from)->set_header_word(
      header::make(kNoShape, static_cast<uint32_t>(bytes)));
}

void YoungSpace::begin_minor() {
  to_top_ = to_begin();
  alloc::unpoison(to_begin(), survivor_bytes_);
}

void YoungSpace::finish_minor() {
  kill(memory_, nursery_top_);
  kill(from_begin(), from_top_);
  // The unused rest of to-space was never written: poisoning it is enough.
  alloc::poison(to_top_, static_cast<size_t>(to_begin() + survivor_bytes_ - to_top_));
  from_ = 1 - from_;
  from_top_ = to_top_;
  to_top_ = to_begin();
  nursery_top_ = memory_;
}

void YoungSpace::kill(std::byte* from, std::byte* to) {
  if (from >= to) return;
  if (zap_) std::memset(from, kZapByte, static_cast<size_t>(to - from));
  alloc::poison(from, static_cast<size_t>(to - from));
}

}  // namespace vmmem::gc
