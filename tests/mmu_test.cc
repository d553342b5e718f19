// The MMU by name: the spec's translation on hand-written PTEs (every fault cause), A/D
// handling, the TLB's flush kinds (superpages, globals vs ASIDs, ranges), the victim table,
// prefetch, batch translation, the ends of the address space, guest-memory generation changes,
// and a shootdown racing with translations (TSan must see it clean).
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <thread>
#include <vector>

#include "mem/guest_memory.h"
#include "mmu/frame_allocator.h"
#include "mmu/mmu.h"
#include "mmu/page_table_builder.h"
#include "mmu/pte.h"

namespace vmmem::mmu {
namespace {

constexpr uint64_t kRam = 0x8000'0000;
constexpr uint64_t kRamSize = 8ull << 20;
constexpr uint64_t kRoot = kRam;  // hand-built tables: root, level 1, level 0
constexpr uint64_t kLevel1 = kRam + 0x1000;
constexpr uint64_t kLevel0 = kRam + 0x2000;
constexpr uint64_t kVa = 0x4000'1234;  // VPN[2] = 1, VPN[1] = 0, VPN[0] = 1
constexpr uint64_t kRwad = pte::kRead | pte::kWrite | pte::kAccessed | pte::kDirty;

struct NullDevice : mem::MmioHandler {
  Result<uint64_t> read(uint64_t, unsigned) override { return uint64_t{0x77}; }
  Status write(uint64_t, unsigned, uint64_t) override { return kOkStatus; }
};

class SpecVectors : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(memory.add_ram(kRam, kRamSize).ok());
    ASSERT_TRUE(memory.add_mmio(0x1000'0000, 0x1000, std::make_shared<NullDevice>()).ok());
    pte_at(kRoot, 1, pte::make(kLevel1 >> 12, pte::kValid));
    pte_at(kLevel1, 0, pte::make(kLevel0 >> 12, pte::kValid));
    leaf(kRwad);
  }

  void pte_at(uint64_t table, unsigned index, uint64_t value) {
    ASSERT_TRUE(memory.write<uint64_t>(table + 8 * index, value).ok());
  }
  // The level-0 leaf of kVa: data page 0x8034_5000.
  void leaf(uint64_t flags) { pte_at(kLevel0, 1, pte::make(0x80345, pte::kValid | flags)); }
  uint64_t leaf_value() { return memory.read<uint64_t>(kLevel0 + 8).value(); }

  WalkResult walk(Access access, AdPolicy policy = AdPolicy::kFault, uint64_t va = kVa) {
    Walker walker(memory, policy);
    return walker.walk(context, va, access);
  }
  Fault fault(Access access, AdPolicy policy = AdPolicy::kFault, uint64_t va = kVa) {
    return walk(access, policy, va).fault;
  }

  mem::GuestMemory memory;
  TranslationContext context{{Mode::kSv39, 1, kRoot >> 12}, Privilege::kSupervisor, false, false};
};

TEST_F(SpecVectors, ThreeLevelWalkComposesThePhysicalAddress) {
  const WalkResult r = walk(Access::kLoad);
  EXPECT_EQ(r.fault, Fault::kNone);
  EXPECT_EQ(r.pa, 0x8034'5234u);
  EXPECT_EQ(r.level, 0u);
}

TEST_F(SpecVectors, SatpRoundTripsThroughItsRegisterLayout) {
  const Satp satp{Mode::kSv48, 0xabcd, 0x12345};
  EXPECT_EQ(satp.raw() >> 60, 9u);
  EXPECT_EQ(Satp::from_raw(satp.raw()), satp);
  EXPECT_EQ(Satp::from_raw(uint64_t{8} << 60).mode, Mode::kSv39);
}

TEST_F(SpecVectors, NonCanonicalAddressFaultsBeforeAnyPteIsRead) {
  EXPECT_EQ(fault(Access::kLoad, AdPolicy::kFault, 0x40'0000'0000), Fault::kNonCanonical);
  EXPECT_EQ(fault(Access::kLoad, AdPolicy::kFault, 0xffff'ffc0'0000'0000), Fault::kInvalidPte);
  context.satp.mode = Mode::kSv48;  // the same address is canonical under Sv48
  EXPECT_NE(fault(Access::kLoad, AdPolicy::kFault, 0x40'0000'0000), Fault::kNonCanonical);
}

TEST_F(SpecVectors, InvalidPte) {
  leaf(kRwad & ~uint64_t{0});
  pte_at(kLevel0, 1, 0);
  EXPECT_EQ(fault(Access::kLoad), Fault::kInvalidPte);
}

TEST_F(SpecVectors, WriteWithoutReadIsReserved) {
  leaf(pte::kWrite | pte::kAccessed | pte::kDirty);
  EXPECT_EQ(fault(Access::kStore), Fault::kWriteWithoutRead);
}

TEST_F(SpecVectors, ReservedHighBitsAndPointerFlags) {
  pte_at(kLevel0, 1, pte::make(0x80345, pte::kValid | kRwad) | (uint64_t{1} << 54));
  EXPECT_EQ(fault(Access::kLoad), Fault::kReservedBits);
  pte_at(kLevel0, 1, pte::make(0x80345, pte::kValid | kRwad) | (uint64_t{1} << 63));
  EXPECT_EQ(fault(Access::kLoad), Fault::kReservedBits);
  leaf(kRwad);
  pte_at(kLevel1, 0, pte::make(kLevel0 >> 12, pte::kValid | pte::kAccessed));
  EXPECT_EQ(fault(Access::kLoad), Fault::kReservedBits);
}

TEST_F(SpecVectors, PointerAtLastLevel) {
  pte_at(kLevel0, 1, pte::make(kLevel0 >> 12, pte::kValid));
  EXPECT_EQ(fault(Access::kLoad), Fault::kPointerAtLastLevel);
}

TEST_F(SpecVectors, PteLoopPointingBackUpEndsInAFault) {
  // Level 1 points back to the root and the root's entry to level 1: three reads, no hang.
  pte_at(kLevel1, 0, pte::make(kRoot >> 12, pte::kValid));
  EXPECT_EQ(fault(Access::kLoad, AdPolicy::kFault, 0x4000'0000), Fault::kInvalidPte);
  pte_at(kRoot, 0, pte::make(kRoot >> 12, pte::kValid));
  EXPECT_EQ(fault(Access::kLoad, AdPolicy::kFault, 0x0), Fault::kPointerAtLastLevel);
}

TEST_F(SpecVectors, MisalignedSuperpage) {
  pte_at(kLevel1, 0, pte::make(0x80001, pte::kValid | kRwad));  // 2 MiB leaf, odd PPN[0]
  EXPECT_EQ(fault(Access::kLoad), Fault::kMisalignedSuperpage);
  pte_at(kLevel1, 0, pte::make(0x80200, pte::kValid | kRwad));
  const WalkResult r = walk(Access::kLoad);
  EXPECT_EQ(r.fault, Fault::kNone);
  EXPECT_EQ(r.pa, 0x8020'0000u + (kVa & 0x1f'ffff));
  EXPECT_EQ(r.level, 1u);
}

TEST_F(SpecVectors, UserPagesAndSum) {
  leaf(kRwad | pte::kExecute | pte::kUser);
  EXPECT_EQ(fault(Access::kLoad), Fault::kUserPageInSupervisor);
  context.sum = true;
  EXPECT_EQ(fault(Access::kLoad), Fault::kNone);
  EXPECT_EQ(fault(Access::kStore), Fault::kNone);
  EXPECT_EQ(fault(Access::kFetch), Fault::kUserPageInSupervisor) << "SUM never allows fetch";
  context.privilege = Privilege::kUser;
  EXPECT_EQ(fault(Access::kFetch), Fault::kNone);
  leaf(kRwad);
  EXPECT_EQ(fault(Access::kLoad), Fault::kSupervisorPageInUser);
}

TEST_F(SpecVectors, ReadWriteExecuteAndMxr) {
  leaf(pte::kExecute | pte::kAccessed);
  EXPECT_EQ(fault(Access::kLoad), Fault::kNotReadable);
  context.mxr = true;
  EXPECT_EQ(fault(Access::kLoad), Fault::kNone);
  EXPECT_EQ(fault(Access::kStore), Fault::kNotWritable);
  leaf(kRwad);
  EXPECT_EQ(fault(Access::kFetch), Fault::kNotExecutable);
}

TEST_F(SpecVectors, SvadeFaultsOnClearAccessedAndDirty) {
  leaf(pte::kRead | pte::kWrite);
  EXPECT_EQ(fault(Access::kLoad), Fault::kAccessedClear);
  leaf(pte::kRead | pte::kWrite | pte::kAccessed);
  EXPECT_EQ(fault(Access::kLoad), Fault::kNone);
  EXPECT_EQ(fault(Access::kStore), Fault::kDirtyClear);
  EXPECT_EQ(leaf_value() & pte::kDirty, 0u) << "Svade never writes the PTE";
}

TEST_F(SpecVectors, SvaduSetsAccessedAndDirtyInGuestMemory) {
  leaf(pte::kRead | pte::kWrite);
  EXPECT_EQ(fault(Access::kLoad, AdPolicy::kUpdate), Fault::kNone);
  EXPECT_EQ(leaf_value() & (pte::kAccessed | pte::kDirty), pte::kAccessed);
  EXPECT_EQ(fault(Access::kStore, AdPolicy::kUpdate), Fault::kNone);
  EXPECT_EQ(leaf_value() & (pte::kAccessed | pte::kDirty), pte::kAccessed | pte::kDirty);
}

TEST_F(SpecVectors, PteOutsideRamIsAnAccessFault) {
  context.satp.root_ppn = 0x4000'0000 >> 12;  // nothing there
  EXPECT_EQ(fault(Access::kLoad), Fault::kPteAccessFault);
  context.satp.root_ppn = kRoot >> 12;
  pte_at(kLevel1, 0, pte::make(0x1000'0000 >> 12, pte::kValid));  // a table in MMIO
  EXPECT_EQ(fault(Access::kLoad), Fault::kPteAccessFault);
}

TEST_F(SpecVectors, ExceptionCauses) {
  EXPECT_EQ(exception_cause(Fault::kInvalidPte, Access::kFetch), 12u);
  EXPECT_EQ(exception_cause(Fault::kInvalidPte, Access::kLoad), 13u);
  EXPECT_EQ(exception_cause(Fault::kNotWritable, Access::kStore), 15u);
  EXPECT_EQ(exception_cause(Fault::kPteAccessFault, Access::kFetch), 1u);
  EXPECT_EQ(exception_cause(Fault::kPteAccessFault, Access::kLoad), 5u);
  EXPECT_EQ(exception_cause(Fault::kPhysicalAccessFault, Access::kStore), 7u);
  EXPECT_EQ(exception_cause(Fault::kNone, Access::kLoad), 0u);
}

TEST_F(SpecVectors, BareTranslatesToItself) {
  context.satp.mode = Mode::kBare;
  const WalkResult r = walk(Access::kFetch, AdPolicy::kFault, 0x1234'5678);
  EXPECT_EQ(r.fault, Fault::kNone);
  EXPECT_EQ(r.pa, 0x1234'5678u);
}

// An Mmu on tables built with the PageTableBuilder.
class MmuTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(memory.add_ram(kRam, kRamSize).ok());
    ASSERT_TRUE(memory.add_mmio(0x1000'0000, 0x1000, std::make_shared<NullDevice>()).ok());
    for (int i = 0; i < 2; ++i)
      spaces.emplace_back(memory, frames, Mode::kSv39, frames.allocate().value());
    use_space(0);
  }
  void TearDown() override { EXPECT_TRUE(mmu.check().ok()) << mmu.check().message(); }

  void use_space(unsigned slot) {
    mmu.set_context({{Mode::kSv39, static_cast<uint16_t>(slot + 1), spaces[slot].root_ppn()},
                     Privilege::kSupervisor});
  }
  uint64_t misses() const { return mmu.counters().misses; }

  mem::GuestMemory memory;
  FrameAllocator frames{memory, kRam, 1 << 20};
  std::vector<PageTableBuilder> spaces;
  Mmu mmu{memory, MmuConfig{}};
};

TEST_F(MmuTest, BuilderMapsUnmapsAndProtects) {
  PageTableBuilder& space = spaces[0];
  ASSERT_TRUE(space.map(0x1000, 0x8040'0000, 4096, kRwad).ok());
  EXPECT_EQ(space.map(0x1000, 0x8040'0000, 4096, kRwad).code(), ErrorCode::kConflict);
  EXPECT_EQ(space.map(0x2000, 0x8040'0800, 4096, kRwad).code(), ErrorCode::kInvalidArgument);
  EXPECT_EQ(space.map(0x2000, 0x8040'0000, 4096, pte::kWrite).code(), ErrorCode::kInvalidArgument);
  EXPECT_EQ(space.map(0, 0x8040'0000, 0x20'0000, kRwad).code(), ErrorCode::kConflict)
      << "a 2 MiB page over a table";
  EXPECT_EQ(mmu.translate(0x1008, Access::kLoad), (Translation{Fault::kNone, 0x8040'0008}));
  ASSERT_TRUE(space.protect(0x1000, pte::kRead | pte::kAccessed).ok());
  mmu.flush({FlushKind::kAddress, 0x1000});
  EXPECT_EQ(mmu.translate(0x1008, Access::kStore).fault, Fault::kNotWritable);
  ASSERT_TRUE(space.unmap(0x1000).ok());
  mmu.flush({FlushKind::kAddress, 0x1000});
  EXPECT_EQ(mmu.translate(0x1008, Access::kLoad).fault, Fault::kInvalidPte);
  EXPECT_EQ(space.unmap(0x1000).status().code(), ErrorCode::kNotFound);
  ASSERT_TRUE(space.map(0x1000, 0x8040'0000, 4096, kRwad).ok());
  for (const uint8_t bad : {uint8_t{pte::kWrite}, uint8_t{pte::kAccessed}, uint8_t{0}})
    EXPECT_EQ(space.protect(0x1000, bad).code(), ErrorCode::kInvalidArgument) << int{bad};
  EXPECT_EQ(space.find_leaf(0x1000).value().entry & pte::kFlagBits, kRwad | pte::kValid);
}

TEST_F(MmuTest, FrameAllocatorHandsOutEachFrameOfItsRangeOnce) {
  FrameAllocator tiny(memory, kRam + (2 << 20), 3 * 4096);
  std::vector<uint64_t> frames_out;
  for (int i = 0; i < 3; ++i)
    frames_out.push_back(tiny.allocate().value());
  EXPECT_EQ(tiny.allocate().status().code(), ErrorCode::kOutOfMemory);
  std::sort(frames_out.begin(), frames_out.end());
  EXPECT_EQ(frames_out, (std::vector<uint64_t>{kRam + (2 << 20), kRam + (2 << 20) + 4096,
                                               kRam + (2 << 20) + 8192}));
  EXPECT_TRUE(tiny.check().ok());
  tiny.free(frames_out[1]);
  EXPECT_EQ(tiny.allocate().value(), frames_out[1]);
  EXPECT_EQ(tiny.allocate().status().code(), ErrorCode::kOutOfMemory);
}

TEST_F(MmuTest, UnmapFreesTheTablesItLeavesEmpty) {
  PageTableBuilder& space = spaces[0];
  const uint64_t before = frames.available();
  // 0x40'0000'0000 - 0x1000 is the last page of its level-1 and level-0 tables (VPN 255/511/511).
  constexpr uint64_t kLast = 0x3f'ffff'f000;
  ASSERT_TRUE(space.map(kLast, 0x8040'0000, 4096, kRwad).ok());
  ASSERT_TRUE(space.map(kLast - 0x1000, 0x8040'1000, 4096, kRwad).ok());
  EXPECT_EQ(frames.available(), before - 2) << "a level-1 and a level-0 table";
  const uint64_t level0 = space.pte_address(kLast, 0).value() & ~uint64_t{4095};
  EXPECT_EQ(space.unmap(kLast).value(), 0u) << "the level-0 table still maps kLast - 0x1000";
  EXPECT_EQ(frames.available(), before - 2);
  EXPECT_EQ(space.unmap(kLast - 0x1000).value(), 2u);
  EXPECT_EQ(frames.available(), before);
  EXPECT_FALSE(frames.in_use(level0));
  EXPECT_EQ(space.pte_address(kLast, 0).status().code(), ErrorCode::kNotFound);
  mmu.flush({FlushKind::kAddress, kLast - 0x1000});
  EXPECT_EQ(mmu.translate(kLast - 0x1000, Access::kLoad).fault, Fault::kInvalidPte);
  // Freed frames come back most recent first: the level-1 table (freed last), then level 0.
  ASSERT_TRUE(space.map(kLast, 0x8040'0000, 4096, kRwad).ok());
  EXPECT_EQ(space.pte_address(kLast, 0).value() & ~uint64_t{4095}, level0);
  EXPECT_EQ(mmu.translate(kLast + 8, Access::kLoad), (Translation{Fault::kNone, 0x8040'0008}));
  // A table that is not empty only because its last PTE is in use stays.
  ASSERT_TRUE(space.map(0x20'0000 - 0x1000, 0x8040'2000, 4096, kRwad).ok());
  ASSERT_TRUE(space.map(0x20'0000 - 0x2000, 0x8040'3000, 4096, kRwad).ok());
  EXPECT_EQ(space.unmap(0x20'0000 - 0x2000).value(), 0u);
  EXPECT_EQ(mmu.translate(0x20'0000 - 0x1000, Access::kLoad).pa, 0x8040'2000u);
  EXPECT_TRUE(frames.check().ok());
}

TEST_F(MmuTest, BuilderRunsOutOfFramesWithoutWritingAnything) {
  FrameAllocator tiny(memory, kRam + (2 << 20), 2 * 4096);
  PageTableBuilder space(memory, tiny, Mode::kSv39, tiny.allocate().value());
  EXPECT_EQ(space.map(0x1000, kRam, 4096, kRwad).code(), ErrorCode::kOutOfMemory);
  EXPECT_EQ(tiny.available(), 1u);
  EXPECT_EQ(space.find_leaf(0x1000).status().code(), ErrorCode::kNotFound);
}

TEST_F(MmuTest, HitsAreCountedAndLoadsReachTheBytes) {
  ASSERT_TRUE(spaces[0].map(0x5000, 0x8040'0000, 4096, kRwad).ok());
  Mmu counted(memory, MmuConfig{.count_hits = true});
  counted.set_context(mmu.context());
  EXPECT_EQ(counted.store<uint64_t>(0x5010, 0x1122334455667788), Fault::kNone);
  const LoadResult<uint32_t> loaded = counted.load<uint32_t>(0x5014);
  EXPECT_EQ(loaded.fault, Fault::kNone);
  EXPECT_EQ(loaded.value, 0x11223344u);
  EXPECT_EQ(memory.read<uint64_t>(0x8040'0010).value(), 0x1122334455667788u);
  EXPECT_EQ(counted.counters().misses, 1u);
  EXPECT_GE(counted.counters().hits, 1u);
  EXPECT_EQ(mmu.load<uint32_t>(0x5014).value, 0x11223344u);
  EXPECT_EQ(mmu.counters().hits, 0u) << "hits are counted only when asked for";
}

// Only naturally aligned accesses complete on the fast path; misaligned ones inside a page
// take the slow path and must still read and write the same bytes, with one walk for the page.
TEST_F(MmuTest, MisalignedAccessesInsideAPageReachTheSameBytes) {
  ASSERT_TRUE(spaces[0].map(0x5000, 0x8040'0000, 4096, kRwad).ok());
  EXPECT_EQ(mmu.store<uint64_t>(0x5003, 0x1122334455667788), Fault::kNone);
  EXPECT_EQ(mmu.store<uint16_t>(0x5011, 0xa1b2), Fault::kNone);
  EXPECT_EQ(memory.read<uint64_t>(0x8040'0003).value(), 0x1122334455667788u);
  EXPECT_EQ(memory.read<uint16_t>(0x8040'0011).value(), 0xa1b2u);
  EXPECT_EQ(mmu.load<uint64_t>(0x5003).value, 0x1122334455667788u);
  EXPECT_EQ(mmu.load<uint32_t>(0x5005).value, 0x33445566u);
  EXPECT_EQ(mmu.load<uint16_t>(0x5011).value, 0xa1b2u);
  EXPECT_EQ(mmu.load<uint64_t>(0x5000).value, 0x4455667788000000u);
  EXPECT_EQ(mmu.counters().misses, 1u);
}

TEST_F(MmuTest, MmioPagesTakeTheSlowPathToTheDevice) {
  ASSERT_TRUE(spaces[0].map(0x6000, 0x1000'0000, 4096, kRwad).ok());
  EXPECT_EQ(mmu.load<uint8_t>(0x6000).value, 0x77);
  EXPECT_EQ(mmu.load<uint8_t>(0x6000).value, 0x77);
  ASSERT_TRUE(spaces[0].map(0x7000, 0x4000'0000, 4096, kRwad).ok());
  EXPECT_EQ(mmu.load<uint8_t>(0x7000).fault, Fault::kPhysicalAccessFault);
}

TEST_F(MmuTest, SuperpageEntriesDieTogetherWhenOnePageOfThemIsFlushed) {
  ASSERT_TRUE(spaces[0].map(0x4000'0000, 0x8020'0000, 0x20'0000, kRwad).ok());
  ASSERT_TRUE(spaces[0].map(0x1000, 0x8040'0000, 4096, kRwad).ok());
  for (uint64_t page : {0u, 5u, 9u})
    ASSERT_EQ(mmu.translate(0x4000'0000 + page * 4096, Access::kLoad).fault, Fault::kNone);
  ASSERT_EQ(mmu.translate(0x1000, Access::kLoad).fault, Fault::kNone);
  const uint64_t before = misses();
  mmu.flush({FlushKind::kAddress, 0x4000'0000 + 77 * 4096});  // a page never touched
  EXPECT_EQ(mmu.translate(0x1000, Access::kLoad).fault, Fault::kNone);
  EXPECT_EQ(misses(), before) << "the 4 KiB page elsewhere survives";
  for (uint64_t page : {0u, 5u, 9u})
    EXPECT_EQ(mmu.translate(0x4000'0000 + page * 4096, Access::kLoad).fault, Fault::kNone);
  EXPECT_EQ(misses(), before + 3) << "every entry of the superpage was flushed";
  EXPECT_EQ(mmu.counters().superpage_scans, 1u);
}

TEST_F(MmuTest, AsidFlushKeepsGlobalsAndAddressFlushTakesThem) {
  ASSERT_TRUE(spaces[0].map(0x1000, 0x8040'0000, 4096, kRwad).ok());
  ASSERT_TRUE(spaces[0].map(0x2000, 0x8041'0000, 4096, kRwad | pte::kGlobal).ok());
  ASSERT_TRUE(spaces[1].map(0x2000, 0x8041'0000, 4096, kRwad | pte::kGlobal).ok());
  (void)mmu.translate(0x1000, Access::kLoad);
  (void)mmu.translate(0x2000, Access::kLoad);
  uint64_t before = misses();
  use_space(1);  // the global entry serves the other address space too
  EXPECT_EQ(mmu.translate(0x2000, Access::kLoad).pa, 0x8041'0000u);
  EXPECT_EQ(mmu.translate(0x1000, Access::kLoad).fault, Fault::kInvalidPte);
  EXPECT_EQ(misses(), before + 1);
  use_space(0);
  before = misses();
  EXPECT_EQ(mmu.translate(0x1000, Access::kLoad).fault, Fault::kNone) << "ASID-tagged entry kept";
  EXPECT_EQ(misses(), before);
  mmu.flush({FlushKind::kAsid, 0, 1});
  mmu.flush({FlushKind::kAddressAsid, 0x2000, 1});
  (void)mmu.translate(0x2000, Access::kLoad);
  EXPECT_EQ(misses(), before) << "ASID flushes keep global entries";
  (void)mmu.translate(0x1000, Access::kLoad);
  EXPECT_EQ(misses(), before + 1);
  mmu.flush({FlushKind::kAddress, 0x2000});
  (void)mmu.translate(0x2000, Access::kLoad);
  EXPECT_EQ(misses(), before + 2) << "an address flush without ASID takes globals";
}

TEST_F(MmuTest, RangeFlushFallsBackToAFullFlushPastItsLimit) {
  ASSERT_TRUE(spaces[0].map(0x1000, 0x8040'0000, 4096, kRwad).ok());
  ASSERT_TRUE(spaces[0].map(0x9000'0000, 0x8041'0000, 4096, kRwad).ok());
  (void)mmu.translate(0x1000, Access::kLoad);
  (void)mmu.translate(0x9000'0000, Access::kLoad);
  mmu.flush({FlushKind::kRange, 0x1000, 0, 4096});
  EXPECT_EQ(mmu.counters().range_fallbacks, 0u);
  const uint64_t before = misses();
  (void)mmu.translate(0x9000'0000, Access::kLoad);
  EXPECT_EQ(misses(), before);
  mmu.flush({FlushKind::kRange, 0, 0, 1ull << 30});
  EXPECT_EQ(mmu.counters().range_fallbacks, 1u);
  (void)mmu.translate(0x9000'0000, Access::kLoad);
  EXPECT_EQ(misses(), before + 1);
  // At the limit, page by page: the page outside the range stays; one page more falls back. A
  // range that starts mid-page counts the page it starts in.
  const uint64_t limit = TlbConfig{}.range_flush_limit;
  mmu.flush({FlushKind::kRange, 0x1000, 0, limit * 4096});
  EXPECT_EQ(mmu.counters().range_fallbacks, 1u);
  (void)mmu.translate(0x9000'0000, Access::kLoad);
  EXPECT_EQ(misses(), before + 1);
  mmu.flush({FlushKind::kRange, 0x1008, 0, limit * 4096});
  EXPECT_EQ(mmu.counters().range_fallbacks, 2u);
  (void)mmu.translate(0x9000'0000, Access::kLoad);
  EXPECT_EQ(misses(), before + 2);
}

TEST_F(MmuTest, LastPageOfTheAddressSpaceAndAccessesThatLeaveIt) {
  ASSERT_TRUE(spaces[0].map(0xffff'ffff'ffff'f000, 0x8040'0000, 4096, kRwad).ok());
  EXPECT_EQ(mmu.store<uint64_t>(0xffff'ffff'ffff'fff8, 42), Fault::kNone);
  EXPECT_EQ(mmu.load<uint64_t>(0xffff'ffff'ffff'fff8).value, 42u);
  // Four bytes at the top, four at address 0 (unmapped): the second page's fault, no bytes.
  EXPECT_EQ(mmu.store<uint64_t>(0xffff'ffff'ffff'fffc, ~uint64_t{0}), Fault::kInvalidPte);
  EXPECT_EQ(mmu.load<uint64_t>(0xffff'ffff'ffff'fff8).value, 42u);
  ASSERT_TRUE(spaces[0].map(0, 0x8041'0000, 4096, kRwad).ok());
  EXPECT_EQ(mmu.store<uint64_t>(0xffff'ffff'ffff'fffc, 0x0102030405060708), Fault::kNone);
  EXPECT_EQ(memory.read<uint32_t>(0x8041'0000).value(), 0x01020304u);
}

TEST_F(MmuTest, GuestMemoryChangesKillTlbHostAddresses) {
  ASSERT_TRUE(memory.add_ram(0xa000'0000, 0x1000).ok());
  ASSERT_TRUE(spaces[0].map(0x3000, 0xa000'0000, 4096, kRwad).ok());
  ASSERT_EQ(mmu.store<uint64_t>(0x3000, 99), Fault::kNone);
  ASSERT_TRUE(memory.remove(0xa000'0000).ok());
  EXPECT_EQ(mmu.load<uint64_t>(0x3000).fault, Fault::kPhysicalAccessFault);
  ASSERT_TRUE(memory.add_ram(0xa000'0000, 0x1000).ok());
  EXPECT_EQ(mmu.load<uint64_t>(0x3000).value, 0u) << "fresh RAM, not the old host page";
}

TEST_F(MmuTest, RomIsReadThroughTheTlbAndNeverWrittenThroughIt) {
  std::vector<std::byte> firmware(4096, std::byte{0x5a});
  ASSERT_TRUE(memory.add_rom(0xb000'0000, firmware).ok());
  ASSERT_TRUE(spaces[0].map(0x9000, 0xb000'0000, 4096, kRwad).ok());
  EXPECT_EQ(mmu.load<uint8_t>(0x9000).value, 0x5au);
  // The entry is warm and its PTE allows stores: the store must still reach guest memory, which
  // refuses it, instead of writing the read-only host page.
  EXPECT_EQ(mmu.store<uint8_t>(0x9000, 1), Fault::kPhysicalAccessFault);
  // A store that crosses from ROM into RAM writes neither page.
  ASSERT_TRUE(spaces[0].map(0xa000, 0x8040'6000, 4096, kRwad).ok());
  EXPECT_EQ(mmu.store<uint64_t>(0x9ffc, ~uint64_t{0}), Fault::kPhysicalAccessFault);
  EXPECT_EQ(memory.read<uint32_t>(0x8040'6000).value(), 0u);
  EXPECT_EQ(mmu.load<uint8_t>(0x9000).value, 0x5au);
}

TEST_F(MmuTest, TranslationsDieWhenTheirTablesLeaveGuestMemory) {
  constexpr uint64_t kTables = 0xb000'0000;
  ASSERT_TRUE(memory.add_ram(kTables, 0x4000).ok());
  FrameAllocator table_frames(memory, kTables, 0x4000);
  PageTableBuilder space(memory, table_frames, Mode::kSv39, table_frames.allocate().value());
  ASSERT_TRUE(space.map(0x3000, 0x8040'0000, 4096, kRwad).ok());
  mmu.set_context({{Mode::kSv39, 7, space.root_ppn()}, Privilege::kSupervisor});
  ASSERT_EQ(mmu.translate(0x3008, Access::kLoad), (Translation{Fault::kNone, 0x8040'0008}));
  ASSERT_TRUE(memory.remove(kTables).ok());
  EXPECT_EQ(mmu.translate(0x3008, Access::kLoad).fault, Fault::kPteAccessFault)
      << "a translation cached from tables that are gone";
}

// The pages of kRam's dirty bitmap that are set, as page offsets from kRam.
std::vector<uint64_t> dirty_pages(mem::GuestMemory& memory) {
  std::vector<uint64_t> pages;
  const std::vector<uint64_t> words = memory.take_dirty(kRam).value();
  for (size_t w = 0; w < words.size(); ++w)
    for (unsigned bit = 0; bit < 64; ++bit)
      if ((words[w] >> bit) & 1) pages.push_back((w * 64 + bit) * 4096);
  return pages;
}

TEST_F(MmuTest, StoresThroughTheTlbReachDirtyTracking) {
  ASSERT_TRUE(spaces[0].map(0x5000, 0x8040'0000, 4096, kRwad).ok());
  ASSERT_TRUE(spaces[0].map(0x6000, 0x8040'2000, 4096, kRwad).ok());
  // Warm the TLB with store-ready entries before tracking starts.
  EXPECT_EQ(mmu.store<uint64_t>(0x5000, 1), Fault::kNone);
  EXPECT_EQ(mmu.store<uint64_t>(0x6000, 1), Fault::kNone);
  ASSERT_TRUE(memory.set_dirty_tracking(kRam, true).ok());
  EXPECT_TRUE(dirty_pages(memory).empty());
  // A hit on an entry filled before tracking began, then a hit on one filled after it.
  EXPECT_EQ(mmu.store<uint32_t>(0x5010, 2), Fault::kNone);
  EXPECT_EQ(dirty_pages(memory), (std::vector<uint64_t>{0x40'0000}));
  EXPECT_EQ(mmu.store<uint32_t>(0x5010, 3), Fault::kNone);
  EXPECT_EQ(mmu.store_scalar(0x5020, 2, 4), Fault::kNone);
  EXPECT_EQ(dirty_pages(memory), (std::vector<uint64_t>{0x40'0000}));
  // Loads mark nothing; a store that crosses into the next virtual page marks both frames.
  EXPECT_EQ(mmu.load<uint64_t>(0x5000).value, 1u);
  EXPECT_TRUE(dirty_pages(memory).empty());
  ASSERT_TRUE(spaces[0].unmap(0x6000).ok());
  mmu.flush({FlushKind::kAll});
  EXPECT_EQ(dirty_pages(memory).size(), 1u) << "the unmap wrote a PTE";
  ASSERT_TRUE(spaces[0].map(0x6000, 0x8040'2000, 4096, kRwad).ok());
  (void)dirty_pages(memory);
  EXPECT_EQ(mmu.store<uint64_t>(0x5ffc, ~uint64_t{0}), Fault::kNone);
  EXPECT_EQ(dirty_pages(memory), (std::vector<uint64_t>{0x40'0000, 0x40'2000}));
  // Svadu setting D on a store marks the page-table page as well as the data page.
  ASSERT_TRUE(spaces[0].map(0x7000, 0x8040'4000, 4096, pte::kRead | pte::kWrite).ok());
  const uint64_t leaf_page = spaces[0].find_leaf(0x7000).value().pte_address & ~uint64_t{4095};
  (void)dirty_pages(memory);
  EXPECT_EQ(mmu.store<uint8_t>(0x7000, 9), Fault::kNone);
  EXPECT_EQ(dirty_pages(memory), (std::vector<uint64_t>{leaf_page - kRam, 0x40'4000}));
  // Tracking off: stores take the host address again (and mark nothing).
  ASSERT_TRUE(memory.set_dirty_tracking(kRam, false).ok());
  EXPECT_EQ(mmu.store<uint32_t>(0x5010, 5), Fault::kNone);
  EXPECT_EQ(memory.read<uint32_t>(0x8040'0010).value(), 5u);
}

TEST_F(MmuTest, BatchEqualsIndividualTranslations) {
  for (uint64_t page = 0; page < 8; ++page)
    ASSERT_TRUE(
        spaces[0].map(0x10'0000 + page * 4096, 0x8040'0000 + page * 4096, 4096, kRwad).ok());
  std::vector<uint64_t> vas;
  for (uint64_t i = 0; i < 100; ++i)
    vas.push_back(0x10'0000 + i * 400);  // runs of about ten per page, then unmapped pages
  std::vector<Translation> batch(vas.size());
  mmu.translate_batch(vas, Access::kLoad, batch);
  for (size_t i = 0; i < vas.size(); ++i)
    EXPECT_EQ(batch[i], mmu.translate(vas[i], Access::kLoad)) << i;
}

TEST_F(MmuTest, VictimTableCatchesConflictingPages) {
  Mmu small(memory, MmuConfig{.tlb = {.main_entries = 16, .victim_entries = 2}});
  small.set_context(mmu.context());
  ASSERT_TRUE(spaces[0].map(0x1000, 0x8040'0000, 4096, kRwad).ok());
  ASSERT_TRUE(spaces[0].map(0x11000, 0x8041'0000, 4096, kRwad).ok());  // same slot of 16
  for (int round = 0; round < 3; ++round) {
    EXPECT_EQ(small.translate(0x1000, Access::kLoad).pa, 0x8040'0000u);
    EXPECT_EQ(small.translate(0x11000, Access::kLoad).pa, 0x8041'0000u);
  }
  EXPECT_EQ(small.counters().misses, 2u);
  EXPECT_EQ(small.counters().victim_hits, 4u);
  EXPECT_TRUE(small.check().ok());
}

TEST_F(MmuTest, AddressFlushReachesTheVictimTable) {
  Mmu small(memory, MmuConfig{.tlb = {.main_entries = 16, .victim_entries = 2}});
  small.set_context(mmu.context());
  ASSERT_TRUE(spaces[0].map(0x1000, 0x8040'0000, 4096, kRwad).ok());
  ASSERT_TRUE(spaces[0].map(0x11000, 0x8041'0000, 4096, kRwad).ok());  // same slot of 16
  ASSERT_EQ(small.translate(0x1000, Access::kLoad).fault, Fault::kNone);
  ASSERT_EQ(small.translate(0x11000, Access::kLoad).fault, Fault::kNone);  // 0x1000 -> victim
  ASSERT_TRUE(spaces[0].unmap(0x1000).ok());
  small.flush({FlushKind::kAddress, 0x1000});
  EXPECT_EQ(small.translate(0x1000, Access::kLoad).fault, Fault::kInvalidPte);
}

TEST_F(MmuTest, PrivilegeChangeReachesTheVictimTable) {
  Mmu small(memory, MmuConfig{.tlb = {.main_entries = 16, .victim_entries = 2}});
  ASSERT_TRUE(spaces[0].map(0x1000, 0x8040'0000, 4096, kRwad | pte::kUser).ok());
  ASSERT_TRUE(spaces[0].map(0x11000, 0x8041'0000, 4096, kRwad | pte::kUser).ok());
  small.set_context({mmu.context().satp, Privilege::kUser});
  ASSERT_EQ(small.translate(0x1000, Access::kLoad).fault, Fault::kNone);
  ASSERT_EQ(small.translate(0x11000, Access::kLoad).fault, Fault::kNone);  // 0x1000 -> victim
  small.set_context({mmu.context().satp, Privilege::kSupervisor});
  EXPECT_EQ(small.translate(0x1000, Access::kLoad).fault, Fault::kUserPageInSupervisor);
  EXPECT_TRUE(small.check().ok());
}

TEST_F(MmuTest, StoreAfterLoadOnACleanPage) {
  ASSERT_TRUE(
      spaces[0].map(0x1000, 0x8040'0000, 4096, pte::kRead | pte::kWrite | pte::kAccessed).ok());
  Mmu svade(memory, MmuConfig{.ad_policy = AdPolicy::kFault});
  svade.set_context(mmu.context());
  EXPECT_EQ(svade.load<uint64_t>(0x1000).fault, Fault::kNone);
  EXPECT_EQ(svade.store<uint64_t>(0x1000, 1), Fault::kDirtyClear)
      << "the entry the load cached must not let a store skip the D check";
  EXPECT_EQ(mmu.load<uint64_t>(0x1000).fault, Fault::kNone);
  EXPECT_EQ(mmu.store<uint64_t>(0x1000, 1), Fault::kNone);
  EXPECT_NE(spaces[0].find_leaf(0x1000).value().entry & pte::kDirty, 0u) << "Svadu sets D";
}

TEST_F(MmuTest, StridePrefetchFillsPagesAheadAndCountsTheirUse) {
  Mmu prefetching(memory, MmuConfig{.prefetch_depth = 2});
  prefetching.set_context(mmu.context());
  for (uint64_t page = 0; page < 64; ++page)
    ASSERT_TRUE(spaces[0].map(0x20'0000 + page * 4096, 0x8040'0000, 4096, kRwad).ok());
  for (uint64_t page = 0; page < 64; page += 2)
    EXPECT_EQ(prefetching.translate(0x20'0000 + page * 4096, Access::kLoad).fault, Fault::kNone);
  // Misses at pages 0, 2, 4 confirm the stride; from then on one miss in three.
  EXPECT_GE(prefetching.counters().prefetch_hits, 18u);
  EXPECT_LE(prefetching.counters().misses, 14u);
  EXPECT_TRUE(prefetching.check().ok());
}

TEST_F(MmuTest, ContextChangesRederivePermissionsWithoutWalking) {
  ASSERT_TRUE(spaces[0].map(0x1000, 0x8040'0000, 4096, kRwad | pte::kUser).ok());
  EXPECT_EQ(mmu.translate(0x1000, Access::kLoad).fault, Fault::kUserPageInSupervisor);
  mmu.set_context({mmu.context().satp, Privilege::kUser});
  EXPECT_EQ(mmu.translate(0x1000, Access::kLoad).fault, Fault::kNone);
  mmu.set_context({mmu.context().satp, Privilege::kSupervisor});
  EXPECT_EQ(mmu.translate(0x1000, Access::kLoad).fault, Fault::kUserPageInSupervisor)
      << "a cached U entry must not serve S-mode without SUM";
}

TEST_F(MmuTest, ShootdownFromAnotherThreadIsAppliedBeforeTheNextTranslation) {
  constexpr uint64_t kPages = 16;
  for (uint64_t page = 0; page < kPages; ++page)
    ASSERT_TRUE(spaces[0].map(0x30'0000 + page * 4096, 0x8040'0000, 4096, kRwad).ok());
  std::atomic<bool> flushed{false};
  std::atomic<bool> stop{false};
  std::atomic<uint64_t> stale_after_flush{0};
  std::atomic<bool> warm{false};
  std::thread owner([&] {
    uint64_t i = 0;
    while (!stop.load(std::memory_order_acquire)) {
      const bool after = flushed.load(std::memory_order_acquire);
      const Translation t = mmu.translate(0x30'0000 + (i++ % kPages) * 4096, Access::kLoad);
      if (after && t.fault == Fault::kNone) stale_after_flush.fetch_add(1);
      if (i == kPages) warm.store(true, std::memory_order_release);
    }
  });
  // Once the owner has every page in its TLB (and has caught up, so only the mailbox can tell
  // it of the request), the requester changes the tables (atomic PTE stores) while the owner
  // hits on them, then shoots down the owner's TLB and waits for it to be applied.
  while (!warm.load(std::memory_order_acquire))
    std::this_thread::yield();
  for (uint64_t page = 0; page < kPages; ++page)
    ASSERT_TRUE(spaces[0].unmap(0x30'0000 + page * 4096).ok());
  const uint64_t ticket = mmu.shootdown().post({FlushKind::kRange, 0x30'0000, 0, kPages * 4096});
  // Bounded only so that an owner that never applies it fails the test instead of hanging it.
  const bool applied = mmu.shootdown().wait_for(ticket, std::chrono::seconds(10));
  flushed.store(true, std::memory_order_release);
  std::this_thread::sleep_for(std::chrono::milliseconds(20));
  stop.store(true, std::memory_order_release);
  owner.join();
  ASSERT_TRUE(applied) << "the owner kept translating without applying the shootdown";
  EXPECT_EQ(stale_after_flush.load(), 0u);
  EXPECT_EQ(mmu.counters().flushes[static_cast<unsigned>(FlushKind::kRange)], 1u);
}

}  // namespace
}  // namespace vmmem::mmu
