// RapidCheck properties of guest memory, on the mem scenario's ops:
//   - the fuzz input format round-trips: decode(encode(ops)) == ops;
//   - GuestMemory and the Model agree on every op of every generated sequence (stateful,
//     shrinking to the shortest failing command list);
//   - every profile agrees with the Model for any seed;
//   - an op that fails changes nothing observable.
// Generators aim at the regions mapped so far and keep every path reachable at every
// RapidCheck size (fixed weights, fixed ranges). The op-sequence properties count what every
// op did (OutcomeDistribution), print the table, and fail when a path was never reached.
#include <gtest/gtest.h>
#include <rapidcheck.h>
#include <rapidcheck/gtest.h>
#include <rapidcheck/state.h>

#include <algorithm>
#include <iostream>
#include <ostream>

#include "check_until_reached.h"
#include "scenario/common/outcome_distribution.h"
#include "scenario/mem/codec.h"
#include "scenario/mem/executor.h"
#include "scenario/mem/hotplug_storm.h"
#include "scenario/mem/model.h"
#include "scenario/mem/outcome_kind.h"
#include "scenario/mem/profiles.h"

namespace vmmem::scenario::mem {

void showValue(const Op& op, std::ostream& os) {
  os << describe(op);
}

namespace {

using vmmem::mem::kPageSize;
using vmmem::mem::RegionInfo;
using Regions = std::vector<RegionInfo>;

constexpr uint64_t kTop = ~uint64_t{0};

// Tight limits, so that generated sequences of a hundred ops reach a full region table and an
// exhausted RAM budget as well as the ordinary paths.
constexpr GuestMemoryLimits kPropertyLimits{.max_ram_bytes = 1u << 20, .max_regions = 4};

// Generators see the regions mapped so far and aim at them: at region bases, inside, at the
// last bytes, just past the end. Every choice has a fixed weight and every range a fixed span
// (fixed_size below), so the share of ops that succeed, and of each error, does not drift with
// RapidCheck's size: a large max_size checks the same paths as a small one.
template <class T>
rc::Gen<T> fixed_size(rc::Gen<T> gen) {
  return rc::gen::resize(rc::kNominalSize, std::move(gen));
}

// weightedOneOf for a list built at run time; choices of weight zero are never taken.
template <class T>
rc::Gen<T> choose(std::vector<std::pair<std::size_t, rc::Gen<T>>> choices) {
  std::size_t total = 0;
  for (const auto& choice : choices)
    total += choice.first;
  return rc::gen::mapcat(fixed_size(rc::gen::inRange<std::size_t>(0, total)),
                         [choices = std::move(choices)](std::size_t pick) {
                           for (const auto& [weight, gen] : choices) {
                             if (pick < weight) return gen;
                             pick -= weight;
                           }
                           return choices.back().second;
                         });
}

// Page-aligned places away from the regions: anchors (the bottom, 2 GiB, below and at 4 GiB,
// the last pages of the address space) plus a few pages.
rc::Gen<uint64_t> gen_aligned_anchor() {
  return rc::gen::map(
      rc::gen::pair(rc::gen::element<uint64_t>(0, 0x10000, 0x8000'0000, 0xffff'0000, 0x1'0000'0000,
                                               kTop - 0x1fff),
                    rc::gen::inRange<uint64_t>(0, 8)),
      [](std::pair<uint64_t, uint64_t> p) { return p.first + p.second * kPageSize; });
}

// A byte of, or next to, one of `regions` (nonempty): anywhere inside, one of its last eight
// bytes (so wide accesses straddle the end), its base, the byte before it, the first byte past
// it, the offset the scenario device refuses, its unplug and move registers.
rc::Gen<uint64_t> gen_near_region(const Regions& regions) {
  return rc::gen::mapcat(rc::gen::elementOf(regions), [](const RegionInfo& r) {
    const uint64_t end = r.base + r.size;  // wraps to 0 for a region at the top
    return rc::gen::weightedOneOf<uint64_t>({
        {4, rc::gen::map(rc::gen::inRange<uint64_t>(0, r.size),
                         [base = r.base](uint64_t offset) { return base + offset; })},
        {2, rc::gen::map(rc::gen::inRange<uint64_t>(1, 9),
                         [end](uint64_t back) { return end - back; })},
        {1, rc::gen::elementOf(std::vector<uint64_t>{r.base, r.base - 1, end})},
        {1, rc::gen::just(r.base + 0x3f)},
        {1, rc::gen::element<uint64_t>(r.base + kUnplugOffset, r.base + kMoveOffset)},
    });
  });
}

// The first byte past a region: where an adjacent region goes.
rc::Gen<uint64_t> gen_region_end(const Regions& regions) {
  return rc::gen::map(rc::gen::elementOf(regions),
                      [](const RegionInfo& r) { return r.base + r.size; });
}

rc::Gen<uint64_t> gen_region_base(const Regions& regions) {
  return rc::gen::map(rc::gen::elementOf(regions), [](const RegionInfo& r) { return r.base; });
}

rc::Gen<uint64_t> gen_address(const Regions& regions) {
  const std::size_t near = regions.empty() ? 0 : 10;
  return choose<uint64_t>({
      {near, gen_near_region(regions)},
      {2, gen_aligned_anchor()},
      {1, rc::gen::map(rc::gen::pair(gen_aligned_anchor(), rc::gen::inRange<uint64_t>(1, 0x2000)),
                       [](std::pair<uint64_t, uint64_t> p) { return p.first + p.second; })},
      {2, rc::gen::map(rc::gen::inRange<uint64_t>(0, 8), [](uint64_t d) { return kTop - d; })},
      {1, rc::gen::arbitrary<uint64_t>()},
  });
}

// Where a new region goes: free aligned space, right after a region (adjacent RAM forms one
// range), on a region (conflict), or anywhere gen_address goes (mostly unaligned for RAM).
rc::Gen<uint64_t> gen_new_region_base(const Regions& regions) {
  const std::size_t some = regions.empty() ? 0 : 1;
  return choose<uint64_t>({
      {4, gen_aligned_anchor()},
      {3 * some, gen_region_end(regions)},
      {some, gen_region_base(regions)},
      {1, gen_address(regions)},
  });
}

// Mostly a few pages (the 1 MiB budget holds several regions of up to 16 pages), sometimes up
// to 64 pages, and bad sizes: empty, unaligned, over the budget, wrapping from anywhere.
rc::Gen<uint64_t> gen_ram_size() {
  return rc::gen::weightedOneOf<uint64_t>({
      {8, rc::gen::map(rc::gen::inRange<uint64_t>(1, 17),
                       [](uint64_t pages) { return pages * kPageSize; })},
      {2, rc::gen::map(rc::gen::inRange<uint64_t>(17, 65),
                       [](uint64_t pages) { return pages * kPageSize; })},
      {2, rc::gen::element<uint64_t>(0, 1, 0x800, 0x1001, uint64_t{1} << 30, kTop - 0xfff)},
      {1, rc::gen::arbitrary<uint64_t>()},
  });
}

// ROM contents are built per op: at most 64 KiB and a bit (misaligned sizes stay reachable).
rc::Gen<uint32_t> gen_rom_size() {
  return rc::gen::map(gen_ram_size(), [](uint64_t size) {
    return static_cast<uint32_t>(size <= 0x10000 ? size : 0x10000 + size % 0x1000);
  });
}

rc::Gen<uint64_t> gen_mmio_size() {
  return rc::gen::weightedOneOf<uint64_t>({
      {6, rc::gen::element<uint64_t>(0x8, 0x40, 0x100, 0x1000, 0x2000)},
      {2, rc::gen::inRange<uint64_t>(1, 0x2000)},
      {2, rc::gen::element<uint64_t>(0, kTop)},  // refused: the property requires both
  });
}

rc::Gen<uint8_t> gen_width() {
  return rc::gen::weightedOneOf<uint8_t>({
      {8, rc::gen::element<uint8_t>(1, 2, 4, 8)},
      {1, rc::gen::inRange<uint8_t>(0, kMaxWidth + 1)},
  });
}

rc::Gen<uint32_t> gen_length() {
  return rc::gen::weightedOneOf<uint32_t>({
      {6, rc::gen::inRange<uint32_t>(0, 0x2100)},
      {1, rc::gen::element<uint32_t>(0, 1, 4096, kMaxBulkLength)},
  });
}

// A bulk range: anywhere, a short one near a region, or one that ends exactly at the end of a
// region or a few bytes past it (into the next region, a gap or an MMIO region).
rc::Gen<std::pair<uint64_t, uint32_t>> gen_range(const Regions& regions) {
  auto to_region_end = rc::gen::mapcat(rc::gen::elementOf(regions), [](const RegionInfo& r) {
    const uint64_t end = r.base + r.size;
    const auto most = static_cast<uint32_t>(std::min<uint64_t>(r.size, 0x4000));
    return rc::gen::map(rc::gen::pair(rc::gen::inRange<uint32_t>(1, most + 1),
                                      rc::gen::weightedOneOf<uint32_t>(
                                          {{2, rc::gen::just<uint32_t>(0)},
                                           {1, rc::gen::inRange<uint32_t>(1, 0x100)}})),
                        [end](std::pair<uint32_t, uint32_t> p) {
                          return std::make_pair(end - p.first, p.first + p.second);
                        });
  });
  const std::size_t some = regions.empty() ? 0 : 2;
  return choose<std::pair<uint64_t, uint32_t>>({
      {3, rc::gen::pair(gen_address(regions), gen_length())},
      {some, std::move(to_region_end)},
      {some, rc::gen::pair(gen_near_region(regions), rc::gen::inRange<uint32_t>(0, 0x40))},
  });
}

// Mostly orders the operation takes, sometimes one it does not, rarely not an order at all.
rc::Gen<uint8_t> gen_order() {
  return rc::gen::weightedOneOf<uint8_t>({
      {8, rc::gen::inRange<uint8_t>(0, 6)},
      {1, rc::gen::inRange<uint8_t>(0, 8)},
  });
}

// A range inside one RAM region (anywhere when there is none): where atomics and copy sources
// succeed.
rc::Gen<std::pair<uint64_t, uint32_t>> gen_ram_range(const Regions& regions) {
  Regions ram;
  std::ranges::copy_if(regions, std::back_inserter(ram),
                       [](const RegionInfo& r) { return r.kind == vmmem::mem::RegionKind::kRam; });
  if (ram.empty()) return rc::gen::pair(gen_address(regions), gen_length());
  return rc::gen::mapcat(rc::gen::elementOf(ram), [](const RegionInfo& r) {
    return rc::gen::map(
        rc::gen::pair(rc::gen::inRange<uint64_t>(0, r.size), rc::gen::inRange<uint32_t>(0, 0x2000)),
        [r](std::pair<uint64_t, uint32_t> p) {
          const auto room =
              static_cast<uint32_t>(std::min<uint64_t>(r.size - p.first, uint64_t{p.second}));
          return std::make_pair(r.base + p.first, room);
        });
  });
}

// Atomic accesses land aligned most of the time (address rounded down to the width).
rc::Gen<Op> gen_atomic(const Regions& regions) {
  return rc::gen::map(
      rc::gen::tuple(
          rc::gen::inRange<uint8_t>(0, static_cast<uint8_t>(AtomicKind::kCount)),
          rc::gen::weightedOneOf<uint64_t>(
              {{3, rc::gen::map(gen_ram_range(regions),
                                [](std::pair<uint64_t, uint32_t> p) { return p.first; })},
               {2, gen_address(regions)}}),
          gen_width(), gen_order(), rc::gen::arbitrary<uint64_t>(),
          rc::gen::weightedOneOf<uint64_t>(
              {{2, rc::gen::just<uint64_t>(0)}, {1, rc::gen::arbitrary<uint64_t>()}}),
          rc::gen::inRange(0, 8)),
      [](const std::tuple<uint8_t, uint64_t, uint8_t, uint8_t, uint64_t, uint64_t, int>& t) {
        const auto& [kind, address, width, order, value, expected, misalign] = t;
        const bool align = misalign != 0 && std::has_single_bit(unsigned{width});
        return Op{Atomic{static_cast<AtomicKind>(kind),
                         align ? address & ~uint64_t{width - 1u} : address, width, order, value,
                         expected}};
      });
}

// A guest-to-guest copy: the source a range near a region, the destination near it, on it or
// anywhere.
rc::Gen<Op> gen_copy(const Regions& regions) {
  return rc::gen::map(
      rc::gen::tuple(
          rc::gen::weightedOneOf<std::pair<uint64_t, uint32_t>>(
              {{3, gen_ram_range(regions)}, {2, gen_range(regions)}}),
          rc::gen::weightedOneOf<int64_t>(
              {{3, rc::gen::inRange<int64_t>(-0x100, 0x100)}, {1, rc::gen::just<int64_t>(0x4000)}}),
          rc::gen::weightedOneOf<bool>({{4, rc::gen::just(true)}, {1, rc::gen::just(false)}}),
          gen_address(regions)),
      [](const std::tuple<std::pair<uint64_t, uint32_t>, int64_t, bool, uint64_t>& t) {
        const auto& [source, shift, nearby, anywhere] = t;
        const uint64_t to = nearby ? source.first + static_cast<uint64_t>(shift) : anywhere;
        return Op{Copy{source.first, to, source.second}};
      });
}

// Where dirty tracking is switched and taken: mostly a RAM region's base.
rc::Gen<uint64_t> gen_dirty_base(const Regions& regions) {
  Regions ram;
  std::ranges::copy_if(regions, std::back_inserter(ram),
                       [](const RegionInfo& r) { return r.kind == vmmem::mem::RegionKind::kRam; });
  return choose<uint64_t>({{ram.empty() ? 0u : 8u, gen_region_base(ram)},
                           {regions.empty() ? 0u : 1u, gen_region_base(regions)},
                           {1, gen_address(regions)}});
}

// Mostly a slot that holds a pin (`pinned`), so that reads and writes through pins find one.
rc::Gen<uint8_t> gen_pin_slot(const std::vector<uint8_t>& pinned = {}) {
  return choose<uint8_t>({{pinned.empty() ? 0u : 4u, rc::gen::elementOf(pinned)},
                          {1, rc::gen::inRange<uint8_t>(0, kPinSlots)}});
}

// A pinned span: mostly inside one RAM region (so later removes leave it holding a removed
// region), sometimes anywhere a bulk range goes.
rc::Gen<Op> gen_pin_span(const Regions& regions) {
  return rc::gen::map(
      rc::gen::pair(gen_pin_slot(), rc::gen::weightedOneOf<std::pair<uint64_t, uint32_t>>(
                                        {{3, gen_ram_range(regions)}, {1, gen_range(regions)}})),
      [](std::pair<uint8_t, std::pair<uint64_t, uint32_t>> p) {
        return Op{PinSpan{p.first, p.second.first, p.second.second}};
      });
}

// A discard: mostly whole pages of a RAM range (rounded to pages), sometimes any bulk range
// (mostly misaligned).
rc::Gen<Op> gen_discard(const Regions& regions) {
  return rc::gen::map(
      rc::gen::pair(
          rc::gen::weightedOneOf<std::pair<uint64_t, uint32_t>>(
              {{3, gen_ram_range(regions)}, {1, gen_range(regions)}}),
          rc::gen::weightedOneOf<bool>({{4, rc::gen::just(true)}, {1, rc::gen::just(false)}})),
      [](std::pair<std::pair<uint64_t, uint32_t>, bool> p) {
        auto [address, length] = p.first;
        if (p.second) {
          address &= ~(kPageSize - 1);
          length = static_cast<uint32_t>((length + kPageSize - 1) & ~(kPageSize - 1));
        }
        return Op{Discard{address, length}};
      });
}

// A scalar read or write aimed at an MMIO region's edges and registers: among many RAM regions
// (the backed ones too) the device's paths would otherwise come up a few times a run.
rc::Gen<Op> gen_mmio_access(const Regions& regions) {
  Regions mmio;
  std::ranges::copy_if(regions, std::back_inserter(mmio),
                       [](const RegionInfo& r) { return r.kind == vmmem::mem::RegionKind::kMmio; });
  const auto at = rc::gen::mapcat(rc::gen::elementOf(mmio), [](const RegionInfo& r) {
    const uint64_t end = r.base + r.size;
    return rc::gen::weightedOneOf<uint64_t>({
        // An offset the device refuses (device_refuses), when the region reaches one.
        {2, rc::gen::map(rc::gen::inRange<uint64_t>(0, std::max<uint64_t>(r.size / 64, 1)),
                         [base = r.base](uint64_t k) { return base + 64 * k + 0x3f; })},
        {2, rc::gen::map(rc::gen::inRange<uint64_t>(1, 8),
                         [end](uint64_t back) { return end - back; })},  // leaves the region
        {1, rc::gen::map(rc::gen::inRange<uint64_t>(0, r.size),
                         [base = r.base](uint64_t offset) { return base + offset; })},
    });
  });
  return rc::gen::map(
      rc::gen::tuple(at, gen_width(), rc::gen::arbitrary<bool>(), rc::gen::arbitrary<uint64_t>()),
      [](const std::tuple<uint64_t, uint8_t, bool, uint64_t>& t) {
        const auto& [address, width, write, value] = t;
        return write ? Op{Write{address, width, value}} : Op{Read{address, width}};
      });
}

// Mostly a shared backing, so that ReadShared and WriteShared often find one.
rc::Gen<Backing> gen_backing() {
  return rc::gen::weightedElement<Backing>({{3, Backing::kMemfd},
                                            {3, Backing::kSharedFile},
                                            {1, Backing::kMemfdHuge},
                                            {1, Backing::kAnonymousHuge},
                                            {1, Backing::kPrivateFile},
                                            {1, Backing::kShortFile}});
}

template <class T>
rc::Gen<Op> as_op(rc::Gen<T> gen) {
  return rc::gen::map(std::move(gen), [](T value) { return Op{value}; });
}

template <class T>
rc::Gen<Op> bulk_op(const Regions& regions) {
  return rc::gen::map(gen_range(regions), [](std::pair<uint64_t, uint32_t> range) {
    return Op{T{range.first, range.second}};
  });
}

// Any op of the decodable domain, aimed at `regions` (the regions mapped when it runs); with
// `full`, of the mem_full format's domain (atomics and copies too).
rc::Gen<Op> gen_op(const Regions& regions = {}, bool full = true,
                   const std::vector<uint8_t>& pinned = {}) {
  const std::size_t some = regions.empty() ? 0 : 1;
  const bool any_mmio = std::ranges::any_of(
      regions, [](const RegionInfo& r) { return r.kind == vmmem::mem::RegionKind::kMmio; });
  return fixed_size(choose<Op>({
      {any_mmio ? 3u : 0u, gen_mmio_access(regions)},
      {3, as_op(rc::gen::construct<AddRam>(gen_new_region_base(regions), gen_ram_size()))},
      {2, as_op(rc::gen::construct<AddMmio>(gen_new_region_base(regions), gen_mmio_size()))},
      {full ? 2u : 0u,
       as_op(rc::gen::construct<AddRom>(gen_new_region_base(regions), gen_rom_size(),
                                        rc::gen::arbitrary<uint64_t>()))},
      {some, as_op(rc::gen::construct<RemoveRegion>(gen_region_base(regions)))},
      {1, as_op(rc::gen::construct<RemoveRegion>(gen_address(regions)))},
      {5, as_op(rc::gen::construct<Read>(gen_address(regions), gen_width()))},
      {5, as_op(rc::gen::construct<Write>(gen_address(regions), gen_width(),
                                          rc::gen::arbitrary<uint64_t>()))},
      {2, bulk_op<ReadBulk>(regions)},
      {2, rc::gen::map(rc::gen::pair(gen_range(regions), rc::gen::arbitrary<uint64_t>()),
                       [](std::pair<std::pair<uint64_t, uint32_t>, uint64_t> p) {
                         return Op{WriteBulk{p.first.first, p.first.second, p.second}};
                       })},
      {1, bulk_op<HostSpan>(regions)},
      {1, rc::gen::map(gen_ram_range(regions),
                       [](std::pair<uint64_t, uint32_t> r) {
                         return Op{HostSpan{r.first, r.second}};
                       })},
      {1, rc::gen::just(Op{Check{}})},
      {full ? 3u : 0u, gen_atomic(regions)},
      {full ? 2u : 0u, gen_copy(regions)},
      {full ? 2u : 0u,
       as_op(rc::gen::construct<SetDirtyTracking>(
           gen_dirty_base(regions),
           rc::gen::weightedOneOf<bool>({{3, rc::gen::just(true)}, {1, rc::gen::just(false)}})))},
      {full ? 2u : 0u, as_op(rc::gen::construct<TakeDirty>(gen_dirty_base(regions)))},
      {full ? 1u : 0u, rc::gen::map(gen_ram_range(regions),
                                    [](std::pair<uint64_t, uint32_t> r) {
                                      return Op{MarkDirty{r.first, r.second}};
                                    })},
      {full ? 3u : 0u, gen_pin_span(regions)},
      {full ? 2u : 0u, gen_discard(regions)},
      {full ? 2u : 0u, as_op(rc::gen::construct<ReadPinned>(gen_pin_slot(pinned)))},
      {full ? 2u : 0u, as_op(rc::gen::construct<WritePinned>(gen_pin_slot(pinned),
                                                             rc::gen::arbitrary<uint64_t>()))},
      {full ? 3u : 0u, as_op(rc::gen::construct<AddBackedRam>(gen_new_region_base(regions),
                                                              gen_ram_size(), gen_backing()))},
      {full ? 2u : 0u, rc::gen::map(gen_ram_range(regions),
                                    [](std::pair<uint64_t, uint32_t> r) {
                                      return Op{ReadShared{r.first, r.second}};
                                    })},
      {full ? 1u : 0u, bulk_op<ReadShared>(regions)},
      {full ? 2u : 0u,
       rc::gen::map(rc::gen::pair(gen_ram_range(regions), rc::gen::arbitrary<uint64_t>()),
                    [](std::pair<std::pair<uint64_t, uint32_t>, uint64_t> p) {
                      return Op{WriteShared{p.first.first, p.first.second, p.second}};
                    })},
  }));
}

RC_GTEST_PROP(MemCodec, DecodeInvertsEncode, ()) {
  const auto ops = *rc::gen::container<std::vector<Op>>(gen_op({}, /*full=*/false));
  RC_ASSERT(decode_ops(encode_ops(ops)) == ops);
}

RC_GTEST_PROP(MemCodec, FullFormatDecodeInvertsEncode, ()) {
  const auto ops = *rc::gen::container<std::vector<Op>>(gen_op());
  const uint64_t host_page = *rc::gen::element<uint64_t>(4096, 16384, 65536);
  const FullInput input = decode_full_input(encode_full_input({host_page, ops}));
  RC_ASSERT(input.host_page_size == host_page);
  RC_ASSERT(input.ops == ops);
}

RC_GTEST_PROP(MemCodec, EveryByteStringDecodesIntoTheFullDomain,
              (const std::vector<uint8_t>& bytes)) {
  for (const Op& op : decode_full_input(bytes).ops)
    RC_ASSERT(in_full_domain(op));
}

RC_GTEST_PROP(MemCodec, EveryByteStringDecodesIntoTheDomain, (const std::vector<uint8_t>& bytes)) {
  for (const Op& op : decode_ops(bytes))
    RC_ASSERT(in_decodable_domain(op));
}

RC_GTEST_PROP(MemModel, ProfilesAgreeWithTheModelForAnySeed, (uint64_t seed)) {
  const Profile<Op>& profile = *rc::gen::elementOf(profiles());
  RC_TAG(profile.name);
  Rng rng(seed);
  const auto failure = verify(profile.generate(rng, 64));
  if (failure) RC_FAIL(*failure);
}

// Whether op is a write to the unplug register of a scenario device mapped in `regions`: the
// device removes its region and refuses the write, and what a handler does stands.
bool unplugged_itself(const Op& op, const Regions& regions) {
  const auto* write = std::get_if<Write>(&op);
  return write != nullptr && std::ranges::any_of(regions, [write](const RegionInfo& r) {
           return r.kind == vmmem::mem::RegionKind::kMmio &&
                  write->address - r.base == kUnplugOffset;
         });
}

TEST(MemModel, FailedOpsChangeNothing) {
  OutcomeDistribution refused;
  const std::vector<std::string> required = {"AddRam: conflict",    "AddRam: out of memory",
                                             "Write: unmapped",     "Write: unsupported",
                                             "WriteBulk: unmapped", "WriteBulk: unsupported"};
  // The rarest of these came up once in some runs of 100 cases (and not at all in one of
  // several ctest runs); up to three runs gather them.
  const bool passed = vmmem::properties::check_until_reached(
      "failed ops change nothing", refused, required, [&refused] {
        GuestMemory memory(kPropertyLimits);
        Executor executor(memory, /*record_device_calls=*/false);
        // Everything a client can observe: the region table and the bytes of every RAM region.
        auto snapshot = [&memory] {
          std::vector<std::byte> contents;
          for (const vmmem::mem::RegionInfo& region : memory.regions()) {
            if (region.kind != vmmem::mem::RegionKind::kRam) continue;
            const size_t at = contents.size();
            contents.resize(at + region.size);
            VMM_CHECK(memory.read(region.base, std::span(contents).subspan(at)).ok(), "snapshot");
          }
          return std::make_pair(memory.regions(), contents);
        };
        const auto count = *rc::gen::inRange<size_t>(0, 100);
        for (size_t i = 0; i < count; ++i) {
          const Op op = *gen_op(memory.regions());
          const auto before = snapshot();
          const Outcome outcome = executor(op);
          if (outcome.code == ErrorCode::kOk || unplugged_itself(op, before.first)) continue;
          refused.add(outcome_kind(op, outcome));
          RC_ASSERT(snapshot() == before);
        }
      });
  EXPECT_TRUE(passed);
  std::cout << "refusals checked:\n" << refused.table();
  vmmem::properties::expect_reached(refused, required);
}

// The stateful property: the model is the state, GuestMemory the system under test.
struct System {
  System(OutcomeDistribution& seen, uint64_t host_page_size)
      : memory(GuestMemoryLimits{.max_ram_bytes = kPropertyLimits.max_ram_bytes,
                                 .max_regions = kPropertyLimits.max_regions,
                                 .host_page_size = host_page_size}),
        seen(seen) {}
  GuestMemory memory;
  Executor executor{memory, /*record_device_calls=*/true};
  OutcomeDistribution& seen;
};

struct ApplyOp : rc::state::Command<Model, System> {
  explicit ApplyOp(const Model& model)
      : op(*gen_op(model.regions(), /*full=*/true, model.pinned_slots())) {}
  Op op;

  void apply(Model& model) const override { model.apply(op); }

  void run(const Model& state, System& system) const override {
    Model predicted = state;
    const Outcome expected = predicted.apply(op);
    const Outcome actual = system.executor(op);
    system.seen.add(outcome_kind(op, actual));
    RC_ASSERT(expected == actual);
    RC_ASSERT(system.memory.check().ok());
    RC_ASSERT(system.memory.regions() == predicted.regions());
  }

  void show(std::ostream& os) const override { os << describe(op); }
};

// Every success and every error an op can meet in the stateful property.
const std::vector<std::string>& required_outcomes() {
  static const std::vector<std::string> tags = {"AddRam: ok",
                                                "AddRam: invalid argument",
                                                "AddRam: overflow",
                                                "AddRam: conflict",
                                                "AddRam: out of memory",
                                                "AddMmio: ok",
                                                "AddMmio: invalid argument",
                                                "AddMmio: overflow",
                                                "AddMmio: conflict",
                                                "AddMmio: out of memory",
                                                "RemoveRegion: ok",
                                                "RemoveRegion: not found",
                                                "Read: ok",
                                                "Read: ok (device)",
                                                "Read: invalid argument",
                                                "Read: overflow",
                                                "Read: unmapped",
                                                "Read: unsupported",
                                                "Read: device error (device)",
                                                "Write: ok",
                                                "Write: ok (device)",
                                                "Write: invalid argument",
                                                "Write: overflow",
                                                "Write: unmapped",
                                                "Write: unsupported",
                                                "Write: device error (device)",
                                                "ReadBulk: ok",
                                                "ReadBulk: overflow",
                                                "ReadBulk: unmapped",
                                                "ReadBulk: unsupported",
                                                "WriteBulk: ok",
                                                "WriteBulk: overflow",
                                                "WriteBulk: unmapped",
                                                "WriteBulk: unsupported",
                                                "HostSpan: ok",
                                                "HostSpan: overflow",
                                                "HostSpan: unmapped",
                                                "HostSpan: unsupported",
                                                "Check: ok",
                                                "Atomic: ok",
                                                "Atomic: invalid argument",
                                                "Atomic: unmapped",
                                                "Atomic: unsupported",
                                                "Copy: ok",
                                                "Copy: overflow",
                                                "Copy: unmapped",
                                                "Copy: unsupported",
                                                "SetDirtyTracking: ok",
                                                "SetDirtyTracking: not found",
                                                "SetDirtyTracking: unsupported",
                                                "TakeDirty: ok",
                                                "TakeDirty: invalid argument",
                                                "TakeDirty: not found",
                                                "MarkDirty: ok",
                                                "MarkDirty: unmapped",
                                                "PinSpan: ok",
                                                "PinSpan: unmapped",
                                                "PinSpan: unsupported",
                                                "ReadPinned: ok",
                                                "ReadPinned: not found",
                                                "WritePinned: ok",
                                                "Discard: ok",
                                                "Discard: invalid argument",
                                                "Discard: unmapped",
                                                "AddRom: ok",
                                                "AddRom: conflict",
                                                "Read: ok",
                                                "Write: read only",
                                                "WriteBulk: read only",
                                                "Atomic: read only",
                                                "HostSpan: read only",
                                                "AddBackedRam: ok",
                                                "AddBackedRam: invalid argument",
                                                "ReadShared: ok",
                                                "ReadShared: unsupported",
                                                "WriteShared: ok"};
  return tags;
}

TEST(MemModel, GuestMemoryBehavesLikeTheModel) {
  OutcomeDistribution seen;
  // Some refusals take an MMIO region of the right size and an access at one of its few
  // refused offsets: a run of 100 sequences meets each a handful of times. Up to three runs
  // gather them; a path no run reaches fails below.
  const bool passed = vmmem::properties::check_until_reached(
      "guest memory behaves like the model", seen, required_outcomes(), [&seen] {
        System system(seen, *rc::gen::element<uint64_t>(4096, 16384, 65536));
        rc::state::check(Model(kPropertyLimits), system,
                         rc::state::gen::execOneOfWithArgs<ApplyOp>());
      });
  ASSERT_TRUE(passed);
  std::cout << "outcomes of " << seen.total() << " ops:\n" << seen.table();
  vmmem::properties::expect_reached(seen, required_outcomes());
  // The RAM paths are the point: most accesses must reach RAM, not only the error paths.
  for (const char* op : {"AddRam", "Read", "Write", "ReadBulk", "WriteBulk", "HostSpan", "Atomic",
                         "Copy", "PinSpan", "ReadPinned", "Discard"}) {
    const std::string prefix = std::string(op) + ": ";
    const double succeeded =
        seen.share(prefix + "ok", prefix) + seen.share(prefix + "ok (device)", prefix);
    EXPECT_GT(succeeded, 0.05) << op << " mostly fails";
  }
}

// Dirty tracking where an off-by-one hides. One to three adjacent RAM regions of one to four
// pages, tracking on in most of them; bursts of writes of every kind that marks pages, each
// starting a few bytes either side of a page or region boundary, and after each burst a
// TakeDirty of every region. The stateful property above reaches a successful TakeDirty a few
// times in 100 sequences, and its writes rarely start at the last bytes of a page, so a
// dropped first or last page, or a region of a cross-region write left unmarked, went unseen.
std::vector<Op> dirty_edge_ops() {
  const auto pages = *rc::gen::container<std::vector<uint64_t>>(*rc::gen::inRange(1, 4),
                                                                rc::gen::inRange<uint64_t>(1, 5));
  std::vector<Op> ops;
  std::vector<uint64_t> bases;
  uint64_t end = kProfileRamBase;
  for (const uint64_t count : pages) {
    bases.push_back(end);
    ops.push_back(AddRam{end, count * kPageSize});
    end += count * kPageSize;
  }
  for (const uint64_t base : bases) {
    if (*rc::gen::element(true, true, true, false)) ops.push_back(SetDirtyTracking{base, true});
  }
  // A page boundary (region boundaries are page boundaries), a few bytes off it, inside RAM.
  const auto near_edge = [&] {
    const uint64_t edge =
        kProfileRamBase +
        kPageSize * *rc::gen::inRange<uint64_t>(0, (end - kProfileRamBase) / kPageSize + 1);
    const int64_t off = *rc::gen::inRange<int64_t>(-8, 9);
    const uint64_t address = edge + static_cast<uint64_t>(off);
    return std::clamp(address, kProfileRamBase, end - 1);
  };
  // Short, or running to a few bytes either side of another boundary, or a few pages.
  const auto length_from = [&](uint64_t address) {
    switch (*rc::gen::inRange(0, 3)) {
      case 0:
        return *rc::gen::inRange<uint32_t>(1, 17);
      case 1: {
        const uint64_t to = near_edge();
        return static_cast<uint32_t>(to > address ? to - address : 1);
      }
      default:
        return *rc::gen::inRange<uint32_t>(1, 3 * kPageSize);
    }
  };
  const int bursts = *rc::gen::inRange(1, 5);
  for (int burst = 0; burst < bursts; ++burst) {
    const int writes = *rc::gen::inRange(1, 7);
    for (int i = 0; i < writes; ++i) {
      const uint64_t address = near_edge();
      // Every kind equally often (inRange leans to its low end while RapidCheck's size is small).
      switch (*rc::gen::element(0, 1, 2, 3, 4, 5)) {
        case 0:
          ops.push_back(Write{address, *rc::gen::element<uint8_t>(1, 2, 4, 8),
                              *rc::gen::arbitrary<uint64_t>()});
          break;
        case 1:
          ops.push_back(WriteBulk{address, length_from(address), *rc::gen::arbitrary<uint64_t>()});
          break;
        case 2: {
          const uint8_t width = *rc::gen::element<uint8_t>(2, 4, 8);
          ops.push_back(Atomic{AtomicKind::kFetchAdd, address & ~uint64_t{width - 1u}, width,
                               static_cast<uint8_t>(std::memory_order_seq_cst), 1, 0});
          break;
        }
        case 3:
          ops.push_back(Copy{near_edge(), address, length_from(address)});
          break;
        case 4:
          ops.push_back(MarkDirty{address, length_from(address)});
          break;
        default: {
          const uint64_t page = address & ~(kPageSize - 1);
          ops.push_back(Discard{page, static_cast<uint32_t>(kPageSize * *rc::gen::inRange(1, 3))});
          break;
        }
      }
    }
    for (const uint64_t base : bases)
      ops.push_back(TakeDirty{base});
  }
  return ops;
}

TEST(MemModel, DirtyTrackingRecordsExactlyThePagesWritten) {
  OutcomeDistribution seen;
  const std::vector<std::string> required = {
      "Write: ok",     "WriteBulk: ok", "Atomic: ok",    "Copy: ok",
      "MarkDirty: ok", "Discard: ok",   "TakeDirty: ok", "TakeDirty: invalid argument"};
  const bool passed = vmmem::properties::check_until_reached(
      "dirty tracking records exactly the pages written", seen, required,
      [&seen] {
        const GuestMemoryLimits limits{
            .max_ram_bytes = kPropertyLimits.max_ram_bytes,
            .max_regions = kPropertyLimits.max_regions,
            .host_page_size = *rc::gen::element<uint64_t>(4096, 16384, 65536)};
        GuestMemory memory(limits);
        Executor executor(memory, /*record_device_calls=*/false);
        Model model(limits);
        for (const Op& op : dirty_edge_ops()) {
          const Outcome expected = model.apply(op);
          const Outcome actual = executor(op);
          seen.add(outcome_kind(op, actual));
          RC_ASSERT(expected == actual);
        }
        RC_ASSERT(memory.check().ok());
      },
      // A case takes a fraction of a millisecond; bugs planted in the marking were met after
      // 20 to 65 cases, so 500 meet them in every run.
      /*cases=*/500);
  ASSERT_TRUE(passed);
  std::cout << "outcomes of " << seen.total() << " ops:\n" << seen.table();
  vmmem::properties::expect_reached(seen, required);
  // Most bitmaps taken must come from tracked regions, or the property checks little.
  EXPECT_GT(seen.share("TakeDirty: ok", "TakeDirty: "), 0.5);
}

// Hot-plug under running readers: whatever the schedule, every read returns bytes of a region
// that was mapped at some point during it, no DMA write through a pin of a removed region lands
// in a later one, and every mapping is released once its last holder is gone (hotplug_storm.h).
RC_GTEST_PROP(MemHotplug, EveryReadReturnsBytesOfARegionMappedDuringIt, ()) {
  StormPlan plan;
  plan.seed = *rc::gen::arbitrary<uint64_t>();
  plan.readers = *rc::gen::inRange(1u, 4u);
  plan.slots = *rc::gen::inRange(1u, 6u);
  plan.table_changes = *rc::gen::inRange(1u, 40u);
  plan.reads_per_reader = *rc::gen::inRange(1u, 200u);
  plan.dma = *rc::gen::arbitrary<bool>();
  const StormReport report = run_storm(plan);
  if (report.violation) RC_FAIL(*report.violation);
  RC_TAG(report.reads_ok > 0 ? "some reads found RAM" : "no read found RAM");
}

}  // namespace
}  // namespace vmmem::scenario::mem
