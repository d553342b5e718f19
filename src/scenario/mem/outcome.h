// Outcome: everything observable about one mem op, as the model predicts it and as the real
// GuestMemory produced it. Byte views point into buffers owned by whoever produced the
// outcome and stay valid until its next op.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <span>
#include <string>

#include "mem/guest_memory.h"
#include "scenario/mem/device.h"
#include "support/status.h"

namespace vmmem::scenario::mem {

struct Outcome {
  ErrorCode code = ErrorCode::kOk;
  uint64_t value = 0;                        // scalar reads
  std::span<const std::byte> bytes;          // bulk reads and host spans
  std::span<const DeviceCall> device_calls;  // what the MMIO devices saw during this op

  friend bool operator==(const Outcome& a, const Outcome& b) {
    return a.code == b.code && a.value == b.value && a.bytes.size() == b.bytes.size() &&
           (a.bytes.empty() || std::memcmp(a.bytes.data(), b.bytes.data(), a.bytes.size()) == 0) &&
           std::ranges::equal(a.device_calls, b.device_calls);
  }
};

std::string describe(const Outcome& outcome);

// A value that differs, with overwhelming likelihood, for any two different region tables
// (bases, sizes, kinds) or RAM totals: the outcome value of a Check op.
inline uint64_t region_fingerprint(std::span<const vmmem::mem::RegionInfo> regions,
                                   uint64_t ram_bytes) {
  uint64_t hash = 0xcbf29ce484222325 ^ ram_bytes;
  auto mix = [&hash](uint64_t word) {
    hash = (hash ^ word) * 0x100000001b3;
    hash ^= hash >> 29;
  };
  for (const vmmem::mem::RegionInfo& r : regions) {
    mix(r.base);
    mix(r.size);
    mix(static_cast<uint64_t>(r.kind));
  }
  mix(regions.size());
  return hash;
}

}  // namespace vmmem::scenario::mem
