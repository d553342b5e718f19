// HostMapping: anonymous host memory that backs one guest RAM region.
//
// Invariants:
//   1. A non-empty mapping owns exactly size() readable and writable bytes at data(), zero
//      when fresh, and unmaps them on destruction.
//   2. One inaccessible guard page sits directly below and one directly above those bytes, so
//      an access that escapes the region faults at once instead of reading a neighbour.
#pragma once

#include <cstddef>
#include <cstdint>

#include "support/status.h"

namespace vmmem::mem {

class HostMapping {
 public:
  HostMapping() = default;
  HostMapping(HostMapping&& other) noexcept;
  HostMapping& operator=(HostMapping&& other) noexcept;
  HostMapping(const HostMapping&) = delete;
  HostMapping& operator=(const HostMapping&) = delete;
  ~HostMapping();

  // Maps `size` zeroed bytes. REQUIRES: size > 0 and a multiple of the host page size.
  static Result<HostMapping> create(uint64_t size);

  std::byte* data() const { return data_; }
  uint64_t size() const { return size_; }

 private:
  HostMapping(std::byte* data, uint64_t size) : data_(data), size_(size) {}
  void release();

  std::byte* data_ = nullptr;
  uint64_t size_ = 0;
};

}  // namespace vmmem::mem
