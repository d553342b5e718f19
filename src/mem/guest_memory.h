// GuestMemory: a guest physical address space made of RAM regions (host memory) and MMIO
// regions (device callbacks), with checked scalar and bulk access.
//
// Thread safety: every call may run concurrently with every other, from any number of threads;
// add_ram, add_mmio, remove and set_dirty_tracking (the table changes) are serialized among
// themselves. Readers never wait for them: each access works on one version of the region table
// (region_table.h), and a table change publishes a new version without stopping anyone. An
// access that overlaps a table change behaves as if it ran entirely before or entirely after it:
// every byte it moves belongs to a region that was mapped at some point during the call. A
// removed region's host memory stays mapped while anything still holds it (a pinned span, a
// MemoryAccessor or a MemorySnapshot, a RamWindow's hold, a thread's cached table, an access in
// flight) and is released when the last holder lets go; a write that lands in it then reaches
// no region, exactly as if it had happened before the remove. Two threads touching the same
// guest bytes race as the guest program does: plain accesses copy bytes and promise no
// atomicity; the atomic accesses (load_atomic, store_atomic, compare_exchange, fetch_add,
// fetch_or) are atomic with the memory order asked for, against each other and against
// host-span users of std::atomic_ref.
//
// Holding host memory: host_span() returns a raw view, valid until its region is removed; a
// caller that may race with remove() takes pin_span() instead, whose view stays mapped for as
// long as the PinnedSpan lives. A caller that caches host addresses across accesses (a TLB's
// addend, a page walker's window) keeps the RamWindow's `hold`, or works on a MemorySnapshot,
// for as long as it uses them, and revalidates against generation() as before. Each thread
// keeps the table version its last slow-path access used; a thread that stops accessing guest
// memory (a parked vCPU) calls release_thread_cache() so that removed regions it last saw can be
// released at once. Raw host spans used after their region's removal are caught, not made
// safe: released host ranges stay inaccessible in a bounded quarantine (host_mapping.h).
//
// An MMIO handler runs inside the access, on the accessing thread, and may call back into the
// same GuestMemory: accesses, and add_ram, add_mmio and remove (a device moving or unplugging
// its own region). The handler is kept alive for the whole call even when it removes its own
// region. What a handler does through such calls is the device's own doing: it stands even when
// the handler then refuses the access ("a failed call changes nothing" is about what
// GuestMemory does).
//
// The last-region cache is per thread (thread_local), so threads working in different RAM
// regions never write a shared cache line; the mem/parallel_read_u64/own_region bench checks
// that. It is also one entry per thread for all instances: a thread alternating between two
// GuestMemory objects misses every time, and should give each a MemoryAccessor instead.
//
// Invariants (check() verifies each on the current table version):
//   1. The table's regions are sorted by base and no two regions overlap.
//   2. Every region has size > 0 and its last byte, base + size - 1, does not wrap; a region
//      may end exactly at the top of the address space.
//   3. A RAM region has base and size aligned to kPageSize and owns a host mapping of exactly
//      size bytes, made of host pages (mapping_granule_; the slack up to the next host page is
//      unreachable); an MMIO region has a handler and no host bytes.
//   4. The table's ram_bytes is the sum of RAM region sizes and stays <= limits_.max_ram_bytes;
//      the region count stays <= limits_.max_regions.
//   5. When the calling thread's cached window carries generation_, it is exactly one RAM
//      region of the current table (base, size, host and dirty bitmap), and the thread holds
//      that table.
//   6. generation_ is the generation of the current table: a fresh process-wide value at
//      construction and at every successful table change (add_ram, add_mmio, remove, dirty
//      tracking on or off), published after the table, so a cached window (the thread's own or
//      a MemoryAccessor's) is valid exactly while generation() returns the value it was taken
//      at, and a window taken from another instance, even one since destroyed at the same
//      address, never is.
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
//     kUnsupported, and for a write (discard and mark_dirty included) a ROM region ->
//     kReadOnly. Adjacent RAM regions (ROM among them, for reads) form one contiguous range.
//   atomic access: as at load_atomic, then a store or read-modify-write in ROM -> kReadOnly
//     (a compare-exchange too, whatever it would have found).
//   set_dirty_tracking, take_dirty: a ROM region is refused like MMIO (kUnsupported).
//   add_ram: size 0 or base/size not kPageSize-aligned -> kInvalidArgument; wraps ->
//     kOverflow; overlaps a region -> kConflict; too many regions or RAM over budget ->
//     kOutOfMemory; then the backing (a bad file -> kInvalidArgument, the host refusing ->
//     kOutOfMemory). add_mmio: no handler or size 0 -> kInvalidArgument; then as add_ram from
//     kOverflow on, without the RAM budget. remove: no region starts at base -> kNotFound.
//   discard: misaligned address or size -> kInvalidArgument; empty -> ok; then RAM range.
//   host_span and pin_span: empty -> ok (an empty view); wraps -> kOverflow; first byte
//     unbacked -> kUnmapped; MMIO, or the range leaves its RAM region -> kUnsupported; ROM ->
//     kReadOnly. shared_ram: the same, then RAM that is not shared -> kUnsupported.
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
#include "mem/region_table.h"
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

enum class RegionKind : uint8_t { kRam, kMmio, kRom };

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

// The RAM region that holds an address, as a window a cache can keep: valid while the memory's
// generation() equals `generation`. `hold` keeps `host` (and `dirty`) mapped for as long as it
// lives, even past the region's removal; a cache that may race with add/remove keeps it.
// Writers through the window mark `dirty` when it is not null.
struct RamWindow {
  uint64_t base;
  uint64_t size;
  std::byte* host;
  DirtyBitmap* dirty;
  uint64_t generation = 0;
  std::shared_ptr<const void> hold;
  // ROM: reads only. Its host bytes are mapped read-only, so a cache that writes through
  // `host` (a TLB's store path) must refuse stores here itself.
  bool read_only = false;
};

// A host view of guest RAM that keeps its host memory mapped while it lives (pin_span).
struct PinnedSpan {
  std::span<std::byte> bytes;
  std::shared_ptr<const void> hold;  // null for an empty span
};

// The file behind shared guest RAM (GuestMemory::shared_ram).
struct SharedRam {
  int fd = -1;  // owned by guest memory; open while `hold` lives
  uint64_t offset = 0;
  std::shared_ptr<const void> hold;
};

class MemorySnapshot;

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
  ~GuestMemory();

  // Backs [base, base + size) with fresh zeroed host memory.
  Status add_ram(uint64_t base, uint64_t size);
  // The same, backed as `backing` says (host_mapping.h): a memfd another process can map
  // (shared_ram), a caller's file shared or private, huge-page advice. Refused as add_ram, then
  // as HostMapping::create refuses the backing (kInvalidArgument for a bad file, kOutOfMemory
  // when the host refuses).
  Status add_ram(uint64_t base, uint64_t size, const RamBacking& backing);
  // Maps read-only memory (a firmware image, an option ROM) holding `contents` at
  // [base, base + contents.size()). Reads take the RAM paths (a ROM next to RAM is part of one
  // contiguous range for reads); every write path refuses it with kReadOnly; it has no host span
  // (those are writable views) and no dirty pages. Refused as add_ram, with contents.size() as
  // the size (ROM counts against the RAM budget).
  Status add_rom(uint64_t base, std::span<const std::byte> contents);
  // Routes scalar accesses to [base, base + size) to `handler`.
  Status add_mmio(uint64_t base, uint64_t size, std::shared_ptr<MmioHandler> handler);
  // Removes the region that starts at `base`; RAM contents are discarded once nothing holds
  // them (see Thread safety).
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

  // Discards the RAM pages of [address, address + size) (a balloon's inflation, free-page
  // reporting): they read as zeros afterwards and whole host pages go back to the host. The
  // pages count as written for dirty tracking. Refused, in this order: address or size not a
  // multiple of kPageSize -> kInvalidArgument; then the RAM range rules of bulk access. An
  // empty range is ok and discards nothing.
  Status discard(uint64_t address, uint64_t size);

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
  // The same view, holding the region's host memory mapped for as long as the PinnedSpan
  // lives: a DMA that completes after a concurrent remove() writes into memory no region owns
  // any more, never into a region mapped later.
  Result<PinnedSpan> pin_span(uint64_t address, uint64_t size) const;

  // The file behind [address, address + size) of shared RAM (a memfd or a file mapped shared),
  // for a process that maps the same memory: a vhost-user backend gets fd and offset and sees
  // the guest's writes as the guest sees its own. `hold` keeps fd open and the region's memory
  // mapped. Writes through the file are not dirty-tracked (like host-span writers, such a
  // writer reports them with mark_dirty). Refused as host_span, then RAM that is not shared
  // (anonymous or a private file) -> kUnsupported. An empty range is ok, with fd -1.
  Result<SharedRam> shared_ram(uint64_t address, uint64_t size) const;

  // Dirty-page tracking, per RAM region, for live migration: while on, every write path
  // (scalar, bulk, atomic stores and read-modify-writes, a compare-exchange only when it
  // exchanges) marks the kDirtyPageSize pages it wrote; writers through a host span call
  // mark_dirty. A write in flight while tracking is turned on may go unmarked (it ran before
  // the call, as far as the bitmap knows): migration takes a last pass with the vCPUs stopped.
  //   set_dirty_tracking: no region starts at base -> kNotFound; MMIO -> kUnsupported. Turning
  //     it on starts from a clean bitmap (on again keeps it); off drops it.
  //   take_dirty: as set_dirty_tracking, then tracking off -> kInvalidArgument; returns the
  //     region's bitmap (bit i of word i / 64: page i) and clears it.
  //   mark_dirty: the RAM range rules of bulk access; pages of untracked regions are ignored.
  Status set_dirty_tracking(uint64_t base, bool on);
  Result<std::vector<uint64_t>> take_dirty(uint64_t base);
  Status mark_dirty(uint64_t address, uint64_t size);

  // The RAM region that holds `address`, as a window a MemoryAccessor can cache (see
  // RamWindow: valid while generation() == window.generation; `hold` keeps it mapped).
  using RamWindow = mem::RamWindow;
  std::optional<RamWindow> ram_window(uint64_t address) const;
  // Changes whenever the region table changes: a region added or removed, or its dirty
  // tracking turned on or off.
  uint64_t generation() const { return generation_.load(std::memory_order_relaxed); }
  // Listeners are told after every generation change, on the thread that made it and before
  // that call returns, so a cache of host addresses (a vCPU's TLB) can mark itself stale once
  // instead of reading generation() on every access. A listener must not call back into this
  // GuestMemory from generation_changed(). Registration may run alongside accesses and other
  // registrations. REQUIRES: a listener stays alive until removed; remove only one added.
  void add_generation_listener(GenerationListener* listener);
  void remove_generation_listener(GenerationListener* listener);

  // The current version of the region table, held: what a reader that must see one consistent
  // table over many calls (a TLB, a batch of DMA) works on.
  MemorySnapshot snapshot() const;
  // Drops the calling thread's cached table (for every GuestMemory), so that the host memory of
  // regions removed since its last access can be released now rather than at its next access
  // or its exit.
  static void release_thread_cache();

  std::vector<RegionInfo> regions() const;
  uint64_t ram_bytes() const;
  const GuestMemoryLimits& limits() const { return limits_; }

  // Verifies invariants 1-5 (5 for the calling thread); the first violation found, or ok.
  Status check() const;

 private:
  friend class MemorySnapshot;

  template <GuestScalar T>
  static T from_little_endian(T value) {
    if constexpr (std::endian::native == std::endian::big && sizeof(T) > 1) {
      return byteswap(value);
    }
    return value;
  }

  Result<uint64_t> read_slow(uint64_t address, unsigned width) const;
  Status write_slow(uint64_t address, unsigned width, uint64_t value);

  // The RAM region a thread used last, in whichever GuestMemory, and the table version the
  // thread holds (its holder lives in guest_memory.cc); see invariants 5 and 6.
  struct ThreadWindow {
    uint64_t generation;  // 0 (never issued) when the window holds no region
    uint64_t base;
    uint64_t size;
    std::byte* host;
    DirtyBitmap* dirty;         // the region's, when tracking is on
    uint64_t write_generation;  // generation for RAM, 0 for ROM: what write fast paths check
    uint64_t table_generation;  // of `table`; 0 when the thread holds none
    const RegionTable* table;   // held by the thread while table_generation is not 0
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
  Result<std::byte*> atomic_location_slow(uint64_t address, unsigned width, bool for_write) const;

  // The current table version, as the calling thread holds it (taking the newest when the one
  // it holds is stale). Valid until the thread's next call into a GuestMemory.
  const RegionTable& thread_table() const;
  std::shared_ptr<const RegionTable> load_table() const;
  // Publishes `next` as the current table under a fresh generation. REQUIRES: writer_mutex_.
  void publish(RegionTable next);
  // The RAM range rules; `for_write` refuses ROM too.
  Status validate_ram_range(const RegionTable& table, uint64_t address, uint64_t size,
                            const Region** first, bool for_write) const;
  Status admit(const RegionTable& table, uint64_t base, uint64_t size) const;
  Status insert(uint64_t base, uint64_t size, Region region);  // admit, then publish
  // add_ram (contents empty) and add_rom (always anonymous).
  Status add_host_backed(uint64_t base, uint64_t size, std::span<const std::byte> contents,
                         bool read_only, const RamBacking& backing);
  // Whether the thread's window holds a T at `address`; if so, *host is where. The scalar fast
  // path: it skips the bulk checks below because a valid window is a RAM region, at least
  // kPageSize bytes, so window.size - sizeof(T) cannot wrap.
  // For writes, `for_write`: the window must be writable RAM (its write_generation, 0 for ROM).
  template <GuestScalar T, bool for_write = false>
  bool scalar_in_window(uint64_t address, std::byte** host) const {
    const ThreadWindow& window = thread_window_;
    const uint64_t offset = address - window.base;  // huge when address < base
    const uint64_t tag = for_write ? window.write_generation : window.generation;
    if (tag != generation() || offset > window.size - sizeof(T)) return false;
    *host = window.host + offset;
    return true;
  }
  // Host address of [address, address + size) when the thread's window holds all of it and
  // size > 0 (and, `for_write`, is writable); otherwise null.
  template <bool for_write>
  std::byte* cached_ram_containing(uint64_t address, uint64_t size) const {
    const ThreadWindow& window = thread_window_;
    const uint64_t tag = for_write ? window.write_generation : window.generation;
    if (tag != generation() || size == 0 || size > window.size) return nullptr;
    const uint64_t offset = address - window.base;
    return offset <= window.size - size ? window.host + offset : nullptr;
  }
  // REQUIRES: region is in the table the thread holds (thread_table()).
  static void remember(const Region& region) {
    ThreadWindow& window = thread_window_;
    window.generation = window.table_generation;
    window.write_generation = region.read_only ? 0 : window.table_generation;
    window.base = region.base;
    window.size = region.size;
    window.host = region.host;
    window.dirty = region.dirty.get();
  }
  // Marks [address, address + size) written, through the thread's window. REQUIRES: the window
  // holds the range (an access through it just succeeded).
  static void note_written(uint64_t address, uint64_t size) {
    const ThreadWindow& window = thread_window_;
    if (window.dirty != nullptr) window.dirty->mark(address - window.base, size);
  }
  static uint64_t fresh_generation();
  // Tells every GenerationListener; called by publish() after the new generation is stored.
  void notify_generation_listeners();
  // Whether `bytes` shares a byte with the host memory of any RAM region of `table`.
  static bool overlaps_ram(const RegionTable& table, std::span<const std::byte> bytes);

  const GuestMemoryLimits limits_;
  const uint64_t mapping_granule_;  // host page size of every RAM mapping (invariant 3)
  std::mutex writer_mutex_;         // serializes table changes
  mutable std::mutex table_mutex_;  // guards the pointer table_ (never the table)
  std::shared_ptr<const RegionTable> table_;
  // The current table's generation, stored (release) after table_ is published; read by every
  // cached access.
  std::atomic<uint64_t> generation_;
  std::mutex listeners_mutex_;
  std::vector<GenerationListener*> listeners_;  // guarded by listeners_mutex_
};

// One version of a GuestMemory's region table, held: every RAM region it lists stays mapped
// while the snapshot lives, removed since or not. Answers as the memory did when it was taken.
class MemorySnapshot {
 public:
  MemorySnapshot() = default;
  uint64_t generation() const { return table_ ? table_->generation : 0; }
  // Whether the memory's table has changed since (one check for a whole batch of accesses).
  bool current(const GuestMemory& memory) const { return generation() == memory.generation(); }
  // The RAM region holding `address` in this version; its host bytes stay valid while the
  // snapshot (or the window's hold) lives.
  std::optional<RamWindow> ram_window(uint64_t address) const;
  // host_span's rules, on this version.
  Result<std::span<std::byte>> host_span(uint64_t address, uint64_t size) const;
  std::vector<RegionInfo> regions() const;

 private:
  friend class GuestMemory;
  explicit MemorySnapshot(std::shared_ptr<const RegionTable> table) : table_(std::move(table)) {}
  std::shared_ptr<const RegionTable> table_;
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
  if (std::byte * host; scalar_in_window<T, /*for_write=*/true>(address, &host)) {
    const T stored = from_little_endian(value);
    std::memcpy(host, &stored, sizeof(T));
    note_written(address, sizeof(T));
    return kOkStatus;
  }
  return write_slow(address, sizeof(T), value);
}

}  // namespace vmmem::mem

#include "mem/guest_memory_atomic.h"  // IWYU pragma: export
