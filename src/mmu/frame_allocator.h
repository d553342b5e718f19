// FrameAllocator: hands out 4 KiB guest physical frames for page tables from one RAM range
// [base, base + size), zeroed, in a fixed order: freed frames first (most recently freed
// first), then the next never-used frame from the bottom up. The order is part of the
// contract: the reference model predicts which frame a table lands in.
//
// Thread safety: none; the owner of the page tables serializes calls.
//
// Invariants (check() verifies them):
//   1. base_ and size_ are multiples of 4 KiB; next_ is in [base_, base_ + size_].
//   2. Every free_ entry is a frame below next_, and no frame is listed twice.
#pragma once

#include <cstdint>
#include <vector>

#include "mem/guest_memory.h"
#include "support/status.h"

namespace vmmem::mmu {

class FrameAllocator {
 public:
  // REQUIRES: [base, base + size) is 4 KiB aligned and RAM of `memory` for as long as frames
  // are allocated.
  FrameAllocator(mem::GuestMemory& memory, uint64_t base, uint64_t size);

  // A zeroed frame, or kOutOfMemory.
  Result<uint64_t> allocate();
  // REQUIRES: frame came from allocate() and is not free.
  void free(uint64_t frame);
  uint64_t available() const { return (base_ + size_ - next_) / 4096 + free_.size(); }
  bool owns(uint64_t address) const { return address - base_ < next_ - base_; }
  // Whether `frame` was handed out by allocate() and not freed since.
  bool in_use(uint64_t frame) const;

  Status check() const;

 private:
  mem::GuestMemory& memory_;
  uint64_t base_;
  uint64_t size_;
  uint64_t next_;
  std::vector<uint64_t> free_;
};

}  // namespace vmmem::mmu
