// MmioHandler: the device side of an MMIO region. GuestMemory calls it for every scalar
// access that falls inside the region, on the accessing thread.
#pragma once

#include <cstdint>

#include "support/status.h"

namespace vmmem::mem {

class MmioHandler {
 public:
  virtual ~MmioHandler() = default;

  // A guest load. `offset` is from the region's base and the whole access
  // [offset, offset + size) lies inside the region; size is 1, 2, 4 or 8. Bits of the result
  // above `size` bytes are ignored. An error makes the access fail with kDeviceError.
  virtual Result<uint64_t> read(uint64_t offset, unsigned size) = 0;

  // A guest store of the low `size` bytes of `value`; same guarantees as read().
  virtual Status write(uint64_t offset, unsigned size, uint64_t value) = 0;
};

}  // namespace vmmem::mem
