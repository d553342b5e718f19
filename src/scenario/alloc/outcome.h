// Outcome: what one alloc op did on the real Allocator, for the model to judge. Addresses are
// the allocator's to choose, so the model checks them rather than predicting them.
#pragma once

#include <cstdint>
#include <span>
#include <string>

#include "support/status.h"

namespace vmmem::scenario::alloc {

struct LiveBlock {
  uint64_t address;
  uint64_t usable;
  friend bool operator==(const LiveBlock&, const LiveBlock&) = default;
  friend auto operator<=>(const LiveBlock&, const LiveBlock&) = default;
};

struct Outcome {
  ErrorCode code = ErrorCode::kOk;
  uint64_t address = 0;      // the block an op returned, or the pointer it freed
  uint64_t usable = 0;       // usable_size of the returned block
  uint32_t os_failures = 0;  // OS calls that failed during the op (injected or real)
  bool moved = false;        // Realloc: a new block, not the old one resized in place
  bool abandoned = false;    // Free: the block's segment had no owner (its heap was given up)
  LiveBlock new_chunk{};     // PoolAlloc: the chunk the pool took from the allocator, if any
  // Check: the live blocks the allocator walked (sorted by address), the pool's chunks, and
  // what stats() says is live.
  std::span<const LiveBlock> live;
  std::span<const LiveBlock> pool_chunks;
  uint64_t stats_live_blocks = 0;
  uint64_t stats_live_bytes = 0;
};

std::string describe(const Outcome& outcome);

}  // namespace vmmem::scenario::alloc
