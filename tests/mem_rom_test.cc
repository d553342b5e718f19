// ROM: read-only guest memory. Reads take every RAM path (scalar, accessor, bulk across a
// RAM/ROM seam, atomic loads); every write path refuses it with kReadOnly, even right after a
// read warmed the caches; it has no host span and no dirty pages; its host bytes are read-only.
#include <gtest/gtest.h>

#include <cstring>
#include <vector>

#include "mem/guest_memory.h"
#include "mem/memory_accessor.h"

namespace vmmem::mem {
namespace {

constexpr uint64_t kRom = 0x10000, kRam = 0x12000;

class Rom : public ::testing::Test {
 protected:
  void SetUp() override {
    image_.resize(0x2000);
    for (size_t i = 0; i < image_.size(); ++i)
      image_[i] = static_cast<std::byte>(i * 13 + 1);
    ASSERT_TRUE(memory_.add_rom(kRom, image_).ok());
    ASSERT_TRUE(memory_.add_ram(kRam, 0x1000).ok());  // right after the ROM
  }
  uint64_t image_word(uint64_t offset) const {
    uint64_t word;
    std::memcpy(&word, image_.data() + offset, 8);
    return word;
  }

  GuestMemory memory_;
  std::vector<std::byte> image_;
};

TEST_F(Rom, ReadsSeeTheImageOnEveryPath) {
  EXPECT_EQ(memory_.read<uint64_t>(kRom + 8).value(), image_word(8));
  MemoryAccessor accessor(memory_);
  EXPECT_EQ(accessor.read<uint64_t>(kRom + 16).value(), image_word(16));
  EXPECT_EQ(memory_.load_atomic<uint64_t>(kRom + 24, std::memory_order_acquire).value(),
            image_word(24));
  std::vector<std::byte> across(0x20);  // the last 16 ROM bytes and the first 16 RAM bytes
  ASSERT_TRUE(memory_.read(kRam - 0x10, across).ok());
  EXPECT_TRUE(std::equal(across.begin(), across.begin() + 0x10, image_.end() - 0x10));
  EXPECT_EQ(memory_.regions()[0].kind, RegionKind::kRom);
  EXPECT_EQ(memory_.ram_bytes(), 0x3000u);
}

TEST_F(Rom, EveryWritePathIsRefusedEvenWithWarmCaches) {
  MemoryAccessor accessor(memory_);
  ASSERT_TRUE(memory_.read<uint64_t>(kRom + 8).ok());   // the thread's window is the ROM now
  ASSERT_TRUE(accessor.read<uint64_t>(kRom + 8).ok());  // and the accessor's
  EXPECT_EQ(memory_.write<uint64_t>(kRom + 8, 1).code(), ErrorCode::kReadOnly);
  EXPECT_EQ(accessor.write<uint32_t>(kRom + 8, 1).code(), ErrorCode::kReadOnly);
  EXPECT_EQ(memory_.write_scalar(kRom + 8, 2, 1).code(), ErrorCode::kReadOnly);
  const std::vector<std::byte> bytes(0x20, std::byte{0xff});
  EXPECT_EQ(memory_.write(kRom, bytes).code(), ErrorCode::kReadOnly);
  EXPECT_EQ(memory_.write(kRam - 0x10, bytes).code(), ErrorCode::kReadOnly);  // RAM part too
  EXPECT_EQ(memory_.store_atomic<uint64_t>(kRom, 1, std::memory_order_release).code(),
            ErrorCode::kReadOnly);
  EXPECT_EQ(
      memory_.compare_exchange<uint64_t>(kRom, 0, 1, std::memory_order_seq_cst).status().code(),
      ErrorCode::kReadOnly);
  EXPECT_EQ(memory_.fetch_add<uint32_t>(kRom, 1, std::memory_order_relaxed).status().code(),
            ErrorCode::kReadOnly);
  EXPECT_EQ(memory_.discard(kRom, 0x1000).code(), ErrorCode::kReadOnly);
  EXPECT_EQ(memory_.mark_dirty(kRom, 8).code(), ErrorCode::kReadOnly);
  EXPECT_EQ(memory_.host_span(kRom, 8).status().code(), ErrorCode::kReadOnly);
  EXPECT_EQ(memory_.pin_span(kRom, 8).status().code(), ErrorCode::kReadOnly);
  EXPECT_EQ(memory_.set_dirty_tracking(kRom, true).code(), ErrorCode::kUnsupported);
  EXPECT_EQ(memory_.take_dirty(kRom).status().code(), ErrorCode::kUnsupported);
  std::vector<std::byte> now(image_.size());
  ASSERT_TRUE(memory_.read(kRom, now).ok());
  EXPECT_EQ(now, image_) << "a refused write changed the ROM";
  EXPECT_EQ(memory_.read<uint64_t>(kRam).value(), 0u) << "a refused write changed the RAM";
  EXPECT_TRUE(memory_.write<uint64_t>(kRam, 5).ok());
  EXPECT_TRUE(memory_.check().ok());
}

TEST_F(Rom, AddRomIsRefusedLikeAddRam) {
  const std::vector<std::byte> odd(0x800);
  EXPECT_EQ(memory_.add_rom(0x40000, odd).code(), ErrorCode::kInvalidArgument);
  EXPECT_EQ(memory_.add_rom(0x40000, {}).code(), ErrorCode::kInvalidArgument);
  EXPECT_EQ(memory_.add_rom(0x40800, image_).code(), ErrorCode::kInvalidArgument);
  EXPECT_EQ(memory_.add_rom(kRom + 0x1000, image_).code(), ErrorCode::kConflict);
  GuestMemory small(GuestMemoryLimits{.max_ram_bytes = 0x1000});
  EXPECT_EQ(small.add_rom(0, image_).code(), ErrorCode::kOutOfMemory);
}

TEST_F(Rom, TheWindowSaysReadOnlyAndTheHostBytesAreReadOnly) {
  const MemorySnapshot snapshot = memory_.snapshot();
  const std::optional<RamWindow> window = snapshot.ram_window(kRom);
  ASSERT_TRUE(window.has_value());
  EXPECT_TRUE(window->read_only);
  EXPECT_FALSE(snapshot.ram_window(kRam)->read_only);
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  EXPECT_DEATH(
      {
        window->host[0] = std::byte{0};
        std::exit(0);
      },
      "");
}

}  // namespace
}  // namespace vmmem::mem
