// Device: the MMIO device every scenario maps. It is deterministic, so the model can predict
// each call it receives and each answer it gives: reads return device_read_value(), and an
// access is refused exactly when device_refuses() says so, which exercises the error path.
// With a log attached, every call is recorded in order.
//
// Two control registers re-enter GuestMemory from inside the access (regions of at least
// 0x2000 bytes have them): an 8-byte write at kMoveOffset moves the device's region to the
// written address (remove, then add_mmio there; when that is refused, back at the old base and
// the write is refused); any write at kUnplugOffset removes the region and is refused.
#pragma once

#include <cstdint>
#include <memory>
#include <utility>
#include <vector>

#include "mem/guest_memory.h"
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

inline constexpr uint64_t kUnplugOffset = 0x1ff0;
inline constexpr uint64_t kMoveOffset = 0x1ff8;

// What a read returns (before truncation to the access width).
uint64_t device_read_value(uint64_t region_base, uint64_t offset, unsigned size);

class Device final : public vmmem::mem::MmioHandler, public std::enable_shared_from_this<Device> {
 public:
  // log may be null (benches): nothing is recorded. REQUIRES: memory outlives the device.
  Device(vmmem::mem::GuestMemory& memory, uint64_t region_base, uint64_t region_size,
         std::shared_ptr<DeviceLog> log)
      : memory_(memory),
        region_base_(region_base),
        region_size_(region_size),
        log_(std::move(log)) {}

  Result<uint64_t> read(uint64_t offset, unsigned size) override;
  Status write(uint64_t offset, unsigned size, uint64_t value) override;

 private:
  vmmem::mem::GuestMemory& memory_;
  uint64_t region_base_;
  uint64_t region_size_;
  std::shared_ptr<DeviceLog> log_;
};

}  // namespace vmmem::scenario::mem
