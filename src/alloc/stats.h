// Allocator statistics: what stats() reports and what check() recomputes by walking the heap.
#pragma once

#include <array>
#include <cstdint>

#include "alloc/os_memory.h"
#include "alloc/size_classes.h"

namespace vmmem::alloc {

struct BlockCounts {
  uint64_t blocks = 0;
  uint64_t bytes = 0;  // usable bytes
  friend bool operator==(const BlockCounts&, const BlockCounts&) = default;
};

struct Stats {
  std::array<BlockCounts, kNumClasses> small{};  // live blocks per size class
  BlockCounts large;                             // live blocks above kMaxSmallSize
  BlockCounts live;                              // all live blocks
  // Bytes that may be resident: segment headers and every slice written since it was last
  // fresh or purged. An upper bound on what the allocator adds to RSS.
  uint64_t committed_bytes = 0;
  uint64_t peak_committed_bytes = 0;
  uint64_t reserved_bytes = 0;  // address space mapped from the OS
  uint64_t segments = 0;        // in heaps and abandoned
  uint64_t abandoned_segments = 0;
  uint64_t orphaned_segments = 0;  // in a fork() child: never reused (Allocator::after_fork_child)
  uint64_t cached_segments = 0;    // empty, mapped, kept for reuse (ordinary and huge)
  uint64_t heaps = 0;              // in use (thread default heaps and first-class heaps)
  uint64_t reports = 0;            // bad frees reported (hardened checks and foreign pointers)
  OsCounters os;
};

}  // namespace vmmem::alloc
