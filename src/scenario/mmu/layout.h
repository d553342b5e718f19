// The guest a scenario runs in: where RAM, page-table frames, the scratch region and the
// device sit, what the device answers, and the configuration an input picks.
#pragma once

#include <cstdint>

#include "mmu/pte.h"
#include "mmu/tlb.h"
#include "mmu/walker.h"

namespace vmmem::scenario::mmu {

using vmmem::mmu::AdPolicy;
using vmmem::mmu::Mode;

inline constexpr uint64_t kRamBase = 0x8000'0000;
inline constexpr uint64_t kRamSize = 4ull << 20;
// Page-table frames come from the bottom of RAM: root tables first (one per address space,
// in slot order), then tables in the order maps need them.
inline constexpr uint64_t kFrameBase = kRamBase;
inline constexpr uint64_t kFrameBytes = 256 * 1024;
inline constexpr uint64_t kDataBase = kRamBase + kFrameBytes;
inline constexpr uint64_t kScratchBase = 0x9000'0000;
inline constexpr uint64_t kScratchSize = 64 * 1024;
inline constexpr uint64_t kDeviceBase = 0x1000'0000;
inline constexpr uint64_t kDeviceSize = 0x1000;

// What the device returns for a read of `size` bytes at `offset`; it ignores writes.
constexpr uint64_t device_value(uint64_t offset, unsigned size) {
  uint64_t value = 0;
  for (unsigned i = 0; i < size; ++i)
    value |= ((offset + i) * 0x3b + 0x5a) % 256 << (8 * i);
  return value;
}

struct Config {
  Mode mode = Mode::kSv39;
  AdPolicy ad_policy = AdPolicy::kUpdate;
  // Coherent: the executor flushes after every page-table change as the spec asks of
  // software, and every translation must equal a fresh reference walk. Relaxed: only the
  // input's own flushes run, and a hit may be stale within the spec's rules. Relaxed inputs
  // run under Svade (a stale hit skips the A/D update a walk would make).
  bool coherent = true;
  bool small_tlb = false;  // 16 main entries, 2 victims: evictions and victim hits
  unsigned prefetch_depth = 0;
  // Dirty-page tracking on RAM and the scratch region while the scratch region is present
  // (ToggleScratch turns RAM's tracking off with the removal and on again with the return), and
  // after every op the executor takes both bitmaps: the model predicts them exactly.
  bool dirty_tracking = false;
  // Flush ops are posted to the MMU's shootdown mailbox, as another hart's remote sfence.vma
  // would be, instead of applied by a call: the owner must take them before its next
  // translation, so the model judges both ways alike.
  bool remote_flushes = false;
  friend bool operator==(const Config&, const Config&) = default;
};

// The TLB's range-flush limit under `config`: a range flush of more pages flushes everything
// (or the whole ASID) instead.
constexpr uint64_t range_flush_limit(const Config& config) {
  return config.small_tlb ? 4 : vmmem::mmu::TlbConfig{}.range_flush_limit;
}

}  // namespace vmmem::scenario::mmu
