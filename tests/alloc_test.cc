// Allocator edge cases by name: bad input, out-of-memory paths, hardened reports, large and
// huge blocks, reallocation, first-class heaps, object pools, thread exit, and the sanitizer
// poisoning. Every test ends with Allocator::check().
#include <gtest/gtest.h>

#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <atomic>
#include <cstdio>
#include <cstring>
#include <set>
#include <thread>
#include <vector>

#include "alloc/allocator.h"
#include "alloc/heap.h"
#include "alloc/object_pool.h"
#include "alloc/sanitizer.h"
#include "alloc/size_classes.h"

namespace vmmem::alloc {
namespace {

std::vector<Status> reports;
void record_report(const Status& status, void*) {
  reports.push_back(status);
}

Options with_reports(Options options = {}) {
  options.report = record_report;
  return options;
}

class AllocatorTest : public ::testing::Test {
 protected:
  void SetUp() override { reports.clear(); }
  void TearDown() override {
    const Status status = allocator.check();
    EXPECT_TRUE(status.ok()) << status.message();
  }
  Allocator allocator{with_reports()};
};

TEST(SizeClassTest, EveryClassHoldsItsSizesWithinTheWasteBound) {
  size_t previous = 0;
  for (size_t cls = 0; cls < kNumClasses; ++cls) {
    EXPECT_GT(class_size(cls), previous);
    previous = class_size(cls);
  }
  for (size_t size = 1; size <= kMaxSmallSize; ++size) {
    const size_t cls = size_to_class(size);
    ASSERT_GE(class_size(cls), size);
    if (cls > 0) {
      ASSERT_LT(class_size(cls - 1), size) << size;
    }
    const size_t waste = class_size(cls) - size;
    if (size <= 128) {
      ASSERT_LT(waste, 16u) << size;
    } else {
      ASSERT_LE(waste * 8, size) << size;
    }
  }
  EXPECT_EQ(size_to_class(0), 0u);
}

TEST_F(AllocatorTest, ZeroBytesGetUniqueBlocks) {
  void* a = allocator.allocate(0);
  void* b = allocator.allocate(0);
  ASSERT_NE(a, nullptr);
  ASSERT_NE(b, nullptr);
  EXPECT_NE(a, b);
  allocator.deallocate(a);
  allocator.deallocate(b);
}

// The small-block fast path alone: nothing for a thread the allocator has not met yet or for a
// size above the small classes; once allocate() has made a page current, blocks of that class.
// The small slow path gives a block where the fast one has none.
TEST_F(AllocatorTest, TheSmallFastPathGivesBlocksOnlyFromACurrentPage) {
  Allocator other;  // this thread is bound to `allocator` last, so `other` is not its binding
  void* warm = allocator.allocate(100);
  EXPECT_EQ(other.allocate_small_fast(100), nullptr);
  void* fast = allocator.allocate_small_fast(100);
  ASSERT_NE(fast, nullptr);
  EXPECT_GE(allocator.usable_size(fast), 100u);
  EXPECT_EQ(allocator.allocate_small_fast(kMaxSmallSize + 1), nullptr);
  void* slow = allocator.allocate_small_slow(kMaxSmallSize);  // its class has no page yet
  ASSERT_NE(slow, nullptr);
  EXPECT_GE(allocator.usable_size(slow), kMaxSmallSize);
  EXPECT_EQ(allocator.stats().live.blocks, 3u);
  EXPECT_TRUE(allocator.check().ok()) << allocator.check().message();
  allocator.deallocate(slow);
  allocator.deallocate(fast);
  allocator.deallocate(warm);
}

// A page grows (carves blocks never handed out, memory not yet touched) only when no page of
// its class has a free block: a block freed into an older page comes first.
TEST_F(AllocatorTest, FreedBlocksOfAnyPageComeBeforeCarvingMore) {
  constexpr size_t kSize = 1024;
  std::vector<void*> first_page_blocks{allocator.allocate(kSize)};
  const Page* first = Segment::of(first_page_blocks[0])->page_of(first_page_blocks[0]);
  void* p = allocator.allocate(kSize);
  for (; Segment::of(p)->page_of(p) == first; p = allocator.allocate(kSize))
    first_page_blocks.push_back(p);
  std::vector<void*> second_page_blocks{p};
  const Page* second = Segment::of(p)->page_of(p);
  // Past its young stage and out of carved blocks: the second page's next block would be new.
  while (second->capacity < second->reserved / 2 || second->free != nullptr)
    second_page_blocks.push_back(allocator.allocate(kSize));
  ASSERT_EQ(first->capacity, first->reserved);
  const uint32_t carved = second->capacity;

  void* freed = first_page_blocks[first_page_blocks.size() / 2];
  allocator.deallocate(freed);
  first_page_blocks.erase(first_page_blocks.begin() + first_page_blocks.size() / 2);
  void* reused = allocator.allocate(kSize);
  EXPECT_EQ(reused, freed);
  EXPECT_EQ(second->capacity, carved);
  first_page_blocks.push_back(reused);

  // With no free block anywhere, the page with room grows rather than a third page starting.
  void* grown = allocator.allocate(kSize);
  EXPECT_EQ(Segment::of(grown)->page_of(grown), second);
  EXPECT_GT(second->capacity, carved);
  second_page_blocks.push_back(grown);
  EXPECT_TRUE(allocator.check().ok()) << allocator.check().message();
  for (void* block : first_page_blocks)
    allocator.deallocate(block);
  for (void* block : second_page_blocks)
    allocator.deallocate(block);
}

TEST_F(AllocatorTest, NaturalAlignmentIs8ThenAtLeast16) {
  for (size_t size : {1, 8, 9, 24, 100, 1000, 40000}) {
    void* p = allocator.allocate(size);
    EXPECT_EQ(reinterpret_cast<uintptr_t>(p) % (size <= 8 ? 8 : 16), 0u) << size;
    allocator.deallocate(p);
  }
}

TEST_F(AllocatorTest, AlignmentsUpToTwoMebibytes) {
  for (size_t alignment = 1; alignment <= kMaxAlignment; alignment *= 2) {
    for (size_t size : {size_t{0}, size_t{1}, size_t{100}, size_t{70000}}) {
      void* p = allocator.allocate(size, alignment);
      ASSERT_NE(p, nullptr) << size << " @ " << alignment;
      EXPECT_EQ(reinterpret_cast<uintptr_t>(p) % alignment, 0u) << size << " @ " << alignment;
      EXPECT_GE(allocator.usable_size(p), size);
      // Under ASan the usable size is the request, even of nothing in a 64 KiB class block.
      if constexpr (kAsanEnabled) {
        EXPECT_EQ(allocator.usable_size(p), size) << alignment;
      }
      std::memset(p, 0xab, size);
      allocator.deallocate(p);
    }
  }
}

TEST_F(AllocatorTest, BadAlignmentsAndSizesAreRefusedAndChangeNothing) {
  const Stats before = allocator.stats();
  EXPECT_EQ(allocator.try_allocate(64, 0).status().code(), ErrorCode::kInvalidArgument);
  EXPECT_EQ(allocator.try_allocate(64, 3).status().code(), ErrorCode::kInvalidArgument);
  EXPECT_EQ(allocator.try_allocate(64, 48).status().code(), ErrorCode::kInvalidArgument);
  EXPECT_EQ(allocator.try_allocate(64, kMaxAlignment * 2).status().code(), ErrorCode::kUnsupported);
  EXPECT_EQ(allocator.try_allocate(SIZE_MAX).status().code(), ErrorCode::kOutOfMemory);
  EXPECT_EQ(allocator.try_allocate(SIZE_MAX - 15).status().code(), ErrorCode::kOutOfMemory);
  EXPECT_EQ(allocator.try_allocate(kMaxRequest + 1).status().code(), ErrorCode::kOutOfMemory);
  EXPECT_EQ(allocator.allocate(SIZE_MAX), nullptr);
  EXPECT_EQ(allocator.allocate(64, 3), nullptr);
  const Stats after = allocator.stats();
  EXPECT_EQ(after.os, before.os);
  EXPECT_EQ(after.live, before.live);
}

TEST_F(AllocatorTest, NullAndForeignPointersChangeNothing) {
  allocator.deallocate(nullptr);
  EXPECT_TRUE(allocator.deallocate_checked(nullptr).ok());
  int on_stack = 0;
  std::vector<int> elsewhere(100);
  allocator.deallocate(&on_stack);
  EXPECT_EQ(allocator.deallocate_checked(elsewhere.data()).code(), ErrorCode::kNotFound);
  ASSERT_EQ(reports.size(), 1u);
  EXPECT_EQ(reports[0].code(), ErrorCode::kNotFound);
  EXPECT_EQ(allocator.usable_size(&on_stack), 0u);
  EXPECT_EQ(allocator.stats().reports, 1u);
}

// Off the owner's fast path even an unhardened free looks at the span: a pointer into the
// segment header or into a free span is reported and changes nothing.
TEST_F(AllocatorTest, ARemoteFreeOutsideEveryLiveSpanIsReportedAndChangesNothing) {
  void* live = allocator.allocate(64);
  const uintptr_t base = segment_base_of(live);
  auto* in_header = reinterpret_cast<void*>(base + 256);
  auto* in_free_span = reinterpret_cast<void*>(base + kSegmentSize - kSliceSize + 64);
  ASSERT_EQ(allocator.usable_size(in_free_span), 0u);  // the last slice is still free
  const Stats before = allocator.stats();
  std::thread([&] {
    allocator.deallocate(in_header);
    allocator.deallocate(in_free_span);
  }).join();
  ASSERT_EQ(reports.size(), 2u);
  EXPECT_EQ(reports[0].code(), ErrorCode::kInvalidArgument);
  EXPECT_EQ(reports[1].code(), ErrorCode::kInvalidArgument);
  EXPECT_EQ(allocator.stats().live, before.live);
  EXPECT_EQ(allocator.stats().committed_bytes, before.committed_bytes);
  allocator.deallocate(live);
}

TEST_F(AllocatorTest, ABlockOfAnotherAllocatorIsAConflict) {
  Allocator other;
  void* p = other.allocate(64);
  EXPECT_EQ(allocator.deallocate_checked(p).code(), ErrorCode::kConflict);
  EXPECT_EQ(allocator.usable_size(p), 0u);
  other.deallocate(p);
  EXPECT_TRUE(other.check().ok());
}

// The plain free takes the same answer on the thread that owns the block (its fast path) and on
// any other thread: reported, and the block stays live in the allocator that handed it out.
TEST_F(AllocatorTest, APlainFreeOfAnotherAllocatorsBlockIsReportedAndChangesNothing) {
  Allocator other;
  void* p = other.allocate(64);
  std::memset(p, 5, 64);
  allocator.deallocate(p);
  std::thread([&] { allocator.deallocate(p); }).join();
  ASSERT_EQ(reports.size(), 2u);
  EXPECT_EQ(reports[0].code(), ErrorCode::kConflict);
  EXPECT_EQ(reports[1].code(), ErrorCode::kConflict);
  EXPECT_EQ(other.stats().live.blocks, 1u);
  EXPECT_EQ(static_cast<unsigned char*>(p)[63], 5);
  EXPECT_NE(other.allocate(64), p);  // not back on other's free list
  other.deallocate(p);
  EXPECT_TRUE(other.check().ok());
}

// Blocks past a page's carved ones have never been handed out: the address where the next one
// would start is no block, in plain and in hardened mode, for a checked free and for usable_size.
TEST(AllocatorBoundaryTest, TheFirstUncarvedBlockOfAPageIsNoBlock) {
  for (bool hardened : {false, true}) {
    reports.clear();
    Options options = with_reports();
    options.hardened = hardened;
    Allocator allocator(options);
    void* p = allocator.allocate(64);
    const Page* page = Segment::of(p)->page_of(p);
    ASSERT_LT(page->capacity, page->reserved) << "a fresh page carves its blocks gradually";
    std::byte* uncarved = page->start + page->capacity * page->block_size;
    const Status status = allocator.deallocate_checked(uncarved);
    EXPECT_EQ(status.code(), ErrorCode::kInvalidArgument) << status.message();
    EXPECT_EQ(allocator.usable_size(uncarved), 0u);
    EXPECT_EQ(allocator.stats().live.blocks, 1u);
    allocator.deallocate(p);
    const Status check = allocator.check();
    EXPECT_TRUE(check.ok()) << check.message();
  }
}

TEST(HardenedTest, DoubleInteriorAndWrongSizeFreesAreReportedAndHarmless) {
  reports.clear();
  Options options = with_reports();
  options.hardened = true;
  Allocator allocator(options);
  void* small = allocator.allocate(100);
  void* large = allocator.allocate(200000);
  void* keep = allocator.allocate(100);
  std::memset(keep, 7, 100);
  allocator.deallocate(small);
  allocator.deallocate(small);  // double free
  EXPECT_EQ(allocator.deallocate_checked(small).code(), ErrorCode::kConflict);
  allocator.deallocate(static_cast<char*>(large) + 16);  // interior
  EXPECT_EQ(allocator.deallocate_checked(large, 8).code(), ErrorCode::kInvalidArgument);
  EXPECT_EQ(allocator.deallocate_checked(keep, 5000).code(), ErrorCode::kInvalidArgument);
  ASSERT_EQ(reports.size(), 2u);
  EXPECT_EQ(reports[0].code(), ErrorCode::kConflict);
  EXPECT_EQ(reports[1].code(), ErrorCode::kInvalidArgument);
  EXPECT_NE(reports[0].message().find("double free"), std::string::npos) << reports[0].message();
  // The heap is intact: the next block of that class is not handed out twice.
  void* a = allocator.allocate(100);
  void* b = allocator.allocate(100);
  EXPECT_NE(a, b);
  EXPECT_EQ(static_cast<unsigned char*>(keep)[99], 7);
  EXPECT_TRUE(allocator.deallocate_checked(large, 200000).ok());
  EXPECT_TRUE(allocator.deallocate_checked(keep, 100).ok());
  allocator.deallocate(a);
  allocator.deallocate(b);
  const Status status = allocator.check();
  EXPECT_TRUE(status.ok()) << status.message();
  EXPECT_EQ(allocator.stats().live.blocks, 0u);
}

TEST(HardenedDeathTest, ACorruptedFreeListLinkStopsTheProcess) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  EXPECT_DEATH(
      {
        Options options;
        options.hardened = true;
        Allocator allocator(options);
        std::vector<void*> blocks;
        for (int i = 0; i < 4; ++i)
          blocks.push_back(allocator.allocate(64));
        allocator.deallocate(blocks[1]);
        allocator.deallocate(blocks[2]);
        // A write after free overwrites the link of the most recently freed block. (ASan
        // would report the write itself; the hardened check is what is tested here, so the
        // word is opened first.)
        void* stray = reinterpret_cast<void*>(0x1234560);
        unpoison(blocks[2], sizeof stray);
        std::memcpy(blocks[2], &stray, sizeof stray);
        poison(blocks[2], sizeof stray);
        // The fresh blocks of the page go first, then the freed ones: the stray link is read.
        for (int i = 0; i < 200; ++i)
          allocator.allocate(64);
      },
      "corrupted free list");
}

TEST_F(AllocatorTest, SizedFreeAcceptsTheRequestedSize) {
  for (size_t size : {1, 24, 1000, 33000, 65536, 65537, 300000, 5000000}) {
    void* p = allocator.allocate(size);
    EXPECT_TRUE(allocator.deallocate_checked(p, size).ok()) << size;
  }
  void* aligned = allocator.allocate(100, 4096);
  EXPECT_TRUE(allocator.deallocate_checked(aligned, 100).ok());
  void* far_aligned = allocator.allocate(100, 1 << 20);
  EXPECT_TRUE(allocator.deallocate_checked(far_aligned, 100).ok());
}

TEST_F(AllocatorTest, OutOfMemoryIsReportedAndLosesNothing) {
  std::vector<void*> live;
  for (int i = 0; i < 100; ++i)
    live.push_back(allocator.allocate(1000));
  allocator.os().fail_next_calls(1000);
  // Everything that needs new memory from the OS fails; the heap stays whole.
  EXPECT_EQ(allocator.try_allocate(10 << 20).status().code(), ErrorCode::kOutOfMemory);
  std::vector<void*> more;
  for (int i = 0; i < 2000; ++i) {
    void* p = allocator.allocate(20000);
    if (p == nullptr) break;
    more.push_back(p);
  }
  EXPECT_LT(more.size(), 2000u);
  EXPECT_EQ(allocator.create_heap(), nullptr);
  void* grown = allocator.reallocate(live[0], 8 << 20);
  EXPECT_EQ(grown, nullptr);  // and live[0] is still ours
  EXPECT_TRUE(allocator.check().ok()) << allocator.check().message();
  EXPECT_EQ(allocator.stats().live.blocks, live.size() + more.size());
  allocator.os().fail_next_calls(0);
  for (void* p : live)
    allocator.deallocate(p);
  for (void* p : more)
    allocator.deallocate(p);
  allocator.collect(true);
  EXPECT_EQ(allocator.stats().live.blocks, 0u);
}

TEST_F(AllocatorTest, FailedPurgesAndUnmapsKeepTheMemory) {
  std::vector<void*> blocks;
  for (int i = 0; i < 40; ++i)
    blocks.push_back(allocator.allocate(1 << 20));
  for (void* p : blocks)
    allocator.deallocate(p);
  allocator.os().fail_next_calls(1000);
  allocator.collect(true);
  EXPECT_TRUE(allocator.check().ok()) << allocator.check().message();
  allocator.os().fail_next_calls(0);
  allocator.collect(true);
}

// Pages of [p, p + size) that are resident.
size_t resident_pages(void* p, size_t size) {
  const size_t page = static_cast<size_t>(sysconf(_SC_PAGESIZE));
  std::vector<unsigned char> in_core((size + page - 1) / page);
  EXPECT_EQ(mincore(p, size, in_core.data()), 0);
  size_t resident = 0;
  for (unsigned char c : in_core)
    resident += c & 1;
  return resident;
}

TEST_F(AllocatorTest, ZeroedAllocationOfFreshMemoryWritesNothing) {
  const size_t size = 8 << 20;  // a huge block: fresh from the OS
  auto* p = static_cast<unsigned char*>(allocator.allocate_zeroed(size));
  ASSERT_NE(p, nullptr);
  EXPECT_LT(resident_pages(p, size), 16u);  // no memset touched it
  for (size_t i = 0; i < size; i += 4096)
    ASSERT_EQ(p[i], 0);
  std::memset(p, 0xff, size);
  allocator.deallocate(p);
  // Recycled memory is zeroed for real.
  auto* q = static_cast<unsigned char*>(allocator.allocate_zeroed(300000));
  std::memset(q, 0xff, 300000);
  allocator.deallocate(q);
  q = static_cast<unsigned char*>(allocator.allocate_zeroed(300000));
  for (size_t i = 0; i < 300000; ++i)
    ASSERT_EQ(q[i], 0) << i;
  allocator.deallocate(q);
  auto* s = static_cast<unsigned char*>(allocator.allocate(48));
  std::memset(s, 0xff, 48);
  allocator.deallocate(s);
  s = static_cast<unsigned char*>(allocator.allocate_zeroed(48));
  for (size_t i = 0; i < 48; ++i)
    ASSERT_EQ(s[i], 0);
  allocator.deallocate(s);
}

TEST_F(AllocatorTest, LargeAllocFreeLoopsStayOffTheOs) {
  for (size_t size : {64u << 10, 256u << 10, 1u << 20}) {
    allocator.deallocate(allocator.allocate(size));
    const OsCounters before = allocator.stats().os;
    for (int i = 0; i < 1000; ++i) {
      void* p = allocator.allocate(size);
      static_cast<char*>(p)[size - 1] = 1;
      allocator.deallocate(p);
    }
    const OsCounters after = allocator.stats().os;
    EXPECT_EQ(after.maps, before.maps) << size;
    EXPECT_EQ(after.unmaps, before.unmaps) << size;
  }
}

// A huge block freed and asked for again reuses its cached mapping without a purge (its pages
// stay resident); the cache purges it once other segments have come and gone, and at once on
// collect(true).
TEST(PurgeTest, AHugeAllocFreeLoopKeepsItsPagesUntilTheCacheAges) {
  Allocator allocator;
  constexpr size_t kHuge = 6u << 20;
  allocator.deallocate(allocator.allocate(kHuge));
  const OsCounters before = allocator.stats().os;
  for (int i = 0; i < 100; ++i) {
    void* p = allocator.allocate(kHuge);
    static_cast<char*>(p)[kHuge - 1] = 1;
    allocator.deallocate(p);
  }
  OsCounters after = allocator.stats().os;
  EXPECT_EQ(after.maps, before.maps);
  EXPECT_EQ(after.purges, before.purges);
  EXPECT_GE(allocator.stats().committed_bytes, kHuge - (64u << 10));
  // Other huge mappings pass through the cache: the idle one ages and is purged.
  for (size_t i = 0; i < kCachePurgeEvents; ++i)
    allocator.deallocate(allocator.allocate(kHuge + (1u << 20) * (i % 2 + 3)));
  after = allocator.stats().os;
  EXPECT_GT(after.purges, before.purges);
  allocator.collect(true);
  EXPECT_LT(allocator.stats().committed_bytes, 1u << 20);
  const Status status = allocator.check();
  EXPECT_TRUE(status.ok()) << status.message();
}

TEST(PurgeTest, EagerPurgingReturnsFreedSpansAtOnce) {
  Options options;
  options.purge = PurgePolicy::kEager;
  Allocator allocator(options);
  void* keep = allocator.allocate(64);
  void* p = allocator.allocate(2 << 20);
  std::memset(p, 1, 2 << 20);
  const uint64_t committed = allocator.stats().committed_bytes;
  allocator.deallocate(p);
  EXPECT_LE(allocator.stats().committed_bytes + (2 << 20), committed);
  EXPECT_GT(allocator.stats().os.purges, 0u);
  allocator.deallocate(keep);
  EXPECT_TRUE(allocator.check().ok());
}

// Under the delayed policy a class page of kPurgeEmptyPageSlices or more goes back to the OS as
// soon as it empties (unless it is its class's current page); smaller pages wait for the delay.
TEST(PurgeTest, ABigClassPageIsPurgedWhenItEmpties) {
  ASSERT_GE(class_page_slices(size_to_class(kMaxSmallSize)), kPurgeEmptyPageSlices);
  ASSERT_LT(class_page_slices(size_to_class(size_t{40} << 10)), kPurgeEmptyPageSlices);
  for (const size_t size : {kMaxSmallSize, size_t{40} << 10, size_t{64}}) {
    Allocator allocator;
    const size_t slices = class_page_slices(size_to_class(size));
    std::vector<void*> first_page{allocator.allocate(size)};
    const Page* page = Segment::of(first_page[0])->page_of(first_page[0]);
    void* next = allocator.allocate(size);  // the first block of the class's next page
    for (; Segment::of(next)->page_of(next) == page; next = allocator.allocate(size))
      first_page.push_back(next);
    for (void* block : first_page)
      std::memset(block, 1, size);
    const Stats before = allocator.stats();
    for (void* block : first_page)
      allocator.deallocate(block);
    const Stats after = allocator.stats();
    if (slices >= kPurgeEmptyPageSlices) {
      EXPECT_EQ(after.os.purges, before.os.purges + 1) << size;
      EXPECT_EQ(after.committed_bytes + slices * kSliceSize, before.committed_bytes) << size;
    } else {
      EXPECT_EQ(after.os.purges, before.os.purges) << size;
      EXPECT_EQ(after.committed_bytes, before.committed_bytes) << size;
    }
    allocator.deallocate(next);
    EXPECT_TRUE(allocator.check().ok()) << allocator.check().message();
  }
}

TEST(PurgeTest, DelayedPurgingWaitsThenReturns) {
  Options options;
  options.purge = PurgePolicy::kDelayed;
  options.purge_delay = 64;
  Allocator allocator(options);
  std::vector<void*> blocks;
  for (int i = 0; i < 30; ++i)
    blocks.push_back(allocator.allocate(100000));
  for (void* b : blocks)
    std::memset(b, 1, 100000);
  for (void* b : blocks)
    allocator.deallocate(b);
  const uint64_t purges = allocator.stats().os.purges;
  // Aligned requests above the small sizes take the slow path, whose calls are the heap's clock.
  for (int i = 0; i < 1000; ++i)
    allocator.deallocate(allocator.allocate(kMaxSmallSize + 1, 4096));
  EXPECT_GT(allocator.stats().os.purges, purges);
  EXPECT_TRUE(allocator.check().ok());
}

// A clock the test moves by hand: spans age by it, not by the calls made meanwhile.
uint64_t manual_clock_now = 0;
uint64_t manual_clock() {
  return manual_clock_now;
}

// An allocator whose free spans age by manual_clock (purge delay 10) and a first-class heap of
// it. An anchor block keeps a page of 4 KiB-aligned blocks in use, so slow_calls() advance the
// heap's calls without touching the free spans.
struct ManualClockHeap {
  static Options options() {
    Options options;
    options.purge = PurgePolicy::kDelayed;
    options.purge_delay = 10;
    options.purge_clock = manual_clock;
    return options;
  }
  explicit ManualClockHeap(uint64_t start)
      : allocator((manual_clock_now = start, options())),
        heap(allocator.create_heap()),
        anchor(allocate(4096, 4096)) {}
  ~ManualClockHeap() {
    allocator.deallocate(anchor);
    allocator.destroy_heap(heap);
  }
  void* allocate(size_t size, size_t alignment = 1) {
    return allocator.heap_allocate(heap, size, alignment).value();
  }
  void slow_calls(uint64_t n) {
    for (uint64_t i = 0; i < n; ++i)
      allocator.deallocate(allocate(4096, 4096));
  }

  Allocator allocator;
  Heap* heap;
  void* anchor;
};

TEST(PurgeTest, APurgeClockAgesSpansByItsTimeNotByCalls) {
  manual_clock_now = 1000;
  Options options;
  options.purge = PurgePolicy::kDelayed;
  options.purge_delay = 10;
  options.purge_clock = manual_clock;
  Allocator allocator(options);
  // Slow-path calls that leave the free spans alone: blocks from one page that an anchor keeps
  // in use, through try_allocate, which always takes the slow path.
  void* anchor = allocator.allocate(4096, 4096);
  auto slow_calls = [&](uint64_t n) {
    for (uint64_t i = 0; i < n; ++i)
      allocator.deallocate(allocator.try_allocate(4096, 4096).value());
  };
  std::vector<void*> blocks;
  for (int i = 0; i < 30; ++i)
    blocks.push_back(allocator.allocate(100000));
  for (void* b : blocks)
    std::memset(b, 1, 100000);
  for (void* b : blocks)
    allocator.deallocate(b);
  const uint64_t purges = allocator.stats().os.purges;
  // Thousands of slow-path calls within the delay purge nothing...
  slow_calls(5000);
  manual_clock_now += 9;
  slow_calls(100);
  EXPECT_EQ(allocator.stats().os.purges, purges);
  // ...and expired spans are looked for every half delay (within kPurgeClockInterval calls),
  // so by one and a half delays after the frees they are gone.
  manual_clock_now += 6;
  slow_calls(kPurgeClockInterval);
  EXPECT_GT(allocator.stats().os.purges, purges);
  allocator.deallocate(anchor);
  EXPECT_TRUE(allocator.check().ok());
}

// A free range that has aged past the delay is purged when a span freed next to it merges with
// it, instead of taking the newcomer's age.
TEST(PurgeTest, AnExpiredNeighbourIsPurgedBeforeItMerges) {
  manual_clock_now = 5000;
  Options options;
  options.purge = PurgePolicy::kDelayed;
  options.purge_delay = 10;
  options.purge_clock = manual_clock;
  Allocator allocator(options);
  void* first = allocator.allocate(200000);
  void* second = allocator.allocate(200000);
  void* guard = allocator.allocate(200000);
  std::memset(first, 1, 200000);
  std::memset(second, 1, 200000);
  // Freed large blocks wait in the heap's span cache first; filling it sends the next ones
  // straight to the free spans.
  std::vector<void*> fillers;
  for (int i = 0; i < 16; ++i)
    fillers.push_back(allocator.allocate(100000));
  for (void* filler : fillers)
    allocator.deallocate(filler);
  allocator.deallocate(first);
  manual_clock_now += 10;
  const uint64_t purges = allocator.stats().os.purges;
  allocator.deallocate(second);  // merges with `first`'s expired span
  EXPECT_EQ(allocator.stats().os.purges, purges + 1);
  allocator.deallocate(guard);
  EXPECT_TRUE(allocator.check().ok());
}

// A program that takes purged memory back soon after the purge makes the delay grow (up to
// its limit), so the next round of the same pattern keeps the memory resident; a quiet
// stretch brings it back to the configured delay.
TEST(PurgeTest, PurgedSpansTakenBackSoonLengthenTheDelayAndQuietShortensIt) {
  ManualClockHeap h(9000);
  Allocator& allocator = h.allocator;
  Heap* heap = h.heap;
  auto allocate = [&](size_t size) { return h.allocate(size); };
  auto slow_calls = [&](uint64_t n) { h.slow_calls(n); };
  // One round: big blocks taken (from the spans the last round freed), written and freed, then
  // left to age by `wait`. Returns the purges the round caused.
  auto round = [&](uint64_t wait) {
    const uint64_t before = allocator.stats().os.purges;
    std::vector<void*> blocks;
    for (int i = 0; i < 12; ++i)
      blocks.push_back(allocate(100000));
    for (void* b : blocks)
      std::memset(b, 1, 100000);
    for (void* b : blocks)
      allocator.deallocate(b);
    manual_clock_now += wait;
    slow_calls(kPurgeClockInterval * 2);
    return allocator.stats().os.purges - before;
  };
  const uint64_t base = heap->purge_delay();
  EXPECT_EQ(base, 10u);
  EXPECT_GT(round(16), 0u);  // aged 1.6 delays: purged
  EXPECT_EQ(heap->purge_delay(), base);
  // The next round takes the purged spans back at once: the delay doubles, and the same wait
  // no longer purges them.
  EXPECT_EQ(round(16), 0u);
  EXPECT_EQ(heap->purge_delay(), 2 * base);
  uint64_t delay = heap->purge_delay();
  for (int i = 0; i < 10 && delay < base * kMaxPurgeDelayFactor; ++i) {
    round(delay + delay / 2 + 1);
    EXPECT_GE(heap->purge_delay(), delay);
    delay = heap->purge_delay();
  }
  EXPECT_EQ(delay, base * kMaxPurgeDelayFactor);
  // At the limit, purged once more and taken back at once: the delay stays.
  EXPECT_GT(round(delay + delay / 2 + 1), 0u);
  round(0);
  EXPECT_EQ(heap->purge_delay(), base * kMaxPurgeDelayFactor);
  // 1.6 base delays are well inside the delay now: nothing is purged...
  EXPECT_EQ(round(16), 0u);
  // ...not even a span that aged that long when a span freed next to it merges with it.
  void* first = allocate(200000);
  void* second = allocate(200000);
  void* guard = allocate(200000);
  std::memset(first, 1, 200000);
  std::memset(second, 1, 200000);
  std::vector<void*> fillers;  // fill the span cache, so the next frees reach the free spans
  for (int i = 0; i < 16; ++i)
    fillers.push_back(allocate(100000));
  for (void* filler : fillers)
    allocator.deallocate(filler);
  allocator.deallocate(first);
  manual_clock_now += 16;
  const uint64_t purges = allocator.stats().os.purges;
  allocator.deallocate(second);
  EXPECT_EQ(allocator.stats().os.purges, purges);
  allocator.deallocate(guard);
  // Quiet: no purged span taken early for many delays halves the delay back to the base.
  for (int i = 0; i < 20; ++i) {
    manual_clock_now += heap->purge_delay() * kPurgeDelayDecayDelays;
    slow_calls(kPurgeClockInterval);
  }
  EXPECT_EQ(heap->purge_delay(), base);
  EXPECT_TRUE(allocator.check().ok());
}

// Growing a large block in place over free slices that were purged takes them back like a new
// span would: their purged marks go (check() finds none on a dirty slice) and, soon after the
// purge, the delay doubles.
TEST(PurgeTest, GrowingABlockInPlaceOverPurgedSlicesTakesThemBack) {
  ManualClockHeap h(20000);
  Allocator& allocator = h.allocator;
  void* grown = h.allocate(100000);
  void* next = h.allocate(100000);
  void* guard = h.allocate(100000);
  std::memset(next, 1, 100000);
  allocator.deallocate(next);
  // Aged past the delay and purged (freed large spans wait in the span cache first; the purge
  // check flushes the aged ones to the free spans and purges them).
  const uint64_t purges = allocator.stats().os.purges;
  for (int i = 0; i < 4 && allocator.stats().os.purges == purges; ++i) {
    manual_clock_now += 20;
    h.slow_calls(kPurgeClockInterval * 2);
  }
  ASSERT_GT(allocator.stats().os.purges, purges);
  ASSERT_EQ(h.heap->purge_delay(), 10u);
  void* same = allocator.reallocate(grown, 180000);
  ASSERT_EQ(same, grown);  // grew in place over the purged slices
  EXPECT_TRUE(allocator.check().ok()) << allocator.check().message();
  EXPECT_EQ(h.heap->purge_delay(), 20u);
  allocator.deallocate(same);
  allocator.deallocate(guard);
}

TEST_F(AllocatorTest, ReallocateGrowsInPlaceWhenTheNextSlicesAreFree) {
  void* p = allocator.allocate(100000);
  std::memset(p, 0x5a, 100000);
  void* q = allocator.reallocate(p, 400000);
  EXPECT_EQ(q, p);
  EXPECT_GE(allocator.usable_size(q), 400000u);
  EXPECT_EQ(static_cast<unsigned char*>(q)[99999], 0x5a);
  void* r = allocator.reallocate(q, 300000);  // shrinking stays too
  EXPECT_EQ(r, q);
  allocator.deallocate(r);
}

// A block that grows past kSmallestSpanBlock leaves the class pages for a span, and from then on
// grows in place; a sized free names the size it was last given.
TEST_F(AllocatorTest, ReallocateMovesAGrowingBlockIntoASpanOnceThenGrowsItInPlace) {
  void* fresh = allocator.allocate(40000);
  EXPECT_LE(allocator.usable_size(fresh), 40000u + 40000u / 8);  // a class block
  void* p = allocator.allocate(20000);
  std::memset(p, 0x5a, 20000);
  void* moved = allocator.reallocate(p, 40000);
  ASSERT_NE(moved, nullptr);
  EXPECT_NE(moved, p);
  EXPECT_EQ(reinterpret_cast<uintptr_t>(moved) % kSliceSize, 0u);  // a span's first slice
  std::memset(static_cast<unsigned char*>(moved) + 20000, 0x6b, 20000);
  EXPECT_EQ(allocator.reallocate(moved, 60000), moved);
  EXPECT_EQ(allocator.reallocate(moved, 200000), moved);
  EXPECT_EQ(allocator.reallocate(moved, 50000), moved);
  EXPECT_EQ(static_cast<unsigned char*>(moved)[19999], 0x5a);
  EXPECT_EQ(static_cast<unsigned char*>(moved)[39999], 0x6b);
  EXPECT_TRUE(allocator.check().ok()) << allocator.check().message();
  EXPECT_EQ(allocator.deallocate_checked(moved, 20000).code(), ErrorCode::kInvalidArgument);
  EXPECT_TRUE(allocator.deallocate_checked(moved, 50000).ok());
  allocator.deallocate(fresh);
}

TEST_F(AllocatorTest, ReallocateFollowsTheCRules) {
  void* p = allocator.reallocate(nullptr, 50);
  ASSERT_NE(p, nullptr);
  std::memset(p, 3, 50);
  void* q = allocator.reallocate(p, 5000);
  ASSERT_NE(q, nullptr);
  EXPECT_EQ(static_cast<unsigned char*>(q)[49], 3);
  EXPECT_EQ(allocator.reallocate(q, 0), nullptr);  // frees, as glibc does
  EXPECT_EQ(allocator.stats().live.blocks, 0u);
  void* r = allocator.allocate(10);
  EXPECT_EQ(allocator.try_reallocate(r, SIZE_MAX).status().code(), ErrorCode::kOutOfMemory);
  EXPECT_EQ(allocator.usable_size(r), allocator.usable_size(r));
  allocator.deallocate(r);
}

TEST_F(AllocatorTest, FirstClassHeapsAreDestroyedWhole) {
  Heap* heap = allocator.create_heap();
  ASSERT_NE(heap, nullptr);
  std::vector<void*> blocks;
  for (int i = 0; i < 1000; ++i)
    blocks.push_back(allocator.heap_allocate(heap, 16 + i * 7).value());
  blocks.push_back(allocator.heap_allocate(heap, 6 << 20).value());
  void* mine = allocator.allocate(64);
  // Some of its blocks come back from another thread before the heap goes.
  std::thread([&] {
    for (int i = 0; i < 100; ++i)
      allocator.deallocate(blocks[i]);
  }).join();
  EXPECT_EQ(allocator.stats().live.blocks, blocks.size() - 100 + 1);
  allocator.destroy_heap(heap);
  EXPECT_EQ(allocator.stats().live.blocks, 1u);
  // A pointer into the destroyed heap is no longer ours.
  EXPECT_NE(allocator.deallocate_checked(blocks.back()).code(), ErrorCode::kOk);
  allocator.deallocate(mine);
}

TEST_F(AllocatorTest, AHeapAllocatesOnlyOnItsThread) {
  Heap* heap = allocator.create_heap();
  std::thread([&] {
    EXPECT_EQ(allocator.heap_allocate(heap, 64).status().code(), ErrorCode::kInvalidArgument);
  }).join();
  allocator.destroy_heap(heap);
}

TEST_F(AllocatorTest, ThreadsThatExitHandTheirBlocksOver) {
  std::vector<void*> left_behind;
  std::thread([&] {
    for (int i = 0; i < 5000; ++i)
      left_behind.push_back(allocator.allocate(i % 3 == 0 ? 70000 : 8 + i % 500));
  }).join();
  EXPECT_EQ(allocator.stats().abandoned_segments, allocator.stats().segments);
  EXPECT_EQ(allocator.stats().live.blocks, left_behind.size());
  ASSERT_TRUE(allocator.check().ok()) << allocator.check().message();
  for (void* p : left_behind)
    allocator.deallocate(p);
  allocator.collect(true);
  const Stats stats = allocator.stats();
  EXPECT_EQ(stats.live.blocks, 0u);
  EXPECT_EQ(stats.abandoned_segments, 0u);
}

// The thread that frees a block of an exited thread takes that thread's segment over, so its
// next allocations reuse the freed blocks where they are, from any thread (one that has not
// allocated yet gets its heap on that free).
TEST_F(AllocatorTest, FreeingAnExitedThreadsBlockAdoptsItsSegment) {
  for (bool freer_has_a_heap : {true, false}) {
    std::vector<void*> left_behind;
    std::thread([&] {
      for (int i = 0; i < 4; ++i)
        left_behind.push_back(allocator.allocate(64));
    }).join();
    Segment* segment = Segment::of(left_behind[0]);
    ASSERT_EQ(allocator.stats().abandoned_segments, 1u);
    std::thread([&] {
      void* own = freer_has_a_heap ? allocator.allocate(5000) : nullptr;
      allocator.deallocate(left_behind[0]);
      EXPECT_EQ(segment->owner_tid.load(), current_thread_id());
      EXPECT_EQ(allocator.stats().abandoned_segments, 0u);
      EXPECT_EQ(allocator.allocate(64), left_behind[0]);
      EXPECT_TRUE(allocator.check().ok()) << allocator.check().message();
      allocator.deallocate(own);
    }).join();
    for (void* p : left_behind)
      allocator.deallocate(p);
    allocator.collect(true);
    EXPECT_EQ(allocator.stats().live.blocks, 0u);
  }
}

TEST_F(AllocatorTest, ALiveBlockWalkSeesExactlyTheLiveBlocks) {
  std::set<void*> expected;
  for (int i = 0; i < 300; ++i)
    expected.insert(allocator.allocate(static_cast<size_t>(i) * 331));
  std::thread([&] { allocator.deallocate(*expected.begin()); }).join();  // on thread_free
  expected.erase(expected.begin());
  std::set<void*> walked;
  allocator.for_each_live_block([&](void* block, size_t usable) {
    walked.insert(block);
    EXPECT_GE(usable, 0u);
  });
  EXPECT_EQ(walked, expected);
  const Stats stats = allocator.stats();
  EXPECT_EQ(stats.live.blocks, expected.size());
  uint64_t per_class = stats.large.blocks;
  for (const BlockCounts& counts : stats.small)
    per_class += counts.blocks;
  EXPECT_EQ(per_class, expected.size());
  for (void* p : expected)
    allocator.deallocate(p);
}

TEST_F(AllocatorTest, MoreAllocatorsThanBindingSlotsOnOneThread) {
  std::vector<std::unique_ptr<Allocator>> many;
  std::vector<void*> blocks;
  for (int i = 0; i < 12; ++i) {
    many.push_back(std::make_unique<Allocator>());
    blocks.push_back(many.back()->allocate(100));
  }
  for (int i = 0; i < 12; ++i) {
    many[i]->deallocate(blocks[i]);
    many[i]->deallocate(many[i]->allocate(100));
    EXPECT_TRUE(many[i]->check().ok()) << i << ": " << many[i]->check().message();
    EXPECT_EQ(many[i]->stats().live.blocks, 0u);
  }
}

struct Tracked {
  explicit Tracked(int v) : value(v) {}
  int value;
  char payload[40];
};

TEST_F(AllocatorTest, ObjectPoolReusesTheLastFreedSlot) {
  ObjectPool<Tracked> pool(allocator, 8);
  std::vector<Tracked*> objects;
  for (int i = 0; i < 20; ++i)
    objects.push_back(pool.create(i));
  EXPECT_EQ(objects[19]->value, 19);
  pool.destroy(objects[5]);
  pool.destroy(objects[7]);
  EXPECT_EQ(pool.create(100), objects[7]);
  EXPECT_EQ(pool.create(101), objects[5]);
  EXPECT_EQ(pool.live(), 20u);
  EXPECT_TRUE(pool.check().ok());
  size_t chunks = 0;
  pool.for_each_chunk([&](const void*, size_t) { ++chunks; });
  EXPECT_EQ(chunks, 3u);
}

TEST_F(AllocatorTest, SharedObjectPoolAcrossThreads) {
  SharedObjectPool<Tracked> pool(allocator, 32);
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      std::vector<Tracked*> mine;
      for (int i = 0; i < 2000; ++i) {
        mine.push_back(pool.create(t));
        if (i % 3 == 0) {
          EXPECT_EQ(mine.back()->value, t);
          pool.destroy(mine.back());
          mine.pop_back();
        }
      }
      for (Tracked* object : mine)
        pool.destroy(object);
    });
  }
  for (std::thread& thread : threads)
    thread.join();
  EXPECT_EQ(pool.live(), 0u);
  EXPECT_TRUE(pool.check().ok());
}

#ifdef VMMEM_ASAN
TEST(AllocatorAsanDeathTest, UseAfterFreeIsReportedByAsan) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  EXPECT_DEATH(
      {
        Allocator allocator;
        auto* p = static_cast<volatile char*>(allocator.allocate(64));
        allocator.deallocate(const_cast<char*>(p));
        p[3] = 1;
      },
      "use-after-poison");
}

TEST(AllocatorAsanDeathTest, OverflowIntoTheBlockTailIsReportedByAsan) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  EXPECT_DEATH(
      {
        Allocator allocator;
        auto* p = static_cast<volatile char*>(allocator.allocate(20));  // a 32-byte block
        p[20] = 1;
      },
      "use-after-poison");
}

TEST(AllocatorAsanDeathTest, UseOfAFreedLargeBlockIsReportedByAsan) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  EXPECT_DEATH(
      {
        Allocator allocator;
        auto* p = static_cast<volatile char*>(allocator.allocate(300000));
        allocator.deallocate(const_cast<char*>(p));
        p[200000] = 1;
      },
      "use-after-poison");
}

TEST(AllocatorAsanTest, FreshMappingsAreNotPoisonedByEarlierOnes) {
  // ASan keeps shadow across munmap; the OS layer must clear it for a new mapping.
  for (int i = 0; i < 20; ++i) {
    Allocator allocator;
    auto* p = static_cast<char*>(allocator.allocate(3 << 20));
    std::memset(p, 1, 3 << 20);
    allocator.deallocate(p);
  }
}

TEST(AllocatorAsanTest, UnmappedMemoryIsLeftUnpoisonedForWhoeverMapsItNext) {
  // Not only the allocator maps memory: a thread's stack may land where a segment was.
  OsMemory os;
  constexpr size_t kSize = 4 << 20;
  auto* p = static_cast<char*>(os.map_aligned(kSize, kSize));
  ASSERT_NE(p, nullptr);
  ASAN_POISON_MEMORY_REGION(p + 4096, 8192);
  ASSERT_TRUE(os.unmap(p, kSize));
  EXPECT_FALSE(__asan_address_is_poisoned(p + 4096));
  EXPECT_FALSE(__asan_address_is_poisoned(p + 12287));
}
#endif

// fork() while other threads hold blocks: the child frees those blocks (their threads do not
// exist there), allocates, and finds the allocator consistent with only its own heap in use.
TEST(AllocatorForkTest, ChildFreesBlocksOfThreadsItDoesNotHave) {
  Allocator allocator;
  constexpr int kThreads = 3;
  std::vector<void*> blocks[kThreads];
  std::atomic<int> ready{0};
  std::atomic<bool> release{false};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (size_t i = 0; i < 300; ++i)
        blocks[t].push_back(allocator.allocate(i % 7 == 0 ? 40000 + i : 16 + i * 8));
      ready.fetch_add(1);
      while (!release.load())
        std::this_thread::yield();
    });
  }
  while (ready.load() != kThreads)
    std::this_thread::yield();

  allocator.prepare_fork();
  const pid_t pid = fork();
  ASSERT_NE(pid, -1);
  if (pid == 0) {
    allocator.after_fork_child();
    int failures = 0;
    for (auto& list : blocks) {
      for (void* block : list)
        failures += allocator.deallocate_checked(block).ok() ? 0 : 1;
    }
    std::vector<void*> own;
    for (size_t i = 0; i < 500; ++i)
      own.push_back(allocator.allocate(8 + i * 24));
    allocator.collect();
    const Stats stats = allocator.stats();
    if (stats.heaps != 1 || stats.live.blocks != own.size()) ++failures;
    if (!allocator.check().ok()) ++failures;
    for (void* block : own)
      allocator.deallocate(block);
    if (!allocator.check().ok()) ++failures;
    _exit(failures == 0 ? 0 : 1);
  }
  allocator.after_fork_parent();
  release.store(true);
  for (auto& thread : threads)
    thread.join();
  int status = 0;
  ASSERT_EQ(waitpid(pid, &status, 0), pid);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << "child status " << status;
  for (auto& list : blocks) {
    for (void* block : list)
      allocator.deallocate(block);
  }
  const Status status_after = allocator.check();
  EXPECT_TRUE(status_after.ok()) << status_after.message();
}

// A purge clock that parks one chosen thread: that thread reads it from inside a heap slow
// path, so a fork while it is parked copies its heap in the middle of a change.
std::atomic<uintptr_t> parking_thread{0};
std::atomic<bool> parked{false};
std::atomic<bool> unpark{false};
uint64_t parking_clock() {
  if (current_thread_id() == parking_thread.load()) {
    parked.store(true);
    while (!unpark.load())
      std::this_thread::yield();
  }
  return 0;
}

// fork() while a thread is stopped inside a slow path: the child cannot trust that thread's
// heap, orphans it, and still frees its blocks, allocates and passes check().
TEST(AllocatorForkTest, AHeapStoppedMidChangeIsOrphanedInTheChild) {
  Options options;
  options.purge = PurgePolicy::kDelayed;
  options.purge_clock = parking_clock;
  Allocator allocator(options);
  std::vector<void*> held;
  std::thread worker([&] {
    for (size_t i = 0; i < 200; ++i)
      held.push_back(allocator.allocate(i % 3 == 0 ? 100000 : 24 + i));
    parked.store(false);
    parking_thread.store(current_thread_id());
    // Slow-path calls until one reads the clock and parks there.
    for (size_t i = 0; !parked.load(); ++i)
      allocator.deallocate(allocator.allocate(70000 + (i % 9) * 65536));
  });
  while (!parked.load())
    std::this_thread::yield();

  allocator.prepare_fork();
  const pid_t pid = fork();
  ASSERT_NE(pid, -1);
  if (pid == 0) {
    alarm(20);
    allocator.after_fork_child();
    int failures = 0;
    for (void* block : held)
      failures += allocator.deallocate_checked(block).ok() ? 0 : 1;
    std::vector<void*> own;
    for (size_t i = 0; i < 500; ++i)
      own.push_back(allocator.allocate(i % 5 == 0 ? 90000 : 8 + i * 24));
    const Stats stats = allocator.stats();
    if (stats.orphaned_segments == 0 || stats.live.blocks != own.size()) failures += 100;
    if (!allocator.check().ok()) failures += 1000;
    for (void* block : own)
      allocator.deallocate(block);
    if (!allocator.check().ok()) failures += 1000;
    _exit(failures == 0 ? 0 : 1);
  }
  allocator.after_fork_parent();
  unpark.store(true);
  worker.join();
  parking_thread.store(0);
  int status = 0;
  ASSERT_EQ(waitpid(pid, &status, 0), pid);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << "child status " << status;
  for (void* block : held)
    allocator.deallocate(block);
  const Status after = allocator.check();
  EXPECT_TRUE(after.ok()) << after.message();
}

// Forks land wherever threads that allocate and free blocks of every size happen to be; every
// child must free their blocks, allocate, pass check() and exit (a half-walked list would hang
// it: the alarm turns that into a failure).
void fork_amid_busy_threads(Options options) {
  Allocator allocator(options);
  constexpr int kThreads = 3;
  std::atomic<bool> stop{false};
  std::vector<void*> held[kThreads];
  std::atomic<int> ready{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (size_t i = 0; i < 64; ++i)
        held[t].push_back(allocator.allocate(16 + i * 40));
      ready.fetch_add(1);
      std::vector<void*> mine;
      for (size_t i = 0; !stop.load(std::memory_order_relaxed); ++i) {
        const size_t size = i % 11 == 0 ? 40000 + (i % 13) * 30000 : 16 + (i * 37) % 3000;
        mine.push_back(allocator.allocate(size));
        if (mine.size() > 300) {
          for (void* p : mine)
            allocator.deallocate(p);
          mine.clear();
          if (i % 7 == 0) allocator.collect(i % 2 == 0);
        }
      }
      for (void* p : mine)
        allocator.deallocate(p);
    });
  }
  while (ready.load() != kThreads)
    std::this_thread::yield();
  int failed_children = 0;
  for (int round = 0; round < 60; ++round) {
    allocator.prepare_fork();
    const pid_t pid = fork();
    if (pid == 0) {
      alarm(20);
      allocator.after_fork_child();
      // The child calls no malloc: a thread it does not have may have held the malloc's lock
      // (clang 14's ASan allocator, for one, is not fork-safe), and what went wrong goes to
      // stderr by write(2).
      auto fail = [](const char* step, Status status) {
        char line[256];
        const int n =
            std::snprintf(line, sizeof line, "fork child: %s: %s (address %#llx)\n", step,
                          status.what(), static_cast<unsigned long long>(status.address()));
        [[maybe_unused]] const ssize_t written = write(2, line, static_cast<size_t>(n));
        _exit(1);
      };
      for (auto& list : held) {
        for (void* block : list) {
          if (Status s = allocator.deallocate_checked(block); !s.ok())
            fail("freeing a held block", s);
        }
      }
      std::array<void*, 300> own;
      for (size_t i = 0; i < own.size(); ++i)
        own[i] = allocator.allocate(i % 9 == 0 ? 70000 : 8 + i * 16);
      if (Status s = allocator.check(); !s.ok()) fail("check after allocating", s);
      for (void* block : own)
        allocator.deallocate(block);
      allocator.collect(true);
      if (Status s = allocator.check(); !s.ok()) fail("check after collect", s);
      _exit(0);
    }
    allocator.after_fork_parent();
    ASSERT_NE(pid, -1);
    int status = 0;
    ASSERT_EQ(waitpid(pid, &status, 0), pid);
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
      ++failed_children;
      ADD_FAILURE() << "child of round " << round << ": "
                    << (WIFSIGNALED(status) ? "signal " + std::to_string(WTERMSIG(status))
                                            : "exit " + std::to_string(WEXITSTATUS(status)));
    }
  }
  stop.store(true);
  for (auto& thread : threads)
    thread.join();
  EXPECT_EQ(failed_children, 0);
  for (auto& list : held) {
    for (void* block : list)
      allocator.deallocate(block);
  }
  const Status after = allocator.check();
  EXPECT_TRUE(after.ok()) << after.message();
}

TEST(AllocatorForkTest, ForksAmidBusyThreadsLeaveAWorkingChild) {
  fork_amid_busy_threads(Options{});
}

// Hardened allocation and free have paths of their own, and a fork that lands inside one must
// not leave a block's granule bit and its page's accounting out of step.
TEST(AllocatorForkTest, ForksAmidBusyHardenedThreadsLeaveAWorkingChild) {
  Options options;
  options.hardened = true;
  fork_amid_busy_threads(options);
}

}  // namespace
}  // namespace vmmem::alloc
