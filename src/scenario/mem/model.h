// Model: the reference GuestMemory. A std::map of regions and a sparse map of 4 KiB pages of
// RAM contents (an absent page reads as zeros); scalar accesses go byte by byte. Each RAM region
// added is a new incarnation; a pinned span names the incarnation it pins, and when that region
// is removed its pages move aside (detached_) for as long as a pin still names it. It predicts
// every outcome of every op, errors included, following the error order documented in
// mem/guest_memory.h, and every call the scenario devices receive.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <span>
#include <vector>

#include "mem/guest_memory.h"
#include "scenario/common/reusable_bytes.h"
#include "scenario/mem/device.h"
#include "scenario/mem/ops.h"
#include "scenario/mem/outcome.h"

namespace vmmem::scenario::mem {

class Model {
 public:
  explicit Model(vmmem::mem::GuestMemoryLimits limits);

  // Applies op to the model state and returns what GuestMemory must do. The outcome's views
  // stay valid until the next apply().
  Outcome apply(const Op& op);

  std::vector<vmmem::mem::RegionInfo> regions() const;
  // The pin slots that hold a pin (for generators).
  std::vector<uint8_t> pinned_slots() const;

 private:
  struct Region {
    uint64_t base;
    uint64_t last;  // inclusive: a region may end at 2^64 - 1
    bool is_ram;
    uint64_t incarnation = 0;  // RAM only: unique per add
    bool read_only = false;    // ROM
    bool shared = false;       // a memfd or a file mapped shared: shared_ram answers
    bool tracking = false;     // dirty tracking on (RAM only)
    std::set<uint64_t> dirty;  // pages written since the last take, by index in the region
  };
  using Page = std::array<std::byte, 4096>;
  struct Pin {
    uint64_t incarnation;
    uint64_t region_base;  // where that incarnation is (or was) mapped
    uint64_t address;
    uint32_t length;
  };

  const Region* region_at(uint64_t address) const;
  bool overlaps(uint64_t base, uint64_t last) const;
  // The error of a RAM access to [address, address + length), or kOk. REQUIRES: length > 0.
  // With kWrite, a ROM region is an error too.
  static constexpr bool kWrite = true;
  ErrorCode ram_range_error(uint64_t address, uint64_t length, bool write = false) const;
  std::byte load(uint64_t address) const;
  void store(uint64_t address, std::byte value);
  void copy_out(uint64_t address, size_t length);  // into bytes_
  void copy_in(uint64_t address, std::span<const std::byte> data);
  // The same over any page map (a detached incarnation's), a page at a time: a map lookup per
  // byte made a pinned read of a removed region most of a mem_full input's time.
  static void copy_out_of(const std::map<uint64_t, Page>& pages, uint64_t address,
                          std::span<std::byte> out);
  static void copy_into(std::map<uint64_t, Page>& pages, uint64_t address,
                        std::span<const std::byte> data);

  Outcome add_ram(const AddRam& op);
  Outcome add_rom(const AddRom& op);
  Outcome add_backed_ram(const AddBackedRam& op);
  // add_ram, add_backed_ram (backing), or add_rom filled with pattern_bytes(rom_pattern).
  Outcome add_host_backed(uint64_t base, uint64_t size, std::optional<uint64_t> rom_pattern,
                          std::optional<Backing> backing = std::nullopt);
  // shared_ram's rules; kOk when [address, address + length) is nonempty shared RAM.
  ErrorCode shared_range_error(uint64_t address, uint32_t length) const;
  Outcome read_shared(const ReadShared& op);
  Outcome write_shared(const WriteShared& op);
  Outcome add_mmio(const AddMmio& op);
  Outcome remove(const RemoveRegion& op);
  Outcome read(const Read& op);
  Outcome write(const Write& op);
  Outcome read_bulk(const ReadBulk& op);
  Outcome write_bulk(const WriteBulk& op);
  Outcome host_span(const HostSpan& op);
  Outcome atomic(const Atomic& op);
  Outcome copy(const Copy& op);
  Outcome set_dirty_tracking(const SetDirtyTracking& op);
  Outcome take_dirty(const TakeDirty& op);
  Outcome mark_dirty(const MarkDirty& op);
  Outcome discard(const Discard& op);
  Outcome pin_span(const PinSpan& op);
  Outcome read_pinned(const ReadPinned& op);
  Outcome write_pinned(const WritePinned& op);
  // Whether the incarnation is still mapped (then its bytes are at their guest addresses).
  bool mapped(const Pin& pin) const;
  // Drops detached incarnations no pin names any more.
  void forget_unpinned();
  // Records a write of [address, address + length) in the tracked regions it covers.
  // REQUIRES: the range is RAM (ram_range_error said ok) and length > 0.
  void mark_written(uint64_t address, uint64_t length);
  // The scenario device's move register (device.h): `region` to `to`, or back where it was.
  Outcome move_device(Region region, uint64_t to);

  vmmem::mem::GuestMemoryLimits limits_;
  std::map<uint64_t, Region> regions_;  // by base
  std::map<uint64_t, Page> pages_;      // by guest page number (address / 4096)
  uint64_t ram_bytes_ = 0;
  uint64_t incarnations_ = 0;
  std::array<std::optional<Pin>, kPinSlots> pins_;
  // Removed incarnations a pin still names: guest page number -> contents, as when removed.
  std::map<uint64_t, std::map<uint64_t, Page>> detached_;
  ReusableBytes bytes_;    // the bytes of the last outcome
  DeviceLog calls_;        // the device calls of the last outcome
  ReusableBytes scratch_;  // WriteBulk data
};

}  // namespace vmmem::scenario::mem
