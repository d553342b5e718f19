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
  if (offset == kUnplugOffset) {
    VMM_CHECK(memory_.remove(region_base_).ok(), "scenario device: unplug");
    return Status::error(ErrorCode::kDeviceError, "scenario device unplugged itself", region_base_,
                         size);
  }
  if (offset == kMoveOffset && size == 8) {
    const std::shared_ptr<Device> self = shared_from_this();
    VMM_CHECK(memory_.remove(region_base_).ok(), "scenario device: move out");
    if (memory_.add_mmio(value, region_size_, self).ok()) {
      region_base_ = value;
      return kOkStatus;
    }
    VMM_CHECK(memory_.add_mmio(region_base_, region_size_, self).ok(),
              "scenario device: move back");
    return Status::error(ErrorCode::kDeviceError, "scenario device cannot move there", value, size);
  }
  if (device_refuses(offset)) {
    return Status::error(ErrorCode::kDeviceError, "scenario device refuses this offset", offset,
                         size);
  }
  return kOkStatus;
}

}  // namespace vmmem::scenario::mem
