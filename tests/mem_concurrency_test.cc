// Concurrent accesses from many threads: disjoint guest ranges in several RAM regions, so each
// thread's cached window keeps changing while others read the shared region table.
// Run under the tsan preset, this proves the access paths are free of data races.
#include <gtest/gtest.h>

#include <atomic>
#include <thread>
#include <vector>

#include "mem/guest_memory.h"

namespace vmmem::mem {
namespace {

TEST(GuestMemoryConcurrency, ThreadsReadAndWriteDisjointRangesAcrossRegions) {
  constexpr int kThreads = 4;
  constexpr uint64_t kRegion = 0x10000;
  GuestMemory memory;
  for (int r = 0; r < kThreads; ++r)
    ASSERT_TRUE(memory.add_ram(r * kRegion, kRegion).ok());

  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&memory, t] {
      // Each thread owns one 8-byte slot in every region, so the cache flips between regions.
      for (uint64_t round = 0; round < 2000; ++round) {
        for (int r = 0; r < kThreads; ++r) {
          const uint64_t address = r * kRegion + 64 * t;
          const uint64_t value = round * 131 + t;
          ASSERT_TRUE(memory.write<uint64_t>(address, value).ok());
          ASSERT_EQ(memory.read<uint64_t>(address).value(), value);
        }
      }
    });
  }
  for (std::thread& thread : threads)
    thread.join();
  EXPECT_TRUE(memory.check().ok());
}

// A virtio-style ring: the producer writes a descriptor with plain stores and publishes its
// index with a release store of a u16; the consumer reads the index with acquire, then the
// descriptor, and hands the slot back through a used index (release / acquire again). TSan
// flags a plain u16 index; here it must see no race, and the consumer must always find the
// descriptor the index promises.
TEST(GuestMemoryConcurrency, RingIndexHandoffWithReleaseAndAcquire) {
  constexpr uint64_t kAvail = 0x1000, kUsed = 0x1002, kRing = 0x1100;
  constexpr uint16_t kEntries = 3000, kSlots = 64;
  GuestMemory memory;
  ASSERT_TRUE(memory.add_ram(0x1000, 0x10000).ok());
  std::thread producer([&memory] {
    for (uint16_t i = 1; i <= kEntries; ++i) {
      while (i - memory.load_atomic<uint16_t>(kUsed, std::memory_order_acquire).value() > kSlots)
        std::this_thread::yield();
      ASSERT_TRUE(memory.write<uint64_t>(kRing + 8 * (i % kSlots), 1000u + i).ok());
      ASSERT_TRUE(memory.store_atomic<uint16_t>(kAvail, i, std::memory_order_release).ok());
    }
  });
  for (uint16_t next = 1; next <= kEntries;) {
    const uint16_t avail = memory.load_atomic<uint16_t>(kAvail, std::memory_order_acquire).value();
    if (avail < next) std::this_thread::yield();
    for (; next <= avail; ++next) {
      EXPECT_EQ(memory.read<uint64_t>(kRing + 8 * (next % kSlots)).value(), 1000u + next);
      ASSERT_TRUE(memory.store_atomic<uint16_t>(kUsed, next, std::memory_order_release).ok());
    }
  }
  producer.join();
}

TEST(GuestMemoryConcurrency, FetchAddFromManyThreadsLosesNoIncrement) {
  constexpr int kThreads = 4, kAdds = 5000;
  GuestMemory memory;
  ASSERT_TRUE(memory.add_ram(0, 0x1000).ok());
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&memory] {
      for (int i = 0; i < kAdds; ++i) {
        ASSERT_TRUE(memory.fetch_add<uint32_t>(0x40, 1, std::memory_order_relaxed).ok());
        uint64_t seen = memory.load_atomic<uint64_t>(0x80, std::memory_order_relaxed).value();
        while (memory.compare_exchange<uint64_t>(0x80, seen, seen + 1, std::memory_order_acq_rel)
                   .value() != seen) {
          seen = memory.load_atomic<uint64_t>(0x80, std::memory_order_relaxed).value();
        }
      }
    });
  }
  for (std::thread& thread : threads)
    thread.join();
  EXPECT_EQ(memory.read<uint32_t>(0x40).value(), uint32_t{kThreads * kAdds});
  EXPECT_EQ(memory.read<uint64_t>(0x80).value(), uint64_t{kThreads * kAdds});
}

// Live migration: writers dirty pages while a migration thread takes the bitmap over and over.
// No page written is ever lost: the union of every take, plus a last one after the writers
// stop, is exactly the set of pages written.
TEST(GuestMemoryConcurrency, TakingTheDirtyBitmapLosesNoWrite) {
  constexpr int kWriters = 3;
  constexpr uint64_t kPages = 256;
  GuestMemory memory;
  ASSERT_TRUE(memory.add_ram(0, kPages * 0x1000).ok());
  ASSERT_TRUE(memory.set_dirty_tracking(0, true).ok());
  std::atomic<bool> done{false};
  std::vector<uint64_t> seen(kPages / 64);
  std::thread migration([&] {
    while (!done.load(std::memory_order_acquire)) {
      const std::vector<uint64_t> taken = memory.take_dirty(0).value();
      for (size_t i = 0; i < taken.size(); ++i)
        seen[i] |= taken[i];
    }
  });
  std::vector<std::thread> writers;
  for (int t = 0; t < kWriters; ++t) {
    writers.emplace_back([&memory, t] {
      // Writer t dirties pages t, t + 3, t + 6, ... but only those below 200.
      for (int round = 0; round < 20; ++round) {
        for (uint64_t page = t; page < 200; page += kWriters)
          ASSERT_TRUE(memory.write<uint32_t>(page * 0x1000 + 8 * t, round).ok());
      }
    });
  }
  for (std::thread& writer : writers)
    writer.join();
  done.store(true, std::memory_order_release);
  migration.join();
  const std::vector<uint64_t> last = memory.take_dirty(0).value();
  for (uint64_t page = 0; page < kPages; ++page) {
    const bool dirty = ((seen[page / 64] | last[page / 64]) >> (page % 64)) & 1;
    EXPECT_EQ(dirty, page < 200) << "page " << page;
  }
}

}  // namespace
}  // namespace vmmem::mem
