// Unit tests of the drop-in's C allocation surface (shim/c_api.h), called directly over an
// Allocator with the options libvmmem_malloc.so runs under, without LD_PRELOAD: every rule the
// header states, by name. tests/shim/shim_semantics.cc checks the same contracts through the
// preloaded library, together with what only a whole process shows (fork, thread exit,
// allocation before main).
#include <gtest/gtest.h>

#include <cerrno>
#include <cstdint>
#include <cstring>

#include "alloc/allocator.h"
#include "shim/c_api.h"
#include "shim/shim_options.h"

namespace vmmem::shim {
namespace {

namespace c = c_api;

bool aligned(const void* p, size_t alignment) {
  return reinterpret_cast<uintptr_t>(p) % alignment == 0;
}

class ShimTest : public ::testing::Test {
 protected:
  static alloc::Options options(ShimTest* test) {
    alloc::Options out = allocator_options(ShimOptions{});
    out.report = [](const Status&, void* context) { ++static_cast<ShimTest*>(context)->reports; };
    out.report_context = test;
    return out;
  }
  void TearDown() override { EXPECT_TRUE(allocator.check().ok()) << allocator.check().message(); }

  // realloc's `report`: counts what the allocator says about a pointer it does not own.
  auto reporter() {
    return [this](const Status&) { ++realloc_reports; };
  }

  uint64_t reports = 0;
  uint64_t realloc_reports = 0;
  alloc::Allocator allocator{options(this)};
};

constexpr size_t kHuge = SIZE_MAX - 4096;

TEST_F(ShimTest, OutOfMemoryIsNullWithEnomemAndSuccessLeavesErrno) {
  errno = 0;
  EXPECT_EQ(c::malloc(allocator, kHuge), nullptr);
  EXPECT_EQ(errno, ENOMEM);
  errno = EDOM;
  void* p = c::malloc(allocator, 100);
  ASSERT_NE(p, nullptr);
  EXPECT_EQ(errno, EDOM);
  c::free(allocator, p);
  EXPECT_EQ(errno, EDOM);
  c::free(allocator, nullptr);
}

TEST_F(ShimTest, CallocZeroesReusedMemoryAndRefusesAnOverflowingProduct) {
  auto* dirty = static_cast<unsigned char*>(c::malloc(allocator, 256));
  ASSERT_NE(dirty, nullptr);
  std::memset(dirty, 0xab, 256);
  c::free(allocator, dirty);
  auto* zeroed = static_cast<unsigned char*>(c::calloc(allocator, 16, 16));
  ASSERT_NE(zeroed, nullptr);
  for (size_t i = 0; i < 256; ++i)
    ASSERT_EQ(zeroed[i], 0) << i;
  c::free(allocator, zeroed);
  errno = 0;
  // count * size is 2^64 + 16: wrapped, it would ask for 16 bytes.
  EXPECT_EQ(c::calloc(allocator, SIZE_MAX / 16 + 2, 16), nullptr);
  EXPECT_EQ(errno, ENOMEM);
}

TEST_F(ShimTest, ReallocOfNullIsMallocToZeroFreesAndAFailureKeepsTheBlock) {
  auto* p = static_cast<char*>(c::realloc(allocator, nullptr, 40, reporter()));
  ASSERT_NE(p, nullptr);
  std::memcpy(p, "forty bytes of data that must survive!!", 40);
  errno = 0;
  EXPECT_EQ(c::realloc(allocator, p, kHuge, reporter()), nullptr);
  EXPECT_EQ(errno, ENOMEM);
  EXPECT_EQ(std::memcmp(p, "forty bytes", 11), 0);
  auto* grown = static_cast<char*>(c::realloc(allocator, p, 100000, reporter()));
  ASSERT_NE(grown, nullptr);
  EXPECT_EQ(std::memcmp(grown, "forty bytes of data that must survive!!", 40), 0);
  EXPECT_EQ(c::realloc(allocator, grown, 0, reporter()), nullptr);
  EXPECT_EQ(realloc_reports, 0u);
  errno = 0;
  EXPECT_EQ(c::reallocarray(allocator, nullptr, SIZE_MAX / 16 + 2, 16, reporter()), nullptr);
  EXPECT_EQ(errno, ENOMEM);
}

TEST_F(ShimTest, PosixMemalignRefusesBadAlignmentsWithoutTouchingOutOrErrno) {
  void* out = &reports;
  errno = EDOM;
  for (const size_t bad : {size_t{0}, size_t{4}, size_t{24}, size_t{48}, size_t{4097}}) {
    EXPECT_EQ(c::posix_memalign(allocator, &out, bad, 64), EINVAL) << bad;
    EXPECT_EQ(out, &reports);
  }
  EXPECT_EQ(c::posix_memalign(allocator, &out, size_t{4} << 20, 64), ENOMEM) << "above 2 MiB";
  EXPECT_EQ(out, &reports);
  EXPECT_EQ(errno, EDOM);
  for (const size_t alignment : {size_t{8}, size_t{64}, size_t{4096}, size_t{2} << 20}) {
    ASSERT_EQ(c::posix_memalign(allocator, &out, alignment, 100), 0) << alignment;
    EXPECT_TRUE(aligned(out, alignment)) << alignment;
    EXPECT_GE(c::malloc_usable_size(allocator, out), 100u);
    c::free(allocator, out);
  }
}

TEST_F(ShimTest, AlignedAllocRefusesNonPowersOfTwoAndMemalignRoundsThemUp) {
  errno = 0;
  EXPECT_EQ(c::aligned_alloc(allocator, 48, 96), nullptr);
  EXPECT_EQ(errno, EINVAL);
  void* p = c::aligned_alloc(allocator, 256, 512);
  ASSERT_NE(p, nullptr);
  EXPECT_TRUE(aligned(p, 256));
  c::free(allocator, p);
  // 48 is rounded up to 64 (an alignment of 48 itself would be refused with EINVAL).
  errno = 0;
  p = c::memalign(allocator, 48, 96);
  ASSERT_NE(p, nullptr) << errno;
  EXPECT_TRUE(aligned(p, 64));
  c::free(allocator, p);
  p = c::memalign(allocator, 3000, 8);  // up to 4096
  ASSERT_NE(p, nullptr);
  EXPECT_TRUE(aligned(p, 4096));
  c::free(allocator, p);
  errno = 0;
  EXPECT_EQ(c::memalign(allocator, (SIZE_MAX >> 1) + 2, 8), nullptr);
  EXPECT_EQ(errno, EINVAL);
}

TEST_F(ShimTest, VallocAndPvallocArePageAlignedAndPvallocRoundsToPages) {
  constexpr size_t kPage = 4096;
  void* v = c::valloc(allocator, 10, kPage);
  ASSERT_NE(v, nullptr);
  EXPECT_TRUE(aligned(v, kPage));
  void* pv = c::pvalloc(allocator, 0, kPage);
  ASSERT_NE(pv, nullptr);
  EXPECT_TRUE(aligned(pv, kPage));
  EXPECT_GE(c::malloc_usable_size(allocator, pv), kPage);
  c::free(allocator, v);
  c::free(allocator, pv);
  errno = 0;
  EXPECT_EQ(c::pvalloc(allocator, SIZE_MAX - 10, kPage), nullptr);
  EXPECT_EQ(errno, ENOMEM);
}

TEST_F(ShimTest, APointerTheAllocatorNeverReturnedIsReportedNeverFollowed) {
  alignas(16) static unsigned char outside[64];
  c::free(allocator, outside);
  EXPECT_EQ(reports, 1u);
  errno = 0;
  EXPECT_EQ(c::realloc(allocator, outside, 128, reporter()), nullptr);
  EXPECT_EQ(errno, ENOMEM);
  EXPECT_EQ(realloc_reports, 1u);
  // An interior pointer of a live block is not a block either.
  auto* block = static_cast<unsigned char*>(c::malloc(allocator, 64));
  ASSERT_NE(block, nullptr);
  EXPECT_EQ(c::realloc(allocator, block + 16, 128, reporter()), nullptr);
  EXPECT_EQ(realloc_reports, 2u);
  c::free(allocator, block);
}

TEST_F(ShimTest, MallocTrimGivesFreeMemoryBackAndSaysSo) {
  void* big = c::malloc(allocator, 8 << 20);
  ASSERT_NE(big, nullptr);
  std::memset(big, 1, 8 << 20);
  c::free(allocator, big);
  EXPECT_EQ(c::malloc_trim(allocator), 1);
  void* again = c::malloc(allocator, 100);
  ASSERT_NE(again, nullptr);
  c::free(allocator, again);
}

}  // namespace
}  // namespace vmmem::shim
