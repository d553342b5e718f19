// HostMapping: anonymous host memory that backs one guest RAM region.
//
// Invariants:
//   1. A non-empty mapping owns exactly size() readable and writable bytes at data() (readable
//      only after protect_read_only()), zero when fresh, and releases them on destruction.
//   2. The mapping is made of whole pages of granule() bytes (a power of two, at least the
//      system page size): size() rounded up to a page is readable and writable, and one
//      inaccessible guard page sits directly below and one directly above that, so an access
//      that escapes the region faults instead of reading a neighbour.
//   3. A mapping is released when its owner lets go of it (GuestMemory shares it among table
//      versions and pins, so that is after the last holder). Released host ranges are not handed
//      back to the system at once: they stay reserved and inaccessible in a bounded process-wide
//      quarantine (at most kQuarantineBytes of address space in kQuarantineRanges ranges, oldest
//      released first), so a host span kept past its region's removal faults instead of writing
//      into whatever the next mapping puts there.
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

  // Address space the quarantine (invariant 3) may hold.
  static constexpr uint64_t kQuarantineBytes = uint64_t{64} << 30;
  static constexpr size_t kQuarantineRanges = 1024;  // each is a kernel mapping (VMA)

  // Maps `size` zeroed bytes in pages of `granule` bytes. REQUIRES: size > 0; granule a power
  // of two and a multiple of system_page_size().
  static Result<HostMapping> create(uint64_t size, uint64_t granule);
  static uint64_t system_page_size();
  // Bytes of guest RAM in mappings not yet released, process-wide (tests check release with it).
  static uint64_t live_bytes();

  // Makes [offset, offset + size) read as zeros: whole host pages go back to the system
  // (MADV_DONTNEED: committed memory is released, the next touch maps a zero page), the partial
  // host pages at either end are cleared. REQUIRES: the range lies inside the mapping.
  void zero(uint64_t offset, uint64_t size) const;

  // Makes the mapping read-only from now on (ROM): a write through any view of it faults.
  Status protect_read_only();

  std::byte* data() const { return data_; }
  uint64_t size() const { return size_; }
  uint64_t granule() const { return granule_; }

 private:
  HostMapping(std::byte* data, uint64_t size, uint64_t granule)
      : data_(data), size_(size), granule_(granule) {}
  void release();

  std::byte* data_ = nullptr;
  uint64_t size_ = 0;
  uint64_t granule_ = 0;
};

}  // namespace vmmem::mem
