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

}  // namespace vmmem::scenario::mem
