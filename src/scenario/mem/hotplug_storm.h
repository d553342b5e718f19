// Hot-plug storm: reader threads keep reading guest memory while a writer adds and removes
// the regions under them, and (optionally) a DMA thread writes through pinned spans of regions
// that may be removed at any moment. Shared by the concurrency test, the property and the bench.
//
// Layout: `slots` adjacent RAM slots of kStormSlotSize bytes that come and go; incarnation n of
// slot s is filled, word by word, with storm_tag(s, n) (the DMA thread writes the same tag with
// kStormDmaBit set); a fixed RAM region with a known pattern that is never written while the
// threads run; an MMIO slot that comes and goes.
//
// What it checks, for every read of every reader:
//   - a word read from slot s is 0 (fresh RAM) or storm_tag(s, n), DMA bit or not, for an
//     incarnation n that was mapped at some point during the read (n0 <= n <= n1, the slot's
//     incarnation counter read before and after);
//   - reads of the fixed region (scalar, accessor, bulk across its two halves, snapshot) see its
//     pattern exactly; MMIO reads see the handler's value;
// and at the end: every slot still mapped holds only its own incarnation's tag (a DMA write
// through a pin of a removed incarnation never lands in a later one), check() passes, and
// once the memory and the threads are gone every host mapping the storm made is released.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

namespace vmmem::scenario::mem {

inline constexpr uint64_t kStormSlotSize = 0x2000;
inline constexpr uint64_t kStormDmaBit = uint64_t{1} << 55;

constexpr uint64_t storm_tag(uint64_t slot, uint64_t incarnation) {
  return (uint64_t{0xa5} << 56) | (slot << 40) | (incarnation & 0xffff'ffff);
}

struct StormPlan {
  uint64_t seed = 1;
  unsigned readers = 2;
  unsigned slots = 4;  // 1..16
  unsigned table_changes = 200;
  unsigned reads_per_reader = 2000;
  bool dma = true;
};

struct StormReport {
  uint64_t reads_ok = 0;                 // reads that found RAM or the device
  uint64_t reads_unmapped = 0;           // reads that found no region (legitimately)
  uint64_t dma_writes = 0;               // words written through pinned spans
  std::optional<std::string> violation;  // the first broken rule, if any
};

StormReport run_storm(const StormPlan& plan);

}  // namespace vmmem::scenario::mem
