// Hot-plug, one thread at a time: what holds a removed region's host memory (pinned spans,
// snapshots, accessors, RamWindow holds, the thread's cached table), what each holder sees
// after the remove, and that the memory is released when the last holder lets go.
#include <gtest/gtest.h>

#include <cstring>
#include <memory>
#include <vector>

#include "mem/guest_memory.h"
#include "mem/memory_accessor.h"

namespace vmmem::mem {
namespace {

constexpr uint64_t kBase = 0x10000;
constexpr uint64_t kSize = 0x4000;

class HotPlug : public ::testing::Test {
 protected:
  void SetUp() override {
    GuestMemory::release_thread_cache();
    before_ = HostMapping::live_bytes();
    ASSERT_TRUE(memory_.add_ram(kBase, kSize).ok());
    ASSERT_TRUE(memory_.write<uint64_t>(kBase + 8, 0x1111).ok());
  }
  // Bytes of RAM mapped by this test beyond what was mapped before it.
  uint64_t mapped() const { return HostMapping::live_bytes() - before_; }

  GuestMemory memory_;
  uint64_t before_ = 0;
};

TEST_F(HotPlug, APinnedSpanKeepsARemovedRegionMappedAndApart) {
  PinnedSpan pin = memory_.pin_span(kBase, kSize).value();
  ASSERT_EQ(pin.bytes.size(), kSize);
  ASSERT_TRUE(memory_.remove(kBase).ok());
  ASSERT_TRUE(memory_.add_ram(kBase, kSize).ok());  // a new region at the same guest address
  GuestMemory::release_thread_cache();
  EXPECT_EQ(mapped(), 2 * kSize);
  std::memset(pin.bytes.data(), 0x5a, pin.bytes.size());  // a late DMA completion
  EXPECT_EQ(memory_.read<uint64_t>(kBase + 8).value(), 0u) << "the late write reached the new RAM";
  uint64_t old_word;
  std::memcpy(&old_word, pin.bytes.data() + 8, 8);
  EXPECT_EQ(old_word, 0x5a5a5a5a5a5a5a5au);
  pin = PinnedSpan{};
  EXPECT_EQ(mapped(), kSize) << "the removed region outlived its last holder";
  EXPECT_TRUE(memory_.check().ok());
}

TEST_F(HotPlug, PinSpanFollowsHostSpanRules) {
  EXPECT_TRUE(memory_.pin_span(kBase, 0).value().bytes.empty());
  EXPECT_EQ(memory_.pin_span(~uint64_t{0}, 2).status().code(), ErrorCode::kOverflow);
  EXPECT_EQ(memory_.pin_span(0, 8).status().code(), ErrorCode::kUnmapped);
  EXPECT_EQ(memory_.pin_span(kBase + kSize - 4, 8).status().code(), ErrorCode::kUnsupported);
  EXPECT_EQ(memory_.pin_span(kBase + 8, 8).value().bytes.data(),
            memory_.host_span(kBase + 8, 8).value().data());
}

TEST_F(HotPlug, ASnapshotAnswersAsTheMemoryDidWhenTaken) {
  const MemorySnapshot snapshot = memory_.snapshot();
  EXPECT_TRUE(snapshot.current(memory_));
  ASSERT_TRUE(memory_.remove(kBase).ok());
  ASSERT_TRUE(memory_.add_ram(0x100000, 0x1000).ok());
  EXPECT_FALSE(snapshot.current(memory_));
  ASSERT_EQ(snapshot.regions().size(), 1u);
  EXPECT_EQ(snapshot.regions()[0].base, kBase);
  EXPECT_FALSE(snapshot.ram_window(0x100000).has_value());
  const std::optional<RamWindow> window = snapshot.ram_window(kBase + 8);
  ASSERT_TRUE(window.has_value());
  EXPECT_EQ(window->generation, snapshot.generation());
  uint64_t word;
  std::memcpy(&word, window->host + 8, 8);
  EXPECT_EQ(word, 0x1111u);
  EXPECT_EQ(snapshot.host_span(kBase + 8, 8).value().data(), window->host + 8);
  EXPECT_EQ(snapshot.host_span(0x100000, 8).status().code(), ErrorCode::kUnmapped);
  GuestMemory::release_thread_cache();
  EXPECT_EQ(mapped(), kSize + 0x1000);
}

TEST_F(HotPlug, ARamWindowHoldOutlivesTheTableItCameFrom) {
  std::optional<RamWindow> window = memory_.ram_window(kBase);
  ASSERT_TRUE(window.has_value());
  EXPECT_EQ(window->generation, memory_.generation());
  ASSERT_TRUE(memory_.remove(kBase).ok());
  EXPECT_NE(window->generation, memory_.generation());
  GuestMemory::release_thread_cache();
  EXPECT_EQ(mapped(), kSize);
  window->host[0] = std::byte{1};  // mapped still: the hold keeps it
  window.reset();
  EXPECT_EQ(mapped(), 0u);
}

TEST_F(HotPlug, AnAccessorHoldsItsRegionUntilItMovesOn) {
  {
    MemoryAccessor accessor(memory_);
    EXPECT_EQ(accessor.read<uint64_t>(kBase + 8).value(), 0x1111u);
    ASSERT_TRUE(memory_.remove(kBase).ok());
    GuestMemory::release_thread_cache();
    EXPECT_EQ(mapped(), kSize) << "the accessor's cached region was released under it";
    EXPECT_EQ(accessor.read<uint64_t>(kBase + 8).status().code(), ErrorCode::kUnmapped);
    EXPECT_EQ(mapped(), 0u) << "a refill lets the old region go";
  }
  EXPECT_TRUE(memory_.check().ok());
}

TEST_F(HotPlug, TheThreadsCachedTableIsLetGoAtItsNextAccess) {
  ASSERT_TRUE(memory_.add_ram(0x100000, 0x1000).ok());
  ASSERT_EQ(memory_.read<uint64_t>(kBase + 8).value(), 0x1111u);  // the thread holds the table
  ASSERT_TRUE(memory_.remove(kBase).ok());
  EXPECT_EQ(mapped(), kSize + 0x1000);
  EXPECT_EQ(memory_.read<uint64_t>(kBase + 8).status().code(), ErrorCode::kUnmapped);
  EXPECT_EQ(mapped(), 0x1000u);
}

TEST_F(HotPlug, DestroyingTheMemoryReleasesWhatTheThreadHeld) {
  {
    GuestMemory other;
    ASSERT_TRUE(other.add_ram(0, 0x2000).ok());
    ASSERT_TRUE(other.write<uint32_t>(4, 7).ok());
    EXPECT_EQ(mapped(), kSize + 0x2000);
  }
  EXPECT_EQ(mapped(), kSize);
}

// An MMIO handler whose region is removed by another caller while the table that routed to it
// is held: it is kept alive with the table and released with it.
TEST_F(HotPlug, AHandlerLivesAsLongAsATableListsIt) {
  struct Handler : MmioHandler {
    Result<uint64_t> read(uint64_t, unsigned) override { return 42; }
    Status write(uint64_t, unsigned, uint64_t) override { return kOkStatus; }
  };
  auto handler = std::make_shared<Handler>();
  std::weak_ptr<Handler> watch = handler;
  ASSERT_TRUE(memory_.add_mmio(0x200000, 0x1000, std::move(handler)).ok());
  {
    const MemorySnapshot snapshot = memory_.snapshot();
    ASSERT_TRUE(memory_.remove(0x200000).ok());
    GuestMemory::release_thread_cache();
    EXPECT_FALSE(watch.expired());
    EXPECT_EQ(memory_.read<uint32_t>(0x200000).status().code(), ErrorCode::kUnmapped);
  }
  EXPECT_TRUE(watch.expired());
}

}  // namespace
}  // namespace vmmem::mem
