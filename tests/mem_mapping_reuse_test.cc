// HostMapping's reuse pool (host_mapping.h, invariant 5): what comes back reads zeros behind its
// guards, and only plain anonymous mappings of the same shape are reused, within the limit.
#include <gtest/gtest.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cstddef>
#include <cstring>

#include "mem/guest_memory.h"
#include "mem/host_mapping.h"

namespace vmmem::mem {
namespace {

constexpr uint64_t kLimit = uint64_t{64} << 20;

class MappingReuse : public testing::Test {
 protected:
  void SetUp() override { HostMapping::set_reuse_limit(kLimit); }
  void TearDown() override { HostMapping::set_reuse_limit(0); }

  static uint64_t page() { return HostMapping::system_page_size(); }
  static HostMapping create(uint64_t size, uint64_t granule = HostMapping::system_page_size(),
                            const RamBacking& backing = {}) {
    Result<HostMapping> mapping = HostMapping::create(size, granule, backing);
    VMM_CHECK(mapping.ok(), "create");
    return std::move(mapping).value();
  }
  static bool all_zero(const HostMapping& mapping) {
    for (uint64_t i = 0; i < mapping.size(); ++i) {
      if (mapping.data()[i] != std::byte{0}) return false;
    }
    return true;
  }
};

TEST_F(MappingReuse, AReleasedMappingComesBackAsZeros) {
  const uint64_t size = 8 * page();
  std::byte* first_data = nullptr;
  {
    HostMapping mapping = create(size);
    first_data = mapping.data();
    std::memset(mapping.data(), 0xa5, 2 * page());        // two whole pages
    mapping.data()[5 * page() + 17] = std::byte{1};       // one byte of another
    EXPECT_EQ(mapping.data()[3 * page()], std::byte{0});  // a page only read
    mapping.data()[size - 1] = std::byte{0xff};           // the last byte
  }
  EXPECT_EQ(HostMapping::reusable_bytes(), size);
  const uint64_t reused_before = HostMapping::reused_count();
  HostMapping again = create(size);
  EXPECT_EQ(again.data(), first_data);
  EXPECT_EQ(HostMapping::reused_count(), reused_before + 1);
  EXPECT_EQ(HostMapping::reusable_bytes(), 0u);
  EXPECT_TRUE(all_zero(again));
  again.data()[4 * page()] = std::byte{7};  // and writable
}

// A release keeps the pages that were written (cleared) and drops the rest, pages only read
// included: a body reused many times must not scan every page it ever touched at each release.
TEST_F(MappingReuse, AReleaseKeepsOnlyTheWrittenPagesResident) {
  const uint64_t size = 6 * page();
  {
    HostMapping mapping = create(size);
    mapping.data()[1 * page() + 9] = std::byte{3};        // written
    EXPECT_EQ(mapping.data()[2 * page()], std::byte{0});  // only read
    mapping.data()[4 * page()] = std::byte{5};            // written
    mapping.data()[4 * page()] = std::byte{0};            // and zero again by its writer
  }
  HostMapping again = create(size);
  unsigned char resident[6];
  ASSERT_EQ(mincore(again.data(), size, resident), 0);
  EXPECT_EQ(resident[1] & 1, 1) << "a written page is cleared and kept";
  EXPECT_EQ(resident[2] & 1, 0) << "a page only read is dropped";
  EXPECT_EQ(resident[4] & 1, 0) << "a written page that reads zeros is dropped";
  EXPECT_EQ(resident[0] & 1, 0) << "a page never touched stays absent";
  EXPECT_TRUE(all_zero(again));
}

TEST_F(MappingReuse, LiveBytesCountAReusedMappingOnce) {
  const uint64_t before = HostMapping::live_bytes();
  { HostMapping mapping = create(3 * page()); }
  EXPECT_EQ(HostMapping::live_bytes(), before);
  HostMapping again = create(3 * page());
  EXPECT_EQ(HostMapping::live_bytes(), before + 3 * page());
}

using MappingReuseDeathTest = MappingReuse;

TEST_F(MappingReuseDeathTest, AReusedBodyKeepsItsGuardBelow) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  { HostMapping mapping = create(4 * page()); }
  HostMapping again = create(4 * page());
  ASSERT_EQ(HostMapping::reused_count() > 0, true);
  EXPECT_DEATH(
      {
        again.data()[-1] = std::byte{1};
        std::exit(0);
      },
      "");
}

TEST_F(MappingReuseDeathTest, AReusedBodyKeepsItsGuardAbove) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  { HostMapping mapping = create(4 * page()); }
  HostMapping again = create(4 * page());
  EXPECT_DEATH(
      {
        again.data()[4 * page()] = std::byte{1};
        std::exit(0);
      },
      "");
}

// The price of reuse (invariant 5): a pooled body is not fenced off, so a write through a stale
// span reaches it; it is not lost either, but read back by the next region that takes the body,
// where a model-checked fuzz run reports RAM that is not zero when fresh.
TEST_F(MappingReuse, AWriteAfterReleaseShowsInTheNextMappingThatTakesTheBody) {
  std::byte* stale = nullptr;
  {
    HostMapping mapping = create(4 * page());
    stale = mapping.data();
  }
  stale[page() + 5] = std::byte{0x5a};
  HostMapping again = create(4 * page());
  ASSERT_EQ(again.data(), stale);
  EXPECT_EQ(again.data()[page() + 5], std::byte{0x5a});
}

TEST_F(MappingReuse, OnlyTheSameBodySizeAndGranuleAreReused) {
  std::byte* released = nullptr;
  {
    HostMapping mapping = create(4 * page());
    released = mapping.data();
  }
  HostMapping larger = create(5 * page());
  EXPECT_NE(larger.data(), released);
  HostMapping coarser = create(4 * page(), 4 * page());  // same bytes, other granule
  EXPECT_NE(coarser.data(), released);
  HostMapping rounded_up = create(4 * page() - 1);  // rounds up to the same body
  EXPECT_EQ(rounded_up.data(), released);
  EXPECT_TRUE(all_zero(rounded_up));
}

TEST_F(MappingReuse, FileMemfdHugePageAndReadOnlyMappingsAreNotPooled) {
  { HostMapping memfd = create(4 * page(), page(), RamBacking{.kind = RamBacking::Kind::kMemfd}); }
  { HostMapping huge = create(HostMapping::kHugePageSize, page(), RamBacking{.huge_pages = true}); }
  {
    HostMapping rom = create(4 * page());
    ASSERT_TRUE(rom.protect_read_only().ok());
  }
  EXPECT_EQ(HostMapping::reusable_bytes(), 0u);
}

TEST_F(MappingReuse, ThePoolKeepsTheNewestWithinItsLimit) {
  HostMapping::set_reuse_limit(3 * page());
  std::byte* older = nullptr;
  std::byte* newer = nullptr;
  {
    HostMapping a = create(2 * page());
    older = a.data();
  }
  {
    HostMapping b = create(2 * page());
    newer = b.data();
  }
  EXPECT_EQ(HostMapping::reusable_bytes(), 2 * page());
  { HostMapping too_big = create(4 * page()); }  // over the limit alone: quarantined
  EXPECT_EQ(HostMapping::reusable_bytes(), 2 * page());
  HostMapping again = create(2 * page());
  EXPECT_EQ(again.data(), newer);
  HostMapping fresh = create(2 * page());
  EXPECT_NE(fresh.data(), older);  // the evicted one went to the quarantine
}

TEST_F(MappingReuse, LimitZeroEmptiesThePoolAndTurnsReuseOff) {
  { HostMapping mapping = create(2 * page()); }
  ASSERT_EQ(HostMapping::reusable_bytes(), 2 * page());
  HostMapping::set_reuse_limit(0);
  EXPECT_EQ(HostMapping::reusable_bytes(), 0u);
  { HostMapping mapping = create(2 * page()); }
  EXPECT_EQ(HostMapping::reusable_bytes(), 0u);
}

TEST(MappingReuseOff, IsTheDefault) {
  {
    HostMapping mapping =
        HostMapping::create(2 * HostMapping::system_page_size(), HostMapping::system_page_size())
            .value();
  }
  EXPECT_EQ(HostMapping::reusable_bytes(), 0u);
}

// Through GuestMemory: a region removed and added again elsewhere gets the same host bytes back,
// cleared.
TEST_F(MappingReuse, ARegionAddedAfterARemoveReadsZeros) {
  GuestMemory memory;
  ASSERT_TRUE(memory.add_ram(0x10000, 0x4000).ok());
  const std::byte* old_host = memory.host_span(0x10000, 1).value().data();
  for (uint64_t offset = 0; offset < 0x4000; offset += 8)
    ASSERT_TRUE(memory.write<uint64_t>(0x10000 + offset, ~offset).ok());
  ASSERT_TRUE(memory.remove(0x10000).ok());
  GuestMemory::release_thread_cache();
  ASSERT_TRUE(memory.add_ram(0x80000, 0x4000).ok());
  EXPECT_EQ(memory.host_span(0x80000, 1).value().data(), old_host);
  for (uint64_t offset = 0; offset < 0x4000; offset += 8)
    ASSERT_EQ(memory.read<uint64_t>(0x80000 + offset).value(), 0u) << offset;
  EXPECT_TRUE(memory.check().ok());
}

}  // namespace
}  // namespace vmmem::mem
