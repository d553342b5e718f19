// Discard (balloon inflation, free-page reporting): discarded pages read as zeros, neighbours
// keep their bytes, whole host pages and partial ones alike (16 and 64 KiB host pages), across
// adjacent regions, dirty pages marked, and every refusal in the documented order.
#include <gtest/gtest.h>

#include <vector>

#include "mem/guest_memory.h"

namespace vmmem::mem {
namespace {

class Discard : public ::testing::TestWithParam<uint64_t> {
 protected:
  void SetUp() override {
    ASSERT_TRUE(memory_.add_ram(0x10000, 0x20000).ok());
    ASSERT_TRUE(memory_.add_ram(0x30000, 0x10000).ok());  // adjacent
    std::vector<std::byte> ones(0x30000, std::byte{0xee});
    ASSERT_TRUE(memory_.write(0x10000, ones).ok());
  }
  // Whether [address, address + size) reads as `value` in every byte.
  bool all(uint64_t address, uint64_t size, std::byte value) {
    std::vector<std::byte> bytes(size);
    if (!memory_.read(address, bytes).ok()) return false;
    return std::all_of(bytes.begin(), bytes.end(), [value](std::byte b) { return b == value; });
  }

  GuestMemory memory_{GuestMemoryLimits{.host_page_size = GetParam()}};
};

TEST_P(Discard, DiscardedPagesReadAsZerosAndOthersKeepTheirBytes) {
  ASSERT_TRUE(memory_.discard(0x11000, 0x1000).ok());  // inside a host page of 16/64 KiB
  EXPECT_TRUE(all(0x11000, 0x1000, std::byte{0}));
  EXPECT_TRUE(all(0x10000, 0x1000, std::byte{0xee}));
  EXPECT_TRUE(all(0x12000, 0x1e000, std::byte{0xee}));
  ASSERT_TRUE(memory_.discard(0x20000, 0x20000).ok());  // whole host pages, across the seam
  EXPECT_TRUE(all(0x20000, 0x20000, std::byte{0}));
  EXPECT_TRUE(all(0x12000, 0xe000, std::byte{0xee}));
  ASSERT_TRUE(memory_.write<uint64_t>(0x20008, 5).ok());  // discarded RAM is RAM still
  EXPECT_EQ(memory_.read<uint64_t>(0x20008).value(), 5u);
  EXPECT_TRUE(memory_.check().ok());
}

// The host drops whole host pages; the bytes of a host page the range covers only in part are
// cleared by hand, at the range's start and at its end.
TEST_P(Discard, PartialHostPagesAtEitherEndOfALongerRangeReadAsZerosToo) {
  ASSERT_TRUE(memory_.discard(0x13000, 0x1d000).ok());  // from inside a host page to the seam
  EXPECT_TRUE(all(0x13000, 0x1d000, std::byte{0}));
  EXPECT_TRUE(all(0x10000, 0x3000, std::byte{0xee}));
  ASSERT_TRUE(memory_.discard(0x30000, 0xd000).ok());  // from a host page to inside another
  EXPECT_TRUE(all(0x30000, 0xd000, std::byte{0}));
  EXPECT_TRUE(all(0x3d000, 0x3000, std::byte{0xee}));
  EXPECT_TRUE(memory_.check().ok());
}

TEST_P(Discard, RefusalsComeInTheDocumentedOrder) {
  EXPECT_EQ(memory_.discard(0x10800, 0x1000).code(), ErrorCode::kInvalidArgument);
  EXPECT_EQ(memory_.discard(0x10000, 0x800).code(), ErrorCode::kInvalidArgument);
  EXPECT_EQ(memory_.discard(0xfffff000, 0).code(), ErrorCode::kOk);
  EXPECT_EQ(memory_.discard(~uint64_t{0xfff}, 0x2000).code(), ErrorCode::kOverflow);
  EXPECT_EQ(memory_.discard(0x3f000, 0x2000).code(), ErrorCode::kUnmapped);  // runs off the end
  EXPECT_TRUE(all(0x10000, 0x30000, std::byte{0xee})) << "a refused discard changed bytes";
}

TEST_P(Discard, DiscardedPagesCountAsWritten) {
  ASSERT_TRUE(memory_.set_dirty_tracking(0x10000, true).ok());
  ASSERT_TRUE(memory_.discard(0x1f000, 0x2000).ok());  // pages 15 and 16
  const std::vector<uint64_t> dirty = memory_.take_dirty(0x10000).value();
  EXPECT_EQ(dirty[0], uint64_t{3} << 15);
}

INSTANTIATE_TEST_SUITE_P(HostPages, Discard, ::testing::Values(4096, 16384, 65536));

}  // namespace
}  // namespace vmmem::mem
