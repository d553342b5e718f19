// Device: the MMIO device every scenario maps. It is deterministic, so the model can predict
// each call it receives and each answer it gives: reads return device_read_value(), and an
// access is refused exactly when device_refuses() says so, which exercises the error path.
// With a log attached, every call is recorded in order.
#pragma once

#include <cstdint>
#include <memory>
#include <utility>
#include <vector>

#include "mem/mmio.h"

namespace vmmem::scenario::mem {

struct DeviceCall {
  bool is_write;
  uint64_t region_base;
  uint64_t offset;
  unsigned size;
  uint64_t value;  // written value; 0 for reads
  friend bool operator==(const DeviceCall&, const DeviceCall&) = default;
};

using DeviceLog = std::vector<DeviceCall>;

// Refuses accesses whose offset has all of its low six bits set: about 1 in 64 offsets.
constexpr bool device_refuses(uint64_t offset) {
  return (offset & 0x3f) == 0x3f;
}

// What a read returns (before truncation to the access width).
uint64_t device_read_value(uint64_t region_base, uint64_t offset, unsigned size);

class Device final : public vmmem::mem::MmioHandler {
 public:
  // log may be null (benches): nothing is recorded.
  Device(uint64_t region_base, std::shared_ptr<DeviceLog> log)
      : region_base_(region_base), log_(std::move(log)) {}

  Result<uint64_t> read(uint64_t offset, unsigned size) override;
  Status write(uint64_t offset, unsigned size, uint64_t value) override;

 private:
  uint64_t region_base_;
  std::shared_ptr<DeviceLog> log_;
};

}  // namespace vmmem::scenario::mem
