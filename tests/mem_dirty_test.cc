// Dirty-page tracking by name: every write path marks the pages it wrote, take_dirty returns
// and clears the bitmap, refusals and untracked regions mark nothing.
#include <gtest/gtest.h>

#include <memory>
#include <vector>

#include "mem/guest_memory.h"
#include "mem/memory_accessor.h"

namespace vmmem::mem {
namespace {

struct NullDevice : MmioHandler {
  Result<uint64_t> read(uint64_t, unsigned) override { return uint64_t{0}; }
  Status write(uint64_t, unsigned, uint64_t) override { return kOkStatus; }
};

// Pages [0, 70) of one region, so the bitmap has two words; a second region right after it.
class DirtyTracking : public ::testing::Test {
 protected:
  static constexpr uint64_t kBase = 0x100000, kPages = 70, kNext = kBase + kPages * 0x1000;
  void SetUp() override {
    ASSERT_TRUE(memory.add_ram(kBase, kPages * 0x1000).ok());
    ASSERT_TRUE(memory.add_ram(kNext, 0x1000).ok());
    ASSERT_TRUE(memory.set_dirty_tracking(kBase, true).ok());
  }
  void TearDown() override { EXPECT_TRUE(memory.check().ok()) << memory.check().message(); }
  std::vector<uint64_t> take() { return memory.take_dirty(kBase).value(); }
  static std::vector<uint64_t> pages(std::initializer_list<unsigned> list) {
    std::vector<uint64_t> words(2);
    for (unsigned page : list)
      words[page / 64] |= uint64_t{1} << (page % 64);
    return words;
  }
  GuestMemory memory;
};

TEST_F(DirtyTracking, EveryWritePathMarksItsPages) {
  EXPECT_EQ(take(), pages({}));
  ASSERT_TRUE(memory.write<uint64_t>(kBase + 0x1ffc, 1).ok());  // straddles pages 1 and 2
  ASSERT_TRUE(memory.write_scalar(kBase + 3 * 0x1000, 2, 7).ok());
  const std::vector<std::byte> data(0x1001);
  ASSERT_TRUE(memory.write(kBase + 10 * 0x1000, data).ok());  // pages 10 and 11
  ASSERT_TRUE(
      memory.store_atomic<uint32_t>(kBase + 65 * 0x1000, 1, std::memory_order_release).ok());
  ASSERT_TRUE(memory.fetch_add<uint32_t>(kBase + 66 * 0x1000, 1, std::memory_order_seq_cst).ok());
  ASSERT_TRUE(memory.fetch_or<uint8_t>(kBase + 67 * 0x1000, 1, std::memory_order_seq_cst).ok());
  MemoryAccessor accessor(memory);
  ASSERT_TRUE(accessor.write<uint16_t>(kBase + 20 * 0x1000, 1).ok());  // fills the cache
  ASSERT_TRUE(accessor.write<uint16_t>(kBase + 21 * 0x1000, 1).ok());  // from the cache
  ASSERT_TRUE(memory.mark_dirty(kBase + 30 * 0x1000 + 5, 1).ok());     // a host-span writer
  EXPECT_EQ(take(), pages({1, 2, 3, 10, 11, 20, 21, 30, 65, 66, 67}));
  EXPECT_EQ(take(), pages({}));  // taking clears
}

TEST_F(DirtyTracking, ReadsRefusalsAndFailedExchangesMarkNothing) {
  EXPECT_TRUE(memory.read<uint64_t>(kBase).ok());
  EXPECT_TRUE(memory.load_atomic<uint64_t>(kBase + 0x1000, std::memory_order_acquire).ok());
  EXPECT_EQ(
      memory.compare_exchange<uint64_t>(kBase + 0x2000, 5, 6, std::memory_order_seq_cst).value(),
      0u);  // found 0, not 5: no exchange
  const std::vector<std::byte> data(0x2000);
  EXPECT_EQ(memory.write(kNext, data).code(), ErrorCode::kUnmapped);  // runs off the end
  EXPECT_EQ(memory.store_atomic<uint32_t>(kBase + 2, 1, std::memory_order_seq_cst).code(),
            ErrorCode::kInvalidArgument);
  EXPECT_EQ(take(), pages({}));
}

TEST_F(DirtyTracking, AWriteAcrossTheSeamMarksOnlyTrackedRegions) {
  const std::vector<std::byte> data(0x20);
  ASSERT_TRUE(memory.write(kNext - 0x10, data).ok());
  EXPECT_EQ(take(), pages({69}));
  EXPECT_EQ(memory.take_dirty(kNext).status().code(), ErrorCode::kInvalidArgument);  // off
}

TEST_F(DirtyTracking, OnOffAndRefusals) {
  ASSERT_TRUE(memory.write<uint8_t>(kBase, 1).ok());
  ASSERT_TRUE(memory.set_dirty_tracking(kBase, true).ok());  // on again keeps the bitmap
  EXPECT_EQ(take(), pages({0}));
  ASSERT_TRUE(memory.write<uint8_t>(kBase, 1).ok());
  ASSERT_TRUE(memory.set_dirty_tracking(kBase, false).ok());
  EXPECT_EQ(memory.take_dirty(kBase).status().code(), ErrorCode::kInvalidArgument);
  ASSERT_TRUE(memory.set_dirty_tracking(kBase, true).ok());  // starts clean
  EXPECT_EQ(take(), pages({}));
  ASSERT_TRUE(memory.add_mmio(0x10, 0x10, std::make_shared<NullDevice>()).ok());
  EXPECT_EQ(memory.set_dirty_tracking(0x10, true).code(), ErrorCode::kUnsupported);
  EXPECT_EQ(memory.take_dirty(0x10).status().code(), ErrorCode::kUnsupported);
  EXPECT_EQ(memory.set_dirty_tracking(kBase + 0x1000, true).code(), ErrorCode::kNotFound);
  EXPECT_EQ(memory.mark_dirty(0x10, 1).code(), ErrorCode::kUnsupported);
  EXPECT_EQ(memory.mark_dirty(0, 1).code(), ErrorCode::kUnmapped);
}

}  // namespace
}  // namespace vmmem::mem
