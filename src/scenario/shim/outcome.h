// Outcome: what one shim op did, for the model to judge. Addresses are the allocator's to
// choose, so the model checks them (alignment, no overlap, contents) rather than predicting them.
#pragma once

#include <cstdint>
#include <string>

namespace vmmem::scenario::shim {

struct Outcome {
  bool skipped = false;  // the op did not apply (no live block to name, or not tried)
  // A pointer came back (for posix_memalign: was stored in *out). Free: the block was freed.
  bool block = false;
  // errno after the call (the executor clears it before), or posix_memalign's return value.
  int error = 0;
  bool errno_untouched = true;     // posix_memalign: errno and *out as they were
  uint64_t address = 0;            // the block returned
  uint64_t usable = 0;             // its malloc_usable_size (UsableSize: the result)
  uint64_t reports = 0;            // bad pointers reported during the call
  uint64_t stats_live_blocks = 0;  // Check: what stats() counts as live
  friend bool operator==(const Outcome&, const Outcome&) = default;
};

std::string describe(const Outcome& outcome);

}  // namespace vmmem::scenario::shim
