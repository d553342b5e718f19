// GuestMemory edge cases by name. Each failing case also checks that nothing changed.
#include <gtest/gtest.h>

#include <array>
#include <memory>
#include <optional>
#include <vector>

#include "mem/guest_memory.h"
#include "mem/memory_accessor.h"

namespace vmmem::mem {
namespace {

constexpr uint64_t kTopPage = 0xffff'ffff'ffff'f000;

// An MMIO handler with one 64-bit register per 8-byte slot, and a log of every call.
struct Registers : MmioHandler {
  std::array<uint64_t, 16> values{};
  std::vector<std::array<uint64_t, 3>> calls;  // {offset, size, value}
  bool refuse = false;

  Result<uint64_t> read(uint64_t offset, unsigned size) override {
    calls.push_back({offset, size, 0});
    if (refuse) return Status::error(ErrorCode::kDeviceError, "refused");
    return values[offset / 8] >> (8 * (offset % 8));
  }
  Status write(uint64_t offset, unsigned size, uint64_t value) override {
    calls.push_back({offset, size, value});
    if (refuse) return Status::error(ErrorCode::kDeviceError, "refused");
    values[offset / 8] = value;
    return kOkStatus;
  }
};

std::vector<std::byte> bytes(size_t n, uint8_t fill) {
  return std::vector<std::byte>(n, std::byte{fill});
}

class GuestMemoryTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(memory.add_ram(0x1000, 0x2000).ok());
    ASSERT_TRUE(memory.check().ok());
  }
  void TearDown() override { EXPECT_TRUE(memory.check().ok()) << memory.check().message(); }

  GuestMemory memory;
};

TEST_F(GuestMemoryTest, FreshRamReadsZeroAndKeepsWhatIsWritten) {
  EXPECT_EQ(memory.read<uint64_t>(0x1000).value(), 0u);
  ASSERT_TRUE(memory.write<uint32_t>(0x1004, 0xdeadbeef).ok());
  EXPECT_EQ(memory.read<uint32_t>(0x1004).value(), 0xdeadbeefu);
  EXPECT_EQ(memory.read<uint8_t>(0x1004).value(), 0xef);  // little-endian
  EXPECT_EQ(memory.read<uint16_t>(0x1006).value(), 0xdead);
}

TEST_F(GuestMemoryTest, ScalarAccessAtAnyAlignment) {
  ASSERT_TRUE(memory.write<uint64_t>(0x1003, 0x1122334455667788).ok());
  EXPECT_EQ(memory.read<uint64_t>(0x1003).value(), 0x1122334455667788u);
  EXPECT_EQ(memory.read<uint16_t>(0x1009).value(), 0x1122);
}

TEST_F(GuestMemoryTest, ZeroLengthBulkAccessSucceedsAnywhereAndTouchesNothing) {
  EXPECT_TRUE(memory.read(0xdead'0000, std::span<std::byte>()).ok());
  EXPECT_TRUE(memory.write(UINT64_MAX, std::span<const std::byte>()).ok());
  EXPECT_TRUE(memory.host_span(0, 0).ok());
}

TEST_F(GuestMemoryTest, BulkReadPastTheEndOfRamIsRefusedWhole) {
  // The classic: 256 bytes starting 16 bytes before the end of the only region.
  std::vector<std::byte> out = bytes(256, 0xcc);
  const Status status = memory.read(0x3000 - 16, out);
  EXPECT_EQ(status.code(), ErrorCode::kUnmapped);
  EXPECT_EQ(status.address(), 0x3000u - 16);
  EXPECT_EQ(status.size(), 256u);
  EXPECT_EQ(out, bytes(256, 0xcc)) << "a refused read must not fill the buffer";
}

TEST_F(GuestMemoryTest, BulkWritePastTheEndChangesNothing) {
  const std::vector<std::byte> in = bytes(64, 0xab);
  EXPECT_EQ(memory.write(0x3000 - 8, std::span<const std::byte>(in)).code(), ErrorCode::kUnmapped);
  EXPECT_EQ(memory.read<uint64_t>(0x3000 - 8).value(), 0u);
}

TEST_F(GuestMemoryTest, ScalarStraddlingTheEndOfRamIsRefused) {
  EXPECT_EQ(memory.write<uint32_t>(0x2ffe, 1).code(), ErrorCode::kUnmapped);
  EXPECT_EQ(memory.read<uint16_t>(0x2fff).status().code(), ErrorCode::kUnmapped);
  EXPECT_EQ(memory.read<uint16_t>(0x0fff).status().code(), ErrorCode::kUnmapped);
  EXPECT_EQ(memory.read<uint8_t>(0x2fff).value(), 0u);
}

TEST_F(GuestMemoryTest, AccessStraddlingTwoAdjacentRamRegionsWorks) {
  ASSERT_TRUE(memory.add_ram(0x3000, 0x1000).ok());
  ASSERT_TRUE(memory.write<uint64_t>(0x2ffc, 0xaabbccdd11223344).ok());
  EXPECT_EQ(memory.read<uint32_t>(0x2ffc).value(), 0x11223344u);
  EXPECT_EQ(memory.read<uint32_t>(0x3000).value(), 0xaabbccddu);
  std::vector<std::byte> out(0x3000);
  EXPECT_TRUE(memory.read(0x1000, out).ok());  // all three pages, two regions
  EXPECT_EQ(out[0x1ffc], std::byte{0x44});
}

TEST_F(GuestMemoryTest, AccessStraddlingRamAndMmioIsRefused) {
  auto device = std::make_shared<Registers>();
  ASSERT_TRUE(memory.add_mmio(0x3000, 0x80, device).ok());
  EXPECT_EQ(memory.write<uint32_t>(0x2ffe, 7).code(), ErrorCode::kUnsupported);
  EXPECT_EQ(memory.read<uint32_t>(0x307e).status().code(), ErrorCode::kUnsupported);
  std::vector<std::byte> out(32);
  EXPECT_EQ(memory.read(0x2ff0, out).code(), ErrorCode::kUnsupported);
  EXPECT_TRUE(device->calls.empty()) << "a refused access must not reach the device";
  EXPECT_EQ(memory.read<uint16_t>(0x2ffe).value(), 0u);
}

TEST_F(GuestMemoryTest, MmioAccessReachesTheHandlerWithOffsetAndSize) {
  auto device = std::make_shared<Registers>();
  ASSERT_TRUE(memory.add_mmio(0xfee0'0000, 0x80, device).ok());
  ASSERT_TRUE(memory.write<uint32_t>(0xfee0'0010, 0x12345678).ok());
  EXPECT_EQ(memory.read<uint16_t>(0xfee0'0010).value(), 0x5678);  // truncated to the width
  ASSERT_EQ(device->calls.size(), 2u);
  EXPECT_EQ(device->calls[0], (std::array<uint64_t, 3>{0x10, 4, 0x12345678}));
  EXPECT_EQ(device->calls[1], (std::array<uint64_t, 3>{0x10, 2, 0}));
  EXPECT_EQ(memory.read_scalar(0xfee0'0010, 8).value(), 0x12345678u);
}

TEST_F(GuestMemoryTest, MmioRefusalBecomesDeviceError) {
  auto device = std::make_shared<Registers>();
  device->refuse = true;
  ASSERT_TRUE(memory.add_mmio(0x8000, 0x10, device).ok());
  EXPECT_EQ(memory.read<uint8_t>(0x8000).status().code(), ErrorCode::kDeviceError);
  EXPECT_EQ(memory.write<uint8_t>(0x8000, 1).code(), ErrorCode::kDeviceError);
}

TEST_F(GuestMemoryTest, BulkAccessToMmioIsUnsupported) {
  ASSERT_TRUE(memory.add_mmio(0x8000, 0x100, std::make_shared<Registers>()).ok());
  std::vector<std::byte> out(16);
  EXPECT_EQ(memory.read(0x8000, out).code(), ErrorCode::kUnsupported);
  EXPECT_EQ(memory.host_span(0x8000, 4).status().code(), ErrorCode::kUnsupported);
}

TEST_F(GuestMemoryTest, BadWidthIsAnInvalidArgument) {
  for (unsigned width : {0u, 3u, 5u, 7u, 9u, 16u}) {
    EXPECT_EQ(memory.read_scalar(0x1000, width).status().code(), ErrorCode::kInvalidArgument);
    EXPECT_EQ(memory.write_scalar(0x1000, width, 1).code(), ErrorCode::kInvalidArgument);
  }
}

TEST(GuestMemory, LastByteOfTheAddressSpace) {
  GuestMemory memory;
  ASSERT_TRUE(memory.add_ram(kTopPage, 0x1000).ok());
  ASSERT_TRUE(memory.write<uint8_t>(UINT64_MAX, 0x7f).ok());
  EXPECT_EQ(memory.read<uint8_t>(UINT64_MAX).value(), 0x7f);
  EXPECT_EQ(memory.read<uint64_t>(UINT64_MAX - 7).value(), 0x7f00000000000000u);
  const Result<uint16_t> wrapped = memory.read<uint16_t>(UINT64_MAX);
  EXPECT_EQ(wrapped.status().code(), ErrorCode::kOverflow);
  EXPECT_EQ(wrapped.status().message(),
            "overflow: access wraps past 2^64 (address 0xffffffffffffffff, size 2)");
  std::vector<std::byte> out(2);
  EXPECT_EQ(memory.read(UINT64_MAX, out).code(), ErrorCode::kOverflow);
  EXPECT_EQ(memory.host_span(kTopPage, 0x1000).value().size(), 0x1000u);
  EXPECT_EQ(memory.host_span(kTopPage, 0x1001).status().code(), ErrorCode::kOverflow);
  EXPECT_TRUE(memory.check().ok());
}

TEST(GuestMemory, RegionRulesAreEnforced) {
  GuestMemory memory;
  EXPECT_EQ(memory.add_ram(0x1000, 0).code(), ErrorCode::kInvalidArgument);
  EXPECT_EQ(memory.add_ram(0x1800, 0x1000).code(), ErrorCode::kInvalidArgument);
  EXPECT_EQ(memory.add_ram(0x1000, 0x1800).code(), ErrorCode::kInvalidArgument);
  EXPECT_EQ(memory.add_ram(kTopPage, 0x2000).code(), ErrorCode::kOverflow);
  EXPECT_EQ(memory.add_mmio(0, 0x10, nullptr).code(), ErrorCode::kInvalidArgument);
  EXPECT_EQ(memory.add_mmio(UINT64_MAX, 2, std::make_shared<Registers>()).code(),
            ErrorCode::kOverflow);
  ASSERT_TRUE(memory.add_ram(0x10000, 0x10000).ok());
  EXPECT_EQ(memory.add_ram(0x1f000, 0x2000).code(), ErrorCode::kConflict);
  EXPECT_EQ(memory.add_ram(0xf000, 0x2000).code(), ErrorCode::kConflict);
  EXPECT_EQ(memory.add_mmio(0x10000, 1, std::make_shared<Registers>()).code(),
            ErrorCode::kConflict);
  EXPECT_TRUE(memory.add_ram(0x20000, 0x1000).ok());  // touching is not overlapping
  EXPECT_EQ(memory.regions().size(), 2u);
  EXPECT_EQ(memory.ram_bytes(), 0x11000u);
  EXPECT_TRUE(memory.check().ok());
}

TEST(GuestMemory, RemovingARegionUnmapsItAndForgetsItsContents) {
  GuestMemory memory;
  ASSERT_TRUE(memory.add_ram(0x1000, 0x1000).ok());
  ASSERT_TRUE(memory.write<uint64_t>(0x1000, 42).ok());
  EXPECT_EQ(memory.remove(0x1008).code(), ErrorCode::kNotFound);  // not a region's base
  ASSERT_TRUE(memory.remove(0x1000).ok());
  EXPECT_EQ(memory.read<uint64_t>(0x1000).status().code(), ErrorCode::kUnmapped);
  EXPECT_EQ(memory.remove(0x1000).code(), ErrorCode::kNotFound);
  ASSERT_TRUE(memory.add_ram(0x1000, 0x1000).ok());
  EXPECT_EQ(memory.read<uint64_t>(0x1000).value(), 0u);
  EXPECT_EQ(memory.ram_bytes(), 0x1000u);
  EXPECT_TRUE(memory.check().ok());
}

TEST(GuestMemory, LimitsAreEnforcedWithoutSideEffects) {
  GuestMemory memory(GuestMemoryLimits{.max_ram_bytes = 0x3000, .max_regions = 2});
  ASSERT_TRUE(memory.add_ram(0x0, 0x2000).ok());
  EXPECT_EQ(memory.add_ram(0x10000, 0x2000).code(), ErrorCode::kOutOfMemory);  // budget
  ASSERT_TRUE(memory.add_ram(0x10000, 0x1000).ok());
  EXPECT_EQ(memory.add_mmio(0x20000, 1, std::make_shared<Registers>()).code(),
            ErrorCode::kOutOfMemory);  // table full
  EXPECT_EQ(memory.regions().size(), 2u);
  EXPECT_TRUE(memory.check().ok());
}

TEST(GuestMemory, HostSpanSeesGuestWrites) {
  GuestMemory memory;
  ASSERT_TRUE(memory.add_ram(0x4000, 0x1000).ok());
  auto view = memory.host_span(0x4010, 4);
  ASSERT_TRUE(view.ok());
  ASSERT_TRUE(memory.write<uint32_t>(0x4010, 0x01020304).ok());
  EXPECT_EQ(view.value()[0], std::byte{0x04});
  EXPECT_EQ(memory.host_span(0x4ff0, 0x20).status().code(), ErrorCode::kUnsupported);
  EXPECT_EQ(memory.host_span(0x5000, 1).status().code(), ErrorCode::kUnmapped);
}

// The thread's cached window must never answer for an instance it was not taken from: not
// for a second live instance, nor for a new one built where a destroyed one lived.
TEST(GuestMemory, CachedWindowNeverCrossesInstances) {
  std::optional<GuestMemory> first(std::in_place);
  ASSERT_TRUE(first->add_ram(0x1000, 0x1000).ok());
  ASSERT_TRUE(first->write<uint64_t>(0x1000, 0xaaaa).ok());  // caches first's region
  GuestMemory second;
  ASSERT_TRUE(second.add_ram(0x1000, 0x1000).ok());
  EXPECT_EQ(second.read<uint64_t>(0x1000).value(), 0u);
  EXPECT_EQ(first->read<uint64_t>(0x1000).value(), 0xaaaau);

  const GuestMemory* old_address = &*first;
  first.reset();
  first.emplace();  // same storage, so the same `this`
  ASSERT_EQ(&*first, old_address);
  EXPECT_EQ(first->read<uint64_t>(0x1000).status().code(), ErrorCode::kUnmapped);
  ASSERT_TRUE(first->add_ram(0x1000, 0x1000).ok());
  EXPECT_EQ(first->read<uint64_t>(0x1000).value(), 0u);
  EXPECT_TRUE(first->check().ok());
  EXPECT_TRUE(second.check().ok());
}

TEST(GuestMemory, UnmappedAddressNamesTheRequest) {
  GuestMemory memory;
  const Status status = memory.write<uint64_t>(0x1234, 1);
  EXPECT_EQ(status.code(), ErrorCode::kUnmapped);
  EXPECT_EQ(status.message(), "unmapped: no region backs the access (address 0x1234, size 8)");
}

}  // namespace
}  // namespace vmmem::mem

namespace vmmem::mem {
namespace {

TEST(MemoryAccessor, AgreesWithGuestMemoryAndFollowsRegionChanges) {
  GuestMemory memory;
  ASSERT_TRUE(memory.add_ram(0x1000, 0x1000).ok());
  MemoryAccessor accessor(memory);
  ASSERT_TRUE(accessor.write<uint64_t>(0x1ff8, 0x0102030405060708).ok());
  EXPECT_EQ(memory.read<uint64_t>(0x1ff8).value(), 0x0102030405060708u);
  EXPECT_EQ(accessor.read<uint32_t>(0x1ffc).value(), 0x01020304u);
  EXPECT_EQ(accessor.read<uint16_t>(0x1fff).status().code(), ErrorCode::kUnmapped);

  // Removing the cached region must not leave the accessor reading freed host memory.
  ASSERT_TRUE(memory.remove(0x1000).ok());
  EXPECT_EQ(accessor.read<uint64_t>(0x1ff8).status().code(), ErrorCode::kUnmapped);
  ASSERT_TRUE(memory.add_ram(0x1000, 0x2000).ok());
  EXPECT_EQ(accessor.read<uint64_t>(0x1ff8).value(), 0u);      // fresh RAM
  EXPECT_TRUE(accessor.write<uint16_t>(0x1fff, 0xabcd).ok());  // now inside the bigger region
  EXPECT_EQ(memory.read<uint16_t>(0x1fff).value(), 0xabcd);
}

TEST(MemoryAccessor, RoutesMmioAndErrorsThroughGuestMemory) {
  GuestMemory memory;
  auto device = std::make_shared<Registers>();
  ASSERT_TRUE(memory.add_mmio(0x9000, 0x80, device).ok());
  MemoryAccessor accessor(memory);
  ASSERT_TRUE(accessor.write<uint32_t>(0x9008, 77).ok());
  EXPECT_EQ(accessor.read<uint32_t>(0x9008).value(), 77u);
  EXPECT_EQ(device->calls.size(), 2u);
  EXPECT_EQ(accessor.read<uint64_t>(UINT64_MAX - 3).status().code(), ErrorCode::kOverflow);
}

TEST(GuestMemory, GenerationListenersHearEveryChangeUntilRemoved) {
  struct Counter : GenerationListener {
    void generation_changed() override { ++calls; }
    int calls = 0;
  } counter;
  GuestMemory memory;
  memory.add_generation_listener(&counter);
  ASSERT_TRUE(memory.add_ram(0x1000, 0x1000).ok());
  ASSERT_TRUE(memory.set_dirty_tracking(0x1000, true).ok());
  EXPECT_EQ(memory.add_ram(0x1000, 0x1000).code(), ErrorCode::kConflict);  // no change
  ASSERT_TRUE(memory.remove(0x1000).ok());
  EXPECT_EQ(counter.calls, 3);
  memory.remove_generation_listener(&counter);
  ASSERT_TRUE(memory.add_ram(0x1000, 0x1000).ok());
  EXPECT_EQ(counter.calls, 3);
}

}  // namespace
}  // namespace vmmem::mem
