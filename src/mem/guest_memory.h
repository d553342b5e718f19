// GuestMemory: a guest physical address space made of RAM regions (host memory) and MMIO
// regions (device callbacks), with checked scalar and bulk access.
//
// Thread safety: accesses (read*, write*, host_span) and check() may run concurrently from
// any number of threads. add_ram, add_mmio and remove need exclusive access: no other call
// may run at the same time. Two threads touching the same guest bytes race as the guest
// program does; vmmem copies bytes with memcpy and promises no atomicity.
//
// The last-region cache is one word shared by every thread. Threads that work in different
// RAM regions overwrite it in turn and bounce its cache line between cores (the
// mem/parallel_read_u64/own_region bench shows the cost); give each such thread, as each vCPU,
// its own MemoryAccessor, whose cache is private.
//
// Invariants (check() verifies each):
//   1. regions_ is sorted by base and no two regions overlap.
//   2. Every region has size > 0 and its last byte, base + size - 1, does not wrap; a region
//      may end exactly at the top of the address space.
//   3. A RAM region has base and size aligned to kPageSize and owns a host mapping of exactly
//      size bytes; an MMIO region has a handler and no host bytes.
//   4. ram_bytes_ is the sum of RAM region sizes and stays <= limits_.max_ram_bytes;
//      regions_.size() <= limits_.max_regions.
//   5. last_ram_ is null or points at a RAM region inside regions_.
//   6. generation_ changes with every successful add_ram, add_mmio and remove, so a cached
//      RamWindow is valid exactly while generation() returns the value it was taken at.
//
// Every call is all-or-nothing: a range is validated in full before the first byte moves or
// the first MMIO callback runs, so a failed call changes nothing. Errors name the request
// (its address and size) and are decided in this order, which the reference model follows:
//   scalar access: width not 1/2/4/8 -> kInvalidArgument; range wraps -> kOverflow; first
//     byte unbacked -> kUnmapped; first byte in MMIO and the access leaves that region ->
//     kUnsupported; otherwise MMIO -> the handler (its refusal -> kDeviceError); otherwise RAM
//     rules below.
//   RAM range (scalar or bulk): empty bulk range -> ok, nothing moves; wraps -> kOverflow;
//     walking region by region from the first byte, a gap -> kUnmapped, an MMIO region ->
//     kUnsupported. Adjacent RAM regions form one contiguous range.
//   add_ram: size 0 or base/size not kPageSize-aligned -> kInvalidArgument; wraps ->
//     kOverflow; overlaps a region -> kConflict; too many regions or RAM over budget ->
//     kOutOfMemory. add_mmio: no handler or size 0 -> kInvalidArgument; then as add_ram from
//     kOverflow on, without the RAM budget. remove: no region starts at base -> kNotFound.
#pragma once

#include <atomic>
#include <bit>
#include <concepts>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <memory>
#include <optional>
#include <span>
#include <vector>

#include "mem/host_mapping.h"
#include "mem/mmio.h"
#include "support/bits.h"
#include "support/status.h"

namespace vmmem::mem {

inline constexpr uint64_t kPageSize = 4096;

struct GuestMemoryLimits {
  uint64_t max_ram_bytes = uint64_t{1} << 40;  // total RAM over all regions
  size_t max_regions = 4096;
};

enum class RegionKind : uint8_t { kRam, kMmio };

// What callers may learn about a region (regions(), tests, the reference model).
struct RegionInfo {
  uint64_t base;
  uint64_t size;
  RegionKind kind;
  friend bool operator==(const RegionInfo&, const RegionInfo&) = default;
};

template <class T>
concept GuestScalar = std::same_as<T, uint8_t> || std::same_as<T, uint16_t> ||
    std::same_as<T, uint32_t> || std::same_as<T, uint64_t>;

class GuestMemory {
 public:
  explicit GuestMemory(GuestMemoryLimits limits = {});
  GuestMemory(const GuestMemory&) = delete;
  GuestMemory& operator=(const GuestMemory&) = delete;

  // Backs [base, base + size) with fresh zeroed host memory.
  Status add_ram(uint64_t base, uint64_t size);
  // Routes scalar accesses to [base, base + size) to `handler`.
  Status add_mmio(uint64_t base, uint64_t size, std::shared_ptr<MmioHandler> handler);
  // Removes the region that starts at `base`; RAM contents are discarded.
  Status remove(uint64_t base);

  // Little-endian scalar access at any alignment. The fast path is one cached-region check.
  template <GuestScalar T>
  Result<T> read(uint64_t address) const;
  template <GuestScalar T>
  Status write(uint64_t address, T value);

  // Scalar access whose width (1, 2, 4 or 8) is known only at run time, e.g. from a decoded
  // instruction. The value is zero-extended on read and truncated on write.
  Result<uint64_t> read_scalar(uint64_t address, unsigned width) const;
  Status write_scalar(uint64_t address, unsigned width, uint64_t value);

  // Bulk copies over one RAM region or several adjacent ones.
  Status read(uint64_t address, std::span<std::byte> out) const;
  Status write(uint64_t address, std::span<const std::byte> in);

  // Host view of [address, address + size) when it lies inside a single RAM region (for DMA
  // and page-table walkers). The view stays valid until that region is removed.
  Result<std::span<std::byte>> host_span(uint64_t address, uint64_t size) const;

  // The RAM region that holds `address`, as a window a MemoryAccessor can cache: valid while
  // generation() stays the same.
  struct RamWindow {
    uint64_t base;
    uint64_t size;
    std::byte* host;
  };
  std::optional<RamWindow> ram_window(uint64_t address) const;
  // Changes whenever a region is added or removed.
  uint64_t generation() const { return generation_.load(std::memory_order_relaxed); }

  std::vector<RegionInfo> regions() const;
  uint64_t ram_bytes() const { return ram_bytes_; }
  const GuestMemoryLimits& limits() const { return limits_; }

  // Verifies invariants 1-5; the first violation found, or ok.
  Status check() const;

 private:
  struct Region {
    uint64_t base;
    uint64_t size;
    std::byte* host;  // RAM only
    HostMapping mapping;
    std::shared_ptr<MmioHandler> mmio;  // MMIO only
    uint64_t last() const { return base + (size - 1); }
  };

  template <GuestScalar T>
  static T from_little_endian(T value) {
    if constexpr (std::endian::native == std::endian::big && sizeof(T) > 1) {
      return byteswap(value);
    }
    return value;
  }

  Result<uint64_t> read_slow(uint64_t address, unsigned width) const;
  Status write_slow(uint64_t address, unsigned width, uint64_t value);

  const Region* find(uint64_t address) const;
  Status validate_ram_range(uint64_t address, uint64_t size, const Region** first) const;
  Status admit(uint64_t base, uint64_t size) const;  // overlap and table-size checks
  void insert(Region region);
  // The cached RAM region when it holds all of [address, address + size) and size > 0.
  const Region* cached_ram_containing(uint64_t address, uint64_t size) const {
    const Region* region = last_ram_.load(std::memory_order_relaxed);
    if (region == nullptr || size == 0 || size > region->size) return nullptr;
    return address - region->base <= region->size - size ? region : nullptr;
  }
  // Stores only on change, so threads that share one hot region keep its cache line shared.
  void remember(const Region* region) const {
    if (last_ram_.load(std::memory_order_relaxed) != region) {
      last_ram_.store(region, std::memory_order_relaxed);
    }
  }

  GuestMemoryLimits limits_;
  std::vector<Region> regions_;
  uint64_t ram_bytes_ = 0;
  // The RAM region of the last slow-path access. Relaxed is enough: regions_ only changes
  // under exclusive access (add/remove), which also clears this.
  mutable std::atomic<const Region*> last_ram_{nullptr};
  // Bumped by add/remove (exclusive access); read by accessors to validate their caches.
  std::atomic<uint64_t> generation_{0};
};

template <GuestScalar T>
inline Result<T> GuestMemory::read(uint64_t address) const {
  if (const Region* region = last_ram_.load(std::memory_order_relaxed)) {
    const uint64_t offset = address - region->base;  // huge when address < base
    if (offset <= region->size - sizeof(T)) {        // RAM regions are >= kPageSize bytes
      T value;
      std::memcpy(&value, region->host + offset, sizeof(T));
      return from_little_endian(value);
    }
  }
  Result<uint64_t> slow = read_slow(address, sizeof(T));
  if (!slow.ok()) return slow.status();
  return static_cast<T>(slow.value());
}

template <GuestScalar T>
inline Status GuestMemory::write(uint64_t address, T value) {
  if (const Region* region = last_ram_.load(std::memory_order_relaxed)) {
    const uint64_t offset = address - region->base;
    if (offset <= region->size - sizeof(T)) {
      const T stored = from_little_endian(value);
      std::memcpy(region->host + offset, &stored, sizeof(T));
      return kOkStatus;
    }
  }
  return write_slow(address, sizeof(T), value);
}

}  // namespace vmmem::mem
