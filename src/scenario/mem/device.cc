#include "scenario/mem/device.h"

#include "support/rng.h"

namespace vmmem::scenario::mem {

uint64_t device_read_value(uint64_t region_base, uint64_t offset, unsigned size) {
  uint64_t state = region_base ^ (offset * 0x100000001b3ULL) ^ size;
  return splitmix64(state);
}

Result<uint64_t> Device::read(uint64_t offset, unsigned size) {
  if (log_ != nullptr) log_->push_back({false, region_base_, offset, size, 0});
  if (device_refuses(offset)) {
    return Status::error(ErrorCode::kDeviceError, "scenario device refuses this offset", offset,
                         size);
  }
  return device_read_value(region_base_, offset, size);
}

Status Device::write(uint64_t offset, unsigned size, uint64_t value) {
  if (log_ != nullptr) log_->push_back({true, region_base_, offset, size, value});
  if (device_refuses(offset)) {
    return Status::error(ErrorCode::kDeviceError, "scenario device refuses this offset", offset,
                         size);
  }
  return kOkStatus;
}

}  // namespace vmmem::scenario::mem
