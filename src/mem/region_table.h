// RegionTable: one version of a GuestMemory's region table. GuestMemory never changes a
// published table: add/remove build a new one and publish it, so a reader works on the
// version it took for as long as it holds it, whatever the writers do meanwhile.
//
// Ownership: a RAM region's host mapping is shared (shared_ptr) by every table version that
// lists it and by every pinned span of it, and is released when the last of them lets go; its
// dirty bitmap and an MMIO region's handler are shared the same way. Holding a table therefore
// keeps the host memory of each of its RAM regions mapped, removed since or not.
//
// Invariants (GuestMemory::check() verifies 1-4 on the current version):
//   1. regions is sorted by base and no two regions overlap.
//   2. Every region has size > 0 and its last byte, base + size - 1, does not wrap.
//   3. A RAM region (ROM included) has base and size aligned to 4 KiB, host == mapping->data()
//      and mapping->size() == size; an MMIO region has a handler, no mapping and no host bytes;
//      only RAM may be read_only (ROM), and a ROM region never has a dirty bitmap.
//   4. ram_bytes is the sum of the RAM region sizes, ROM included.
//   5. generation is unique in the process: no other table, of any GuestMemory, has it.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <vector>

#include "mem/dirty_bitmap.h"
#include "mem/host_mapping.h"
#include "mem/mmio.h"

namespace vmmem::mem {

class GuestMemory;

struct Region {
  uint64_t base;
  uint64_t size;
  std::byte* host = nullptr;                   // RAM only: mapping->data()
  std::shared_ptr<const HostMapping> mapping;  // RAM only
  std::shared_ptr<MmioHandler> mmio;           // MMIO only
  std::shared_ptr<DirtyBitmap> dirty;          // RAM with tracking on only
  bool read_only = false;                      // ROM: RAM that refuses every write
  uint64_t last() const { return base + (size - 1); }
};

struct RegionTable {
  const GuestMemory* owner;
  uint64_t generation;
  uint64_t ram_bytes = 0;
  std::vector<Region> regions;

  // The region holding `address`, or null. O(log n).
  const Region* find(uint64_t address) const {
    // The last region whose base is <= address, if it reaches that far.
    auto after = std::upper_bound(regions.begin(), regions.end(), address,
                                  [](uint64_t a, const Region& r) { return a < r.base; });
    if (after == regions.begin()) return nullptr;
    const Region& candidate = *std::prev(after);
    return address <= candidate.last() ? &candidate : nullptr;
  }
  // The region that starts at `base`, or null.
  const Region* starting_at(uint64_t base) const {
    const Region* region = find(base);
    return region != nullptr && region->base == base ? region : nullptr;
  }
  // The region after `region` when it starts right where `region` ends, or null.
  const Region* adjacent_after(const Region* region) const {
    const Region* next = region + 1;
    return next != regions.data() + regions.size() && next->base == region->last() + 1 ? next
                                                                                       : nullptr;
  }
};

}  // namespace vmmem::mem
