// GuestMemory against the host it runs on: host page sizes above 4 KiB, guest-to-guest copies
// through host spans, MMIO handlers that re-enter to move or unplug their own region, and host
// spans kept past their region's removal. Each test pins down a defect found by a probe.
#include <gtest/gtest.h>

#include <cstring>
#include <memory>
#include <numeric>
#include <vector>

#include "mem/guest_memory.h"

namespace vmmem::mem {
namespace {

std::vector<std::byte> iota_bytes(size_t n) {
  std::vector<std::byte> out(n);
  for (size_t i = 0; i < n; ++i)
    out[i] = static_cast<std::byte>(i * 7 + 3);
  return out;
}

class HostPageSize : public ::testing::TestWithParam<uint64_t> {};

// A 16 KiB or 64 KiB page host used to abort on any RAM region that was not whole host pages.
TEST_P(HostPageSize, RegionsOfAnyGuestPageCountWork) {
  GuestMemory memory(GuestMemoryLimits{.host_page_size = GetParam()});
  ASSERT_TRUE(memory.add_ram(0x1000, 0x1000).ok());
  ASSERT_TRUE(memory.add_ram(0x2000, 0x3000).ok());  // adjacent: one range
  const std::vector<std::byte> data = iota_bytes(0x2000);
  ASSERT_TRUE(memory.write(0x1800, data).ok());
  std::vector<std::byte> back(data.size());
  ASSERT_TRUE(memory.read(0x1800, back).ok());
  EXPECT_EQ(back, data);
  ASSERT_TRUE(memory.write<uint64_t>(0x4ff8, 0x0123456789abcdef).ok());
  EXPECT_EQ(memory.read<uint64_t>(0x4ff8).value(), 0x0123456789abcdefu);
  EXPECT_EQ(memory.read<uint64_t>(0x4ffc).status().code(), ErrorCode::kUnmapped);
  EXPECT_EQ(memory.host_span(0x2000, 0x3000).value().size(), 0x3000u);
  EXPECT_TRUE(memory.check().ok()) << memory.check().message();
  ASSERT_TRUE(memory.remove(0x1000).ok());
  EXPECT_TRUE(memory.check().ok());
}

INSTANTIATE_TEST_SUITE_P(Sizes, HostPageSize, ::testing::Values(4096, 16384, 65536));

// write(a, host_span(b)) with overlapping ranges went through memcpy (ASan:
// memcpy-param-overlap). Checked against memmove on a plain copy of the bytes.
TEST(GuestToGuestCopy, OverlappingCopiesBehaveLikeMemmove) {
  for (const auto& [from, to, length] : std::vector<std::array<uint64_t, 3>>{
           {0x1000, 0x1010, 0x100},      // forward, one region
           {0x1010, 0x1000, 0x100},      // backward, one region
           {0x1f00, 0x1f80, 0x100},      // destination runs into the adjacent region
           {0x2000, 0x1f80, 0x1000},     // source in the second region, destination straddles
           {0x1000, 0x1001, 0x1fff}}) {  // whole region, shifted by a byte
    GuestMemory memory;
    ASSERT_TRUE(memory.add_ram(0x1000, 0x1000).ok());
    ASSERT_TRUE(memory.add_ram(0x2000, 0x2000).ok());
    std::vector<std::byte> image = iota_bytes(0x3000);
    ASSERT_TRUE(memory.write(0x1000, image).ok());
    const std::span<std::byte> source = memory.host_span(from, length).value_or({});
    if (source.empty()) continue;  // crosses a region boundary: host_span refuses it
    ASSERT_TRUE(memory.write(to, source).ok());
    std::memmove(image.data() + (to - 0x1000), image.data() + (from - 0x1000), length);
    std::vector<std::byte> now(image.size());
    ASSERT_TRUE(memory.read(0x1000, now).ok());
    EXPECT_EQ(now, image) << "from " << from << " to " << to;
    // And the other way: reading guest memory into a host span of itself.
    ASSERT_TRUE(memory.read(from, memory.host_span(to, length).value_or({})).ok() ||
                to + length > 0x4000);
  }
}

// A device that moves its own region when register 0 is written (a BAR), or unplugs it and
// refuses the access when register 8 is. GuestMemory holds the only reference to it.
class SelfMovingDevice : public MmioHandler {
 public:
  SelfMovingDevice(GuestMemory& memory, uint64_t base) : memory_(memory), base_(base) {}
  Result<uint64_t> read(uint64_t offset, unsigned) override { return base_ + offset; }
  Status write(uint64_t offset, unsigned, uint64_t value) override {
    std::shared_ptr<MmioHandler> self = std::make_shared<SelfMovingDevice>(memory_, value);
    VMM_CHECK(memory_.remove(base_).ok(), "device: remove own region");
    // From here on this object may only live because the access holds it.
    if (offset == 8) return Status::error(ErrorCode::kDeviceError, "unplugged");
    VMM_CHECK(memory_.add_mmio(value, 0x1000, std::move(self)).ok(), "device: move");
    poison_ = 0;  // touches *this after its region is gone (heap-use-after-free before)
    return kOkStatus;
  }

 private:
  GuestMemory& memory_;
  uint64_t base_;
  uint64_t poison_ = 1;
};

TEST(ReentrantMmio, AHandlerMayMoveItsOwnRegion) {
  GuestMemory memory;
  ASSERT_TRUE(
      memory.add_mmio(0x10000, 0x1000, std::make_shared<SelfMovingDevice>(memory, 0x10000)).ok());
  ASSERT_TRUE(memory.write<uint64_t>(0x10000, 0x20000).ok());
  EXPECT_EQ(memory.read<uint32_t>(0x10000).status().code(), ErrorCode::kUnmapped);
  EXPECT_EQ(memory.read<uint32_t>(0x20004).value(), 0x20004u);
  EXPECT_TRUE(memory.check().ok());
}

TEST(ReentrantMmio, WhatAHandlerDidStandsWhenItRefusesTheAccess) {
  GuestMemory memory;
  ASSERT_TRUE(
      memory.add_mmio(0x10000, 0x1000, std::make_shared<SelfMovingDevice>(memory, 0x10000)).ok());
  EXPECT_EQ(memory.write<uint64_t>(0x10008, 0x20000).code(), ErrorCode::kDeviceError);
  EXPECT_TRUE(memory.regions().empty());  // the unplug stands, as documented
  EXPECT_TRUE(memory.check().ok());
}

// A host span kept across remove() used to write into whatever add_ram mapped there next. Once
// nothing holds the removed region (here: the thread let go of its cached table), a raw span
// of it faults.
TEST(StaleHostSpanDeathTest, WritingThroughASpanOfARemovedRegionFaults) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  EXPECT_DEATH(
      {
        GuestMemory memory;
        VMM_CHECK(memory.add_ram(0x1000, 0x10000).ok(), "add");
        std::span<std::byte> stale = memory.host_span(0x1000, 0x10000).value();
        VMM_CHECK(memory.remove(0x1000).ok(), "remove");
        GuestMemory::release_thread_cache();
        for (int i = 0; i < 8; ++i)
          VMM_CHECK(memory.add_ram(0x100000 * (i + 1), 0x10000).ok(), "add again");
        std::memset(stale.data(), 0x5a, stale.size());  // a late DMA completion
        std::fprintf(stderr, "the stale write went through\n");
        std::exit(0);
      },
      "");
}

TEST(StaleHostSpan, NewRegionsNeverReuseAQuarantinedRange) {
  GuestMemory memory;
  ASSERT_TRUE(memory.add_ram(0x1000, 0x10000).ok());
  const std::byte* old_host = memory.host_span(0x1000, 1).value().data();
  ASSERT_TRUE(memory.remove(0x1000).ok());
  for (int i = 0; i < 16; ++i) {
    ASSERT_TRUE(memory.add_ram(0x100000 * (i + 1), 0x10000).ok());
    const std::byte* host = memory.host_span(0x100000 * (i + 1), 1).value().data();
    EXPECT_FALSE(host >= old_host - 0x1000 && host < old_host + 0x11000);
  }
}

}  // namespace
}  // namespace vmmem::mem
