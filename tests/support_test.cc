#include <gtest/gtest.h>

#include <set>
#include <string>

#include "support/bits.h"
#include "support/byte_source.h"
#include "support/rng.h"
#include "support/status.h"

namespace vmmem {
namespace {

TEST(ByteSource, ExhaustedInputReadsAsZeros) {
  const uint8_t bytes[] = {0x01, 0x02, 0x03};
  ByteSource source(bytes);
  EXPECT_EQ(source.u16(), 0x0201);
  EXPECT_EQ(source.u32(), 0x03u);  // one real byte, three zeros
  EXPECT_TRUE(source.exhausted());
  EXPECT_EQ(source.u64(), 0u);
  EXPECT_EQ(source.u8(), 0u);
}

TEST(ByteSource, BelowConsumesTheWidthOfItsBound) {
  EXPECT_EQ(width_for(0), 0u);
  EXPECT_EQ(width_for(1), 0u);
  EXPECT_EQ(width_for(2), 1u);
  EXPECT_EQ(width_for(256), 1u);
  EXPECT_EQ(width_for(257), 2u);
  EXPECT_EQ(width_for(UINT64_MAX), 8u);
  const uint8_t bytes[] = {0xff, 0x01, 0x00};
  ByteSource source(bytes);
  EXPECT_EQ(source.below(10), 0xffu % 10);
  EXPECT_EQ(source.below(1000), 1u);  // reads 0x01, 0x00: little-endian 0x0001
  EXPECT_EQ(source.below(1), 0u);     // consumes nothing
}

TEST(ByteSink, RoundTripsThroughByteSource) {
  ByteSink sink;
  sink.u8(0xab);
  sink.u16(0xbeef);
  sink.u32(0xdeadbeef);
  sink.u64(0x0123456789abcdefULL);
  sink.below(999, 1000);
  sink.boolean(true);
  const std::vector<uint8_t> bytes = std::move(sink).take();
  ByteSource source(bytes);
  EXPECT_EQ(source.u8(), 0xab);
  EXPECT_EQ(source.u16(), 0xbeef);
  EXPECT_EQ(source.u32(), 0xdeadbeefu);
  EXPECT_EQ(source.u64(), 0x0123456789abcdefULL);
  EXPECT_EQ(source.below(1000), 999u);
  EXPECT_TRUE(source.boolean());
  EXPECT_TRUE(source.exhausted());
}

TEST(Rng, IsReproducibleAndStaysInBounds) {
  Rng a(7), b(7), c(8);
  EXPECT_EQ(a.next(), b.next());
  EXPECT_NE(a.next(), c.next());
  std::set<uint64_t> seen;
  for (int i = 0; i < 1000; ++i) {
    const uint64_t v = a.below(10);
    ASSERT_LT(v, 10u);
    seen.insert(v);
    const uint64_t w = a.between(5, 7);
    ASSERT_GE(w, 5u);
    ASSERT_LE(w, 7u);
  }
  EXPECT_EQ(seen.size(), 10u);
  EXPECT_NE(a.between(0, UINT64_MAX), a.between(0, UINT64_MAX));  // full range works
}

TEST(Bits, CheckedArithmeticRefusesToWrap) {
  EXPECT_EQ(checked_add(UINT64_MAX - 1, 1), UINT64_MAX);
  EXPECT_EQ(checked_add(UINT64_MAX, 1), std::nullopt);
  EXPECT_EQ(last_byte(UINT64_MAX, 1), UINT64_MAX);
  EXPECT_EQ(last_byte(UINT64_MAX, 2), std::nullopt);
  EXPECT_EQ(last_byte(5, 0), std::nullopt);
  EXPECT_EQ(align_up(4097, 4096), 8192u);
  EXPECT_EQ(align_up(UINT64_MAX, 4096), std::nullopt);
  EXPECT_EQ(align_down(8191, 4096), 4096u);
  EXPECT_TRUE(is_pow2(4096));
  EXPECT_FALSE(is_pow2(0));
  EXPECT_EQ(byteswap(uint32_t{0x11223344}), 0x44332211u);
}

TEST(Status, MessageNamesTheProblemAndTheValues) {
  const Status status =
      Status::error(ErrorCode::kUnmapped, "no region backs the access", 0x1000, 8);
  EXPECT_FALSE(status.ok());
  EXPECT_EQ(status.message(), "unmapped: no region backs the access (address 0x1000, size 8)");
  EXPECT_EQ(Status().message(), "ok");
}

TEST(Status, FormatWritesTheMessageCutShortToTheBuffer) {
  const Status status =
      Status::error(ErrorCode::kUnmapped, "no region backs the access", 0x1000, 8);
  const std::string whole = status.message();
  char text[Status::kMessageCapacity];
  EXPECT_EQ(status.format(text, sizeof text), whole.size());
  EXPECT_EQ(std::string(text), whole);
  char short_text[9];
  EXPECT_EQ(status.format(short_text, sizeof short_text), whole.size());
  EXPECT_EQ(std::string(short_text), "unmapped");
}

TEST(Result, HoldsAValueOrAnError) {
  Result<int> good(5);
  ASSERT_TRUE(good.ok());
  EXPECT_EQ(good.value(), 5);
  Result<int> bad(Status::error(ErrorCode::kNotFound, "missing"));
  EXPECT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().code(), ErrorCode::kNotFound);
  EXPECT_EQ(bad.value_or(9), 9);
  EXPECT_DEATH((void)bad.value(), "value\\(\\) of a failed Result");
}

}  // namespace
}  // namespace vmmem
