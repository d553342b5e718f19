#include "scenario/mem/profiles.h"

#include <array>

#include "scenario/mem/device.h"

namespace vmmem::scenario::mem {
namespace {

constexpr uint8_t kWidths[] = {1, 2, 4, 8};

uint8_t any_width(Rng& rng) {
  return kWidths[rng.below(4)];
}

// A width-aligned address inside the main RAM region, misaligned `misaligned_percent` of
// the time.
uint64_t ram_address(Rng& rng, uint8_t width, unsigned misaligned_percent) {
  uint64_t offset = rng.below(kProfileRamSize - 8);
  if (!rng.percent(misaligned_percent)) offset &= ~uint64_t{width - 1u};
  return kProfileRamBase + offset;
}

Op scalar(Rng& rng, uint64_t address, uint8_t width, unsigned write_percent) {
  if (rng.percent(write_percent)) return Write{address, width, rng.next()};
  return Read{address, width};
}

std::vector<Op> with_main_ram(size_t reserve) {
  std::vector<Op> ops;
  ops.reserve(reserve + 1);
  ops.push_back(AddRam{kProfileRamBase, kProfileRamSize});
  return ops;
}

std::vector<Op> scalar_sequential(Rng& rng, size_t count) {
  std::vector<Op> ops = with_main_ram(count);
  for (size_t i = 0; i < count; ++i) {
    ops.push_back(scalar(rng, kProfileRamBase + (i * 8) % kProfileRamSize, 8, 25));
  }
  return ops;
}

std::vector<Op> strided_access(Rng& /*rng*/, size_t count) {
  // One 8-byte load per 4 KiB + 64 B: a new page and a new cache line every access.
  std::vector<Op> ops = with_main_ram(count);
  for (size_t i = 0; i < count; ++i) {
    ops.push_back(Read{kProfileRamBase + (i * 4160) % (kProfileRamSize - 8), 8});
  }
  return ops;
}

std::vector<Op> random_mixed(Rng& rng, size_t count) {
  std::vector<Op> ops = with_main_ram(count);
  for (size_t i = 0; i < count; ++i) {
    const uint8_t width = any_width(rng);
    ops.push_back(scalar(rng, ram_address(rng, width, 10), width, 30));
  }
  return ops;
}

std::vector<Op> bulk_copy(Rng& rng, size_t count) {
  constexpr uint32_t kLengths[] = {256, 4096, 65536, 1u << 20};
  std::vector<Op> ops = with_main_ram(count);
  for (size_t i = 0; i < count; ++i) {
    const uint32_t length = kLengths[rng.below(4)];
    const uint64_t address =
        kProfileRamBase + (rng.below(kProfileRamSize - length) & ~uint64_t{63});
    if (rng.percent(50)) {
      ops.push_back(WriteBulk{address, length, rng.next()});
    } else {
      ops.push_back(ReadBulk{address, length});
    }
  }
  return ops;
}

std::vector<Op> split_ram(Rng& rng, size_t count) {
  // Two adjacent RAM regions; every access reaches across the seam between them.
  constexpr uint64_t kHalf = 1u << 20;
  constexpr uint64_t kSeam = kProfileRamBase + kHalf;
  std::vector<Op> ops{AddRam{kProfileRamBase, kHalf}, AddRam{kSeam, kHalf}};
  for (size_t i = 0; i < count; ++i) {
    if (rng.percent(70)) {
      const uint8_t width = kWidths[1 + rng.below(3)];
      ops.push_back(scalar(rng, kSeam - 1 - rng.below(width - 1u), width, 50));
    } else {
      const uint32_t length = static_cast<uint32_t>(rng.between(2, 8192));
      const uint64_t address = kSeam - rng.between(1, length - 1);
      if (rng.percent(50)) {
        ops.push_back(WriteBulk{address, length, rng.next()});
      } else {
        ops.push_back(ReadBulk{address, length});
      }
    }
  }
  return ops;
}

std::vector<Op> mmio_mixed(Rng& rng, size_t count) {
  std::vector<Op> ops = with_main_ram(count + 1);
  ops.push_back(AddMmio{kProfileMmioBase, 0x1000});
  for (size_t i = 0; i < count; ++i) {
    const uint8_t width = any_width(rng);
    if (rng.percent(20)) {
      const uint64_t offset = rng.below(0x1000 / width) * width;
      ops.push_back(scalar(rng, kProfileMmioBase + offset, width, 40));
    } else {
      ops.push_back(scalar(rng, ram_address(rng, width, 0), width, 30));
    }
  }
  return ops;
}

std::vector<Op> region_churn(Rng& rng, size_t count) {
  // Eight 64 KiB slots that come and go; accesses land anywhere in the window, mapped or not.
  constexpr uint64_t kSlot = 0x10000;
  std::array<bool, 8> mapped{};
  std::vector<Op> ops;
  for (size_t i = 0; i < count; ++i) {
    const size_t slot = rng.below(mapped.size());
    const uint64_t base = kProfileRamBase + slot * kSlot;
    if (rng.percent(20)) {
      if (mapped[slot]) {
        ops.push_back(RemoveRegion{base});
      } else if (rng.percent(15)) {
        ops.push_back(AddMmio{base, kSlot});
      } else {
        ops.push_back(AddRam{base, kSlot});
      }
      mapped[slot] = !mapped[slot];
    } else {
      const uint8_t width = any_width(rng);
      ops.push_back(scalar(rng, base + rng.below(kSlot), width, 40));
    }
  }
  return ops;
}

std::vector<Op> edge_cases(Rng& rng, size_t count) {
  // Requests that must be refused, next to the ones at the very edges that must not be.
  // Layout: RAM at the top page and at page 0, an MMIO device right after page 0 (so RAM
  // ranges can run into it), and a row of small devices that fill most of a 16-entry region
  // table, so valid adds meet "table full" until something is removed.
  constexpr uint64_t kTop = 0xffff'ffff'ffff'f000;
  constexpr uint64_t kDevice = 0x1000;
  constexpr uint64_t kDeviceSize = 0x100;
  constexpr uint64_t kRow = 0x4000'0000;
  constexpr int kRowDevices = 12;
  std::vector<Op> ops{AddRam{kTop, 0x1000}, AddRam{0, 0x1000}, AddMmio{kDevice, kDeviceSize}};
  for (int i = 0; i < kRowDevices; ++i)
    ops.push_back(AddMmio{kRow + 0x1000 * static_cast<uint64_t>(i), 0x1000});
  // Offsets the device refuses, offsets whose access may straddle its end, and any other.
  auto device_offset = [&rng]() -> uint64_t {
    if (rng.percent(30)) return 0x3f;
    return rng.percent(30) ? kDeviceSize - 1 - rng.below(7) : rng.below(kDeviceSize);
  };
  for (size_t i = 0; i < count; ++i) {
    switch (rng.below(16)) {
      case 0:  // the last bytes of the address space, some accesses wrapping
        ops.push_back(Read{~uint64_t{0} - rng.below(8), any_width(rng)});
        break;
      case 1:
        ops.push_back(Write{~uint64_t{0} - rng.below(rng.percent(50) ? 8 : 0x1008), any_width(rng),
                            rng.next()});
        break;
      case 2:  // widths other than 1, 2, 4, 8, and scalars running off page 0
        if (rng.percent(30)) {
          ops.push_back(Read{0x1000 - 1 - rng.below(7), any_width(rng)});
        } else if (rng.percent(50)) {
          ops.push_back(Read{rng.below(0x2000), static_cast<uint8_t>(rng.below(16))});
        } else {
          ops.push_back(Write{rng.below(0x2000), static_cast<uint8_t>(rng.below(16)), rng.next()});
        }
        break;
      case 3:
        ops.push_back(ReadBulk{kTop + rng.below(0x1000), static_cast<uint32_t>(rng.below(513))});
        break;
      case 4:  // RAM ranges that end inside page 0, in the device, or past it
        ops.push_back(WriteBulk{0x1000 - rng.below(300), 256, rng.next()});
        break;
      case 5:  // zero, misaligned and wrapping RAM
        ops.push_back(AddRam{rng.below(4) * 0x800, 0x1000 * rng.below(3)});
        break;
      case 6:
        ops.push_back(AddRam{kTop - 0x1000 * rng.below(3), 0x2000});
        break;
      case 7:
        ops.push_back(RemoveRegion{rng.percent(50) ? kDevice : kTop + rng.below(2)});
        break;
      case 8:
        ops.push_back(HostSpan{0xff0 + rng.below(32), static_cast<uint32_t>(rng.below(64))});
        break;
      case 9:  // the device: its refusals, accesses straddling its end, bulk access to it
        ops.push_back(Read{kDevice + device_offset(), any_width(rng)});
        break;
      case 10:
        ops.push_back(Write{kDevice + device_offset(), any_width(rng), rng.next()});
        break;
      case 11:
        ops.push_back(ReadBulk{kDevice + rng.below(kDeviceSize), 16});
        break;
      case 12:  // a device re-added, or added over RAM, at the top, with no size
        ops.push_back(AddMmio{rng.percent(50) ? kDevice : kTop - 0x100 * rng.below(2),
                              rng.percent(20) ? 0 : kDeviceSize * (1 + rng.below(32))});
        break;
      case 13:  // over the RAM budget, or taking the last table entries
        ops.push_back(rng.percent(30) ? AddRam{uint64_t{1} << 32, uint64_t{1} << 32}
                                      : AddRam{0x2000'0000 + 0x1000 * rng.below(4), 0x1000});
        break;
      case 14:
        ops.push_back(RemoveRegion{kRow + 0x1000 * rng.below(kRowDevices + 1)});
        break;
      default:
        ops.push_back(Check{});
        break;
    }
  }
  return ops;
}

// A virtio-style ring in RAM shared by a driver and a device: the producer fills a descriptor,
// publishes its index with a release store, the consumer reads the index with acquire, copies
// the payload guest-to-guest and marks completion with fetch_or; a page-table-like word is
// updated with compare-exchange (the MMU's A/D bits). Some requests are refused: misaligned,
// wrong order for the operation, MMIO.
std::vector<Op> virtio_ring(Rng& rng, size_t count) {
  std::vector<Op> ops = with_main_ram(count + 1);
  ops.push_back(AddMmio{kProfileMmioBase, 0x2000});
  constexpr uint64_t kRing = kProfileRamBase;
  constexpr uint64_t kIndex = kRing + 0x1000;
  constexpr uint64_t kPayload = kRing + 0x10000;
  constexpr uint8_t kRelaxed = 0, kAcquire = 2, kRelease = 3, kAcqRel = 4, kSeqCst = 5;
  for (size_t i = 0; i < count; ++i) {
    const uint64_t slot = kRing + (i % 16) * 16;
    switch (rng.below(8)) {
      case 0:
        ops.push_back(Atomic{AtomicKind::kStore, slot, 8, kRelaxed, rng.next(), 0});
        break;
      case 1:
        ops.push_back(Atomic{AtomicKind::kStore, kIndex, 2, kRelease, i, 0});
        break;
      case 2:
        ops.push_back(Atomic{AtomicKind::kLoad, kIndex, 2, kAcquire, 0, 0});
        break;
      case 3:
        ops.push_back(Copy{kPayload + rng.below(0x1000), kPayload + rng.below(0x1000),
                           static_cast<uint32_t>(1 + rng.below(0x800))});
        break;
      case 4:
        ops.push_back(Atomic{AtomicKind::kFetchOr, slot + 8, 4, kAcqRel, 1u << rng.below(32), 0});
        break;
      case 5:
        ops.push_back(Atomic{AtomicKind::kCompareExchange, kRing + 0x2000, 8, kSeqCst, rng.next(),
                             rng.percent(50) ? 0 : rng.next()});
        break;
      case 6:
        ops.push_back(Atomic{AtomicKind::kFetchAdd, kIndex + 8, 4, kSeqCst, 1, 0});
        break;
      default: {  // refused: misaligned, an acquire store, MMIO
        const uint64_t bad[] = {kIndex + 1, kIndex, kProfileMmioBase};
        const uint8_t which = static_cast<uint8_t>(rng.below(3));
        ops.push_back(Atomic{which == 1 ? AtomicKind::kStore : AtomicKind::kLoad, bad[which], 2,
                             which == 1 ? kAcquire : kSeqCst, 7, 0});
        break;
      }
    }
  }
  return ops;
}

// A device moving its own MMIO region (its move register, device.h) between guest-to-guest
// copies that overlap and cross the seam of two adjacent RAM regions; now and then it unplugs
// itself and is plugged in again.
std::vector<Op> device_moves(Rng& rng, size_t count) {
  constexpr uint64_t kLow = 0x100000, kHigh = 0x101000, kDevice = 0x200000;
  std::vector<Op> ops{AddRam{kLow, 0x1000}, AddRam{kHigh, 0x1000}, AddMmio{kDevice, 0x2000}};
  uint64_t device = kDevice;
  for (size_t i = 0; i < count; ++i) {
    switch (rng.below(5)) {
      case 0: {
        const uint64_t to = rng.percent(80) ? 0x300000 + rng.below(16) * 0x2000 : kLow;
        ops.push_back(Write{device + kMoveOffset, 8, to});
        if (to != kLow) device = to;  // the move to kLow overlaps RAM and is refused
        break;
      }
      case 1:
        ops.push_back(Write{device + kUnplugOffset, 4, 0});
        ops.push_back(AddMmio{device, 0x2000});
        break;
      case 2:
        ops.push_back(Read{device + 8 * rng.below(0x400), 8});
        break;
      default:
        ops.push_back(Copy{kLow + rng.below(0x1000), kLow + rng.below(0x1800),
                           static_cast<uint32_t>(1 + rng.below(0x800))});
        break;
    }
  }
  return ops;
}

// Live migration: the main RAM region is tracked; the guest keeps writing (scalar, bulk,
// atomic, copies) while the migration thread takes the dirty bitmap again and again, and a
// DMA writer reports what it wrote through a host span.
std::vector<Op> migration(Rng& rng, size_t count) {
  std::vector<Op> ops{AddRam{kProfileRamBase, 0x100000}, AddRam{kProfileRamBase + 0x100000, 0x1000},
                      SetDirtyTracking{kProfileRamBase, true}};
  for (size_t i = 0; i < count; ++i) {
    const uint64_t address = kProfileRamBase + rng.below(0x100000 - 8);
    switch (rng.below(8)) {
      case 0:
        ops.push_back(TakeDirty{kProfileRamBase});
        break;
      case 1:
        ops.push_back(WriteBulk{address, static_cast<uint32_t>(1 + rng.below(0x3000)), rng.next()});
        break;
      case 2:
        ops.push_back(Atomic{AtomicKind::kFetchAdd, address & ~uint64_t{7}, 8, 5, 1, 0});
        break;
      case 3:
        ops.push_back(MarkDirty{address, static_cast<uint32_t>(1 + rng.below(0x2000))});
        break;
      case 4:
        ops.push_back(Copy{address & ~uint64_t{0xfff},
                           kProfileRamBase + rng.below(0x100000 - 0x1000), 0x1000});
        break;
      case 5:
        if (rng.percent(10)) ops.push_back(SetDirtyTracking{kProfileRamBase, rng.percent(50)});
        break;
      default:
        ops.push_back(scalar(rng, address, 8, 80));
        break;
    }
  }
  return ops;
}

// Dirty tracking at its edges: three adjacent RAM regions of a few pages, the first two tracked;
// writes of every kind that marks pages, each starting a few bytes either side of a page or
// region boundary (some running across a seam into the next region), and every region's bitmap
// taken after about one write in three. A page left unmarked at a boundary shows up in the next
// TakeDirty.
std::vector<Op> dirty_seams(Rng& rng, size_t count) {
  constexpr uint64_t kRegionPages[] = {2, 2, 3};
  std::vector<Op> ops;
  std::vector<uint64_t> bases;
  uint64_t end = kProfileRamBase;
  for (const uint64_t pages : kRegionPages) {
    bases.push_back(end);
    ops.push_back(AddRam{end, pages * 0x1000});
    end += pages * 0x1000;
  }
  ops.push_back(SetDirtyTracking{bases[0], true});
  ops.push_back(SetDirtyTracking{bases[1], true});
  // Half the time a seam between two regions, else any page boundary inside the RAM.
  const uint64_t pages = (end - kProfileRamBase) / 0x1000;
  const auto near_boundary = [&] {
    const uint64_t boundary = rng.percent(50)
                                  ? bases[1 + rng.below(2)]
                                  : kProfileRamBase + 0x1000 * rng.between(1, pages - 1);
    return boundary + rng.below(17) - 8;
  };
  for (size_t i = 0; i < count; ++i) {
    const uint64_t at = near_boundary();
    const auto length =
        static_cast<uint32_t>(rng.percent(50) ? rng.between(1, 16) : rng.between(1, 0x2000));
    switch (rng.below(6)) {
      case 0:
        ops.push_back(Write{at, any_width(rng), rng.next()});
        break;
      case 1:
        ops.push_back(WriteBulk{at, length, rng.next()});
        break;
      case 2:
        ops.push_back(Atomic{AtomicKind::kFetchAdd, at & ~uint64_t{7}, 8, 5, 1, 0});
        break;
      case 3:
        ops.push_back(Copy{near_boundary(), at, length});
        break;
      case 4:
        ops.push_back(MarkDirty{at, length});
        break;
      default:
        ops.push_back(Discard{at & ~uint64_t{0xfff}, 0x1000});
        break;
    }
    // Often, so that a page one write left unmarked is not marked by the next one first.
    if (rng.percent(30)) {
      for (const uint64_t base : bases)
        ops.push_back(TakeDirty{base});
    }
  }
  return ops;
}

// Memory hot-unplug under DMA: buffers in four RAM slots are pinned for DMA, slots are removed
// and added again while the pins keep writing and reading, and the guest reads and writes the
// RAM that replaced them.
std::vector<Op> hot_unplug(Rng& rng, size_t count) {
  constexpr uint64_t kSlot = 0x4000;
  std::array<bool, 4> mapped{true, true, true, true};
  std::vector<Op> ops;
  for (uint64_t slot = 0; slot < mapped.size(); ++slot)
    ops.push_back(AddRam{kProfileRamBase + slot * kSlot, kSlot});
  for (size_t i = 0; i < count; ++i) {
    const uint64_t slot = rng.below(mapped.size());
    const uint64_t base = kProfileRamBase + slot * kSlot;
    const auto pin = static_cast<uint8_t>(rng.below(kPinSlots));
    switch (rng.below(7)) {
      case 0:
        ops.push_back(mapped[slot] ? Op{RemoveRegion{base}} : Op{AddRam{base, kSlot}});
        mapped[slot] = !mapped[slot];
        break;
      case 1: {
        const uint64_t offset = rng.below(kSlot - 0x100);
        ops.push_back(PinSpan{pin, base + offset, static_cast<uint32_t>(1 + rng.below(0x100))});
        break;
      }
      case 2:
        ops.push_back(WritePinned{pin, rng.next()});
        break;
      case 3:
        ops.push_back(ReadPinned{pin});
        break;
      case 4:
        ops.push_back(WriteBulk{base + rng.below(kSlot - 0x200), 0x200, rng.next()});
        break;
      default:
        ops.push_back(Read{base + rng.below(kSlot - 8), 8});
        break;
    }
  }
  return ops;
}

// A balloon device: the guest writes pages, the balloon discards page ranges (some across the
// seam of two adjacent regions, some refused: misaligned or running off RAM) and the guest
// reads the zeros back and writes again, with dirty tracking on one region.
std::vector<Op> balloon(Rng& rng, size_t count) {
  constexpr uint64_t kHalf = 0x40000;
  std::vector<Op> ops{AddRam{kProfileRamBase, kHalf}, AddRam{kProfileRamBase + kHalf, kHalf},
                      SetDirtyTracking{kProfileRamBase, true}};
  for (size_t i = 0; i < count; ++i) {
    const uint64_t page = kProfileRamBase + rng.below(2 * kHalf / 0x1000) * 0x1000;
    switch (rng.below(6)) {
      case 0: {
        const auto pages = static_cast<uint32_t>(1 + rng.below(16));
        ops.push_back(Discard{page, pages * 0x1000});
        break;
      }
      case 1:  // refused: misaligned
        ops.push_back(Discard{page + 8 * (1 + rng.below(4)), 0x1000});
        break;
      case 2:
        ops.push_back(WriteBulk{page, static_cast<uint32_t>(1 + rng.below(0x2000)), rng.next()});
        break;
      case 3:
        ops.push_back(TakeDirty{kProfileRamBase});
        break;
      default:
        ops.push_back(ReadBulk{page, static_cast<uint32_t>(1 + rng.below(0x1800))});
        break;
    }
  }
  return ops;
}

// Firmware in ROM with RAM right after it: the guest reads the image (scalar, bulk across the
// seam, atomic loads), writes its RAM, and now and then tries to write the ROM (refused).
std::vector<Op> firmware_rom(Rng& rng, size_t count) {
  constexpr uint64_t kRom = 0xfff0'0000, kRomSize = 0x10000;
  std::vector<Op> ops{AddRom{kRom, static_cast<uint32_t>(kRomSize), rng.next()},
                      AddRam{kRom + kRomSize, 0x10000}};
  for (size_t i = 0; i < count; ++i) {
    const uint64_t in_rom = kRom + rng.below(kRomSize - 8);
    switch (rng.below(8)) {
      case 0:
        ops.push_back(Write{in_rom, any_width(rng), rng.next()});
        break;
      case 1:
        ops.push_back(ReadBulk{kRom + kRomSize - rng.between(1, 0x100),
                               static_cast<uint32_t>(rng.between(0x100, 0x200))});
        break;
      case 2:
        ops.push_back(Atomic{AtomicKind::kLoad, in_rom & ~uint64_t{7}, 8, 2, 0, 0});
        break;
      case 3:
        ops.push_back(Write{kRom + kRomSize + rng.below(0x10000 - 8), 8, rng.next()});
        break;
      default:
        ops.push_back(Read{in_rom, any_width(rng)});
        break;
    }
  }
  return ops;
}

// Guest RAM shared with a vhost-user backend: a memfd region and a shared file region the
// backend reads and writes through the file (ReadShared/WriteShared) while the guest reads and
// writes them, discards pages in them (a hole punched in the file) and the backend sees zeros;
// a private file region and huge-page RAM next to them, a file too short refused, and regions
// unplugged and plugged again with another backing.
std::vector<Op> vhost_user(Rng& rng, size_t count) {
  constexpr uint64_t kSlot = 0x40000;
  constexpr Backing kSlots[] = {Backing::kMemfd, Backing::kSharedFile, Backing::kPrivateFile,
                                Backing::kAnonymousHuge};
  std::vector<Op> ops;
  for (size_t i = 0; i < std::size(kSlots); ++i)
    ops.push_back(AddBackedRam{kProfileRamBase + i * kSlot, kSlot, kSlots[i]});
  ops.push_back(AddBackedRam{kProfileRamBase + 8 * kSlot, kSlot, Backing::kShortFile});
  for (size_t i = 0; i < count; ++i) {
    const uint64_t slot = rng.below(std::size(kSlots));
    const uint64_t base = kProfileRamBase + slot * kSlot;
    const uint64_t at = base + rng.below(kSlot - 0x100);
    const auto length = static_cast<uint32_t>(rng.between(1, 0x100));
    switch (rng.below(9)) {
      case 0:
      case 1:
        ops.push_back(ReadShared{at, length});
        break;
      case 2:
        ops.push_back(WriteShared{at, length, rng.next()});
        break;
      case 3:
        ops.push_back(WriteBulk{at, length, rng.next()});
        break;
      case 4:
        ops.push_back(Write{at & ~uint64_t{7}, 8, rng.next()});
        break;
      case 5: {  // written, discarded, read back as zeros by both sides
        const uint64_t page = base + rng.below(kSlot / 0x1000 - 4) * 0x1000;
        const auto bytes = static_cast<uint32_t>(rng.between(1, 4) * 0x1000);
        ops.push_back(WriteBulk{page, bytes, rng.next()});
        ops.push_back(Discard{page, bytes});
        ops.push_back(ReadShared{page, bytes});
        ops.push_back(ReadBulk{page, bytes});
        break;
      }
      case 6:
        if (rng.below(4) == 0) {  // unplug and plug again, maybe with another backing
          ops.push_back(RemoveRegion{base});
          const auto backing =
              static_cast<Backing>(rng.below(static_cast<size_t>(Backing::kCount)));
          ops.push_back(AddBackedRam{base, kSlot, backing});
          ops.push_back(AddBackedRam{base, kSlot, kSlots[slot]});  // refused when the first took
        } else {
          ops.push_back(ReadShared{base + kSlot - 8, 16});  // leaves its region
        }
        break;
      default:
        ops.push_back(ReadBulk{at, length});
        break;
    }
  }
  return ops;
}

constexpr Profile<Op> kProfiles[] = {
    {"scalar_sequential", "8-byte loads and stores walking RAM in order", scalar_sequential},
    {"strided_access", "8-byte loads a page and a cache line apart", strided_access},
    {"random_mixed", "1/2/4/8-byte accesses at random RAM addresses, some misaligned",
     random_mixed},
    {"bulk_copy", "bulk reads and writes of 256 B to 1 MiB", bulk_copy},
    {"split_ram", "accesses across the seam of two adjacent RAM regions", split_ram},
    {"mmio_mixed", "RAM traffic with one access in five going to an MMIO device", mmio_mixed},
    {"region_churn", "regions added and removed between accesses", region_churn},
    {"edge_cases", "every kind of refused request, next to accepted ones at the same edges",
     edge_cases, /*seed_ops=*/320},
    {"virtio_ring", "a ring's index handoff with acquire/release atomics, copies, CAS, fetch_or",
     virtio_ring},
    {"device_moves", "a device moving and unplugging its own region between overlapping copies",
     device_moves},
    {"migration", "writes of every kind to a dirty-tracked region while its bitmap is taken",
     migration},
    {"dirty_seams",
     "writes of every kind a few bytes off the page and region boundaries of "
     "adjacent tracked RAM, every bitmap taken between them",
     dirty_seams, /*seed_ops=*/160},
    {"hot_unplug", "RAM slots removed and re-added under DMA through pinned spans", hot_unplug},
    {"balloon", "page ranges discarded and read back as zeros between writes", balloon},
    {"firmware_rom", "reads of a ROM image next to RAM, writes to it refused", firmware_rom},
    {"vhost_user", "memfd and file-backed RAM read and written through the file and the guest",
     vhost_user},
};

}  // namespace

std::span<const Profile<Op>> profiles() {
  return kProfiles;
}

}  // namespace vmmem::scenario::mem
