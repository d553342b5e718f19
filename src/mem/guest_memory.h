// GuestMemory: a guest physical address space made of RAM regions (host memory) and MMIO
// regions (device callbacks), with checked scalar and bulk access.
//
// Thread safety: accesses (read*, write*, host_span) and check() may run concurrently from
// any number of threads. add_ram, add_mmio and remove need exclusive access: no other call
// may run at the same time. Two threads touching the same guest bytes race as the guest
// program does: plain accesses copy bytes and promise no atomicity; the atomic accesses
// (load_atomic, store_atomic, compare_exchange, fetch_add, fetch_or) are atomic with the
// memory order asked for, against each other and against host-span users of std::atomic_ref.
//
// An MMIO handler runs inside the access, on the accessing thread, and may call back into the
// same GuestMemory: accesses always; add_ram, add_mmio and remove (a device moving or unplugging
// its own region) when the accessing thread has the exclusive access those calls need. The
// handler is kept alive for the whole call even when it removes its own region. What a handler
// does through such calls is the device's own doing: it stands even when the handler then
// refuses the access ("a failed call changes nothing" is about what GuestMemory does).
//
// The last-region cache is per thread (thread_local), so threads working in different RAM
// regions never write a shared cache line; the mem/parallel_read_u64/own_region bench checks
// that. It is also one entry per thread for all instances: a thread alternating between two
// GuestMemory objects misses every time, and should give each a MemoryAccessor instead.
//
// Invariants (check() verifies each):
//   1. regions_ is sorted by base and no two regions overlap.
//   2. Every region has size > 0 and its last byte, base + size - 1, does not wrap; a region
//      may end exactly at the top of the address space.
//   3. A RAM region has base and size aligned to kPageSize and owns a host mapping of exactly
//      size bytes, made of host pages (mapping_granule_; the slack up to the next host page is
//      unreachable); an MMIO region has a handler and no host bytes.
//   4. ram_bytes_ is the sum of RAM region sizes and stays <= limits_.max_ram_bytes;
//      regions_.size() <= limits_.max_regions.
//   5. When the calling thread's cached window carries generation_, it is exactly one RAM
//      region of regions_ (base, size, host and dirty bitmap).
//   6. generation_ takes a fresh process-wide value at construction and at every successful
//      add_ram, add_mmio and remove, so a cached window (the thread's own or a MemoryAccessor's)
//      is valid exactly while generation() returns the value it was taken at, and a window
//      taken from another instance, even one since destroyed at the same address, never is.
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
#include <mutex>
#include <optional>
#include <span>
#include <vector>

#include "mem/dirty_bitmap.h"
#include "mem/host_mapping.h"
#include "mem/mmio.h"
#include "support/bits.h"
#include "support/status.h"

namespace vmmem::mem {

inline constexpr uint64_t kPageSize = 4096;

struct GuestMemoryLimits {
  uint64_t max_ram_bytes = uint64_t{1} << 40;  // total RAM over all regions
  size_t max_regions = 4096;
  // The page size host mappings are made of: the larger of this and the host's own. Tests and
  // the fuzzer set 16 KiB or 64 KiB to run as on an aarch64 or ppc64le host. A power of two.
  uint64_t host_page_size = 0;
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

// Told of every generation change (see GuestMemory::add_generation_listener).
class GenerationListener {
 public:
  virtual void generation_changed() = 0;

 protected:
  ~GenerationListener() = default;
};

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

  // Bulk copies over one RAM region or several adjacent ones. The other side may be a host
  // span of this same guest memory, overlapping or not: copies behave like memmove.
  Status read(uint64_t address, std::span<std::byte> out) const;
  Status write(uint64_t address, std::span<const std::byte> in);

  // Atomic access to a naturally aligned scalar in RAM, with the memory order asked for: for
  // rings shared with the guest (virtio) and page-table A/D updates. Refused, in this order: an
  // order the operation cannot take (an acquire store, a release load; anything but the six
  // std::memory_order values) or an address that is not a multiple of sizeof(T) ->
  // kInvalidArgument; no region -> kUnmapped; MMIO -> kUnsupported.
  template <GuestScalar T>
  Result<T> load_atomic(uint64_t address, std::memory_order order) const;
  template <GuestScalar T>
  Status store_atomic(uint64_t address, T value, std::memory_order order);
  // Stores `desired` if the value equals `expected`; returns the value found (so the exchange
  // happened exactly when it equals `expected`).
  template <GuestScalar T>
  Result<T> compare_exchange(uint64_t address, T expected, T desired, std::memory_order order);
  // Add (wrapping) or or `value` in; return the value before.
  template <GuestScalar T>
  Result<T> fetch_add(uint64_t address, T value, std::memory_order order);
  template <GuestScalar T>
  Result<T> fetch_or(uint64_t address, T value, std::memory_order order);

  // Host view of [address, address + size) when it lies inside a single RAM region (for DMA
  // and page-table walkers). The view stays valid until that region is removed.
  Result<std::span<std::byte>> host_span(uint64_t address, uint64_t size) const;

  // Dirty-page tracking, per RAM region, for live migration: while on, every write path
  // (scalar, bulk, atomic stores and read-modify-writes, a compare-exchange only when it
  // exchanges) marks the kDirtyPageSize pages it wrote; writers through a host span call
  // mark_dirty. set_dirty_tracking needs exclusive access (like add/remove); take_dirty and
  // mark_dirty may run alongside accesses.
  //   set_dirty_tracking: no region starts at base -> kNotFound; MMIO -> kUnsupported. Turning
  //     it on starts from a clean bitmap (on again keeps it); off drops it.
  //   take_dirty: as set_dirty_tracking, then tracking off -> kInvalidArgument; returns the
  //     region's bitmap (bit i of word i / 64: page i) and clears it.
  //   mark_dirty: the RAM range rules of bulk access; pages of untracked regions are ignored.
  Status set_dirty_tracking(uint64_t base, bool on);
  Result<std::vector<uint64_t>> take_dirty(uint64_t base);
  Status mark_dirty(uint64_t address, uint64_t size);

  // The RAM region that holds `address`, as a window a MemoryAccessor can cache: valid while
  // generation() stays the same. Writers through the window mark `dirty` when it is not null.
  struct RamWindow {
    uint64_t base;
    uint64_t size;
    std::byte* host;
    DirtyBitmap* dirty;
  };
  std::optional<RamWindow> ram_window(uint64_t address) const;
  // Changes whenever a region is added or removed, or its dirty tracking turned on or off.
  uint64_t generation() const { return generation_.load(std::memory_order_relaxed); }
  // Listeners are told after every generation change, on the thread that made it and before
  // that call returns, so a cache of host addresses (a vCPU's TLB) can mark itself stale once
  // instead of reading generation() on every access. A listener must not call back into this
  // GuestMemory from generation_changed(). Registration may run alongside accesses and other
  // registrations. REQUIRES: a listener stays alive until removed; remove only one added.
  void add_generation_listener(GenerationListener* listener);
  void remove_generation_listener(GenerationListener* listener);

  std::vector<RegionInfo> regions() const;
  uint64_t ram_bytes() const { return ram_bytes_; }
  const GuestMemoryLimits& limits() const { return limits_; }

  // Verifies invariants 1-5 (5 for the calling thread); the first violation found, or ok.
  Status check() const;

 private:
  struct Region {
    uint64_t base;
    uint64_t size;
    std::byte* host;  // RAM only
    HostMapping mapping;
    std::shared_ptr<MmioHandler> mmio;   // MMIO only
    std::unique_ptr<DirtyBitmap> dirty;  // RAM with tracking on only
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

  // The RAM region a thread used last, in whichever GuestMemory; see invariants 5 and 6.
  struct ThreadWindow {
    uint64_t generation;  // 0 (never issued) until the thread's first slow-path access
    uint64_t base;
    uint64_t size;
    std::byte* host;
    DirtyBitmap* dirty;  // the region's, when tracking is on
  };
  // Constant-initialized and trivially destructible, so the inline fast paths read it with one
  // thread-pointer-relative load and no TLS wrapper call.
  static inline constinit thread_local ThreadWindow thread_window_{};
  // Where generations come from (invariant 6); starts at 1, since 0 marks an empty window. It has
  // the window's linkage: were it one per copy of the library while the window is one per
  // process (an inline thread_local is, under the GNU ABI), two copies loaded side by side would
  // issue the same generations and one would read through the other's window.
  static inline constinit std::atomic<uint64_t> generation_counter_{1};

  enum class AtomicKind { kLoad, kStore, kReadModifyWrite };
  static constexpr bool order_allowed(AtomicKind kind, std::memory_order order);
  // Where the naturally aligned T at `address` lives in RAM, or why an atomic access there is
  // refused (the order documented at load_atomic).
  template <GuestScalar T>
  Result<T*> atomic_location(uint64_t address, AtomicKind kind, std::memory_order order) const;
  Result<std::byte*> atomic_location_slow(uint64_t address, unsigned width) const;

  const Region* find(uint64_t address) const;
  Status validate_ram_range(uint64_t address, uint64_t size, const Region** first) const;
  Status admit(uint64_t base, uint64_t size) const;  // overlap and table-size checks
  void insert(Region region);
  // Whether the thread's window holds a T at `address`; if so, *host is where. The scalar fast
  // path: it skips the bulk checks below because a valid window is a RAM region, at least
  // kPageSize bytes, so window.size - sizeof(T) cannot wrap.
  template <GuestScalar T>
  bool scalar_in_window(uint64_t address, std::byte** host) const {
    const ThreadWindow& window = thread_window_;
    const uint64_t offset = address - window.base;  // huge when address < base
    if (window.generation != generation() || offset > window.size - sizeof(T)) return false;
    *host = window.host + offset;
    return true;
  }
  // Host address of [address, address + size) when the thread's window holds all of it and
  // size > 0; otherwise null.
  std::byte* cached_ram_containing(uint64_t address, uint64_t size) const {
    const ThreadWindow& window = thread_window_;
    if (window.generation != generation() || size == 0 || size > window.size) return nullptr;
    const uint64_t offset = address - window.base;
    return offset <= window.size - size ? window.host + offset : nullptr;
  }
  void remember(const Region& region) const {
    thread_window_ =
        ThreadWindow{generation(), region.base, region.size, region.host, region.dirty.get()};
  }
  // Marks [address, address + size) written, through the thread's window. REQUIRES: the window
  // holds the range (an access through it just succeeded).
  static void note_written(uint64_t address, uint64_t size) {
    const ThreadWindow& window = thread_window_;
    if (window.dirty != nullptr) window.dirty->mark(address - window.base, size);
  }
  void advance_generation();
  static uint64_t fresh_generation();
  // Whether `bytes` shares a byte with the host memory of any RAM region.
  bool overlaps_ram(std::span<const std::byte> bytes) const;

  GuestMemoryLimits limits_;
  uint64_t mapping_granule_;  // host page size of every RAM mapping (invariant 3)
  std::vector<Region> regions_;
  uint64_t ram_bytes_ = 0;
  // Set by the constructor and add/remove (exclusive access); read by every cached access.
  // Relaxed is enough: add/remove are ordered against accesses by the caller's own
  // synchronization, which exclusive access already requires.
  std::atomic<uint64_t> generation_;
  std::mutex listeners_mutex_;
  std::vector<GenerationListener*> listeners_;  // guarded by listeners_mutex_
};

template <GuestScalar T>
inline Result<T> GuestMemory::read(uint64_t address) const {
  if (std::byte * host; scalar_in_window<T>(address, &host)) {
    T value;
    std::memcpy(&value, host, sizeof(T));
    return from_little_endian(value);
  }
  Result<uint64_t> slow = read_slow(address, sizeof(T));
  if (!slow.ok()) return slow.status();
  return static_cast<T>(slow.value());
}

template <GuestScalar T>
inline Status GuestMemory::write(uint64_t address, T value) {
  if (std::byte * host; scalar_in_window<T>(address, &host)) {
    const T stored = from_little_endian(value);
    std::memcpy(host, &stored, sizeof(T));
    note_written(address, sizeof(T));
    return kOkStatus;
  }
  return write_slow(address, sizeof(T), value);
}

}  // namespace vmmem::mem

#include "mem/guest_memory_atomic.h"  // IWYU pragma: export
