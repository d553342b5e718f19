// The atomic accesses of GuestMemory by name: values, little-endian layout, compare-exchange
// semantics, wrapping, and every refusal in the documented order, each changing nothing.
#include <gtest/gtest.h>

#include <atomic>
#include <memory>

#include "mem/guest_memory.h"

namespace vmmem::mem {
namespace {

struct NullDevice : MmioHandler {
  Result<uint64_t> read(uint64_t, unsigned) override { return uint64_t{0}; }
  Status write(uint64_t, unsigned, uint64_t) override { return kOkStatus; }
};

class AtomicAccess : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(memory.add_ram(0x1000, 0x1000).ok());
    ASSERT_TRUE(memory.add_mmio(0x2000, 0x1000, std::make_shared<NullDevice>()).ok());
  }
  void TearDown() override { EXPECT_TRUE(memory.check().ok()); }
  GuestMemory memory;
};

TEST_F(AtomicAccess, StoresAndLoadsAreLittleEndianGuestBytes) {
  ASSERT_TRUE(memory.store_atomic<uint32_t>(0x1008, 0x11223344, std::memory_order_release).ok());
  EXPECT_EQ(memory.read<uint8_t>(0x1008).value(), 0x44);
  EXPECT_EQ(memory.load_atomic<uint16_t>(0x100a, std::memory_order_acquire).value(), 0x1122);
  ASSERT_TRUE(memory.write<uint64_t>(0x1ff8, 0x0102030405060708).ok());
  EXPECT_EQ(memory.load_atomic<uint64_t>(0x1ff8, std::memory_order_seq_cst).value(),
            0x0102030405060708u);
}

TEST_F(AtomicAccess, CompareExchangeReturnsWhatItFound) {
  ASSERT_TRUE(memory.write<uint64_t>(0x1010, 5).ok());
  EXPECT_EQ(memory.compare_exchange<uint64_t>(0x1010, 4, 9, std::memory_order_seq_cst).value(), 5u);
  EXPECT_EQ(memory.read<uint64_t>(0x1010).value(), 5u);  // no exchange
  EXPECT_EQ(memory.compare_exchange<uint64_t>(0x1010, 5, 9, std::memory_order_acq_rel).value(), 5u);
  EXPECT_EQ(memory.read<uint64_t>(0x1010).value(), 9u);
}

TEST_F(AtomicAccess, FetchAddWrapsAndFetchOrSetsBits) {
  ASSERT_TRUE(memory.write<uint16_t>(0x1020, 0xffff).ok());
  EXPECT_EQ(memory.fetch_add<uint16_t>(0x1020, 2, std::memory_order_relaxed).value(), 0xffff);
  EXPECT_EQ(memory.read<uint16_t>(0x1020).value(), 1);
  EXPECT_EQ(memory.read<uint16_t>(0x1022).value(), 0);  // the neighbour is untouched
  EXPECT_EQ(memory.fetch_or<uint8_t>(0x1021, 0x80, std::memory_order_release).value(), 0);
  EXPECT_EQ(memory.read<uint16_t>(0x1020).value(), 0x8001);
}

TEST_F(AtomicAccess, RefusalsComeInTheDocumentedOrderAndChangeNothing) {
  ASSERT_TRUE(memory.write<uint64_t>(0x1000, 7).ok());
  // An order the operation cannot take comes first, even on a misaligned MMIO address.
  EXPECT_EQ(memory.load_atomic<uint32_t>(0x2001, std::memory_order_release).status().code(),
            ErrorCode::kInvalidArgument);
  EXPECT_EQ(memory.store_atomic<uint32_t>(0x1000, 1, std::memory_order_acquire).code(),
            ErrorCode::kInvalidArgument);
  EXPECT_EQ(memory.store_atomic<uint32_t>(0x1000, 1, std::memory_order_acq_rel).code(),
            ErrorCode::kInvalidArgument);
  EXPECT_EQ(
      memory.fetch_add<uint32_t>(0x1000, 1, static_cast<std::memory_order>(6)).status().code(),
      ErrorCode::kInvalidArgument);
  // Then alignment, before the region is looked at.
  const Result<uint64_t> misaligned =
      memory.fetch_add<uint64_t>(0x5004, 1, std::memory_order_seq_cst);
  EXPECT_EQ(misaligned.status().code(), ErrorCode::kInvalidArgument);
  EXPECT_STREQ(misaligned.status().what(), "atomic access must be naturally aligned");
  EXPECT_EQ(memory.load_atomic<uint64_t>(0x5000, std::memory_order_seq_cst).status().code(),
            ErrorCode::kUnmapped);
  const Result<uint32_t> mmio = memory.load_atomic<uint32_t>(0x2000, std::memory_order_seq_cst);
  EXPECT_EQ(mmio.status().code(), ErrorCode::kUnsupported);
  EXPECT_STREQ(mmio.status().what(), "atomic access to MMIO");
  EXPECT_EQ(memory.read<uint64_t>(0x1000).value(), 7u);
}

TEST(AtomicAccessAcrossRegions, TheCachedWindowServesOnlyItsOwnRegion) {
  GuestMemory memory;
  ASSERT_TRUE(memory.add_ram(0x1000, 0x1000).ok());
  ASSERT_TRUE(memory.add_ram(0x2000, 0x1000).ok());
  ASSERT_TRUE(memory.store_atomic<uint64_t>(0x1ff8, 1, std::memory_order_seq_cst).ok());
  ASSERT_TRUE(memory.store_atomic<uint64_t>(0x2000, 2, std::memory_order_seq_cst).ok());
  EXPECT_EQ(memory.load_atomic<uint64_t>(0x1ff8, std::memory_order_seq_cst).value(), 1u);
  ASSERT_TRUE(memory.remove(0x2000).ok());
  EXPECT_EQ(memory.load_atomic<uint64_t>(0x2000, std::memory_order_seq_cst).status().code(),
            ErrorCode::kUnmapped);
}

}  // namespace
}  // namespace vmmem::mem
