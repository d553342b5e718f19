// VMMEM_MALLOC parsing: every accepted word, defaults, and a clear error for anything else.
#include "shim/shim_options.h"

#include <gtest/gtest.h>

#include <ctime>
#include <string>

namespace vmmem::shim {
namespace {

struct Parsed {
  bool ok;
  ShimOptions options;
  std::string error;
};

Parsed parse(const char* text) {
  Parsed parsed{};
  char error[512];
  parsed.ok = parse_shim_options(text, &parsed.options, error, sizeof error);
  parsed.error = error;
  return parsed;
}

TEST(ShimOptionsTest, UnsetAndEmptyAreTheDefaults) {
  for (const char* text : {static_cast<const char*>(nullptr), "", ",", ",,"}) {
    const Parsed parsed = parse(text);
    EXPECT_TRUE(parsed.ok);
    EXPECT_FALSE(parsed.options.hardened);
    EXPECT_FALSE(parsed.options.stats);
    EXPECT_EQ(parsed.options.purge, alloc::PurgePolicy::kDelayed);
    EXPECT_EQ(parsed.options.purge_delay, 10u);
    EXPECT_EQ(parsed.error, "");
  }
}

TEST(ShimOptionsTest, EveryWordIsAccepted) {
  const Parsed parsed = parse("hardened,stats,purge=never,purge_delay=17");
  ASSERT_TRUE(parsed.ok) << parsed.error;
  EXPECT_TRUE(parsed.options.hardened);
  EXPECT_TRUE(parsed.options.stats);
  EXPECT_EQ(parsed.options.purge, alloc::PurgePolicy::kNever);
  EXPECT_EQ(parsed.options.purge_delay, 17u);
  EXPECT_EQ(parse("purge=eager").options.purge, alloc::PurgePolicy::kEager);
  EXPECT_EQ(parse("purge=never,purge=delayed").options.purge, alloc::PurgePolicy::kDelayed);
  const alloc::Options allocator = allocator_options(parsed.options);
  EXPECT_TRUE(allocator.hardened);
  EXPECT_EQ(allocator.purge, alloc::PurgePolicy::kNever);
  EXPECT_EQ(allocator.purge_delay, 17u);
  EXPECT_EQ(allocator.purge_clock, &purge_clock_milliseconds);
}

TEST(ShimOptionsTest, ThePurgeClockCountsMillisecondsForward) {
  const uint64_t before = purge_clock_milliseconds();
  timespec pause{0, 30'000'000};
  nanosleep(&pause, nullptr);
  const uint64_t after = purge_clock_milliseconds();
  EXPECT_GE(after, before + 20);  // 30 ms less the coarse clock's resolution (at most 10 ms)
  EXPECT_LT(after, before + 60'000);
}

TEST(ShimOptionsTest, ABadWordIsNamedInTheError) {
  for (const char* text : {"hardend", "stats,purge=soon", "purge_delay=", "purge_delay=12x",
                           "purge_delay=9999999999", "=", "hardened=1", " hardened"}) {
    const Parsed parsed = parse(text);
    EXPECT_FALSE(parsed.ok) << text;
    EXPECT_NE(parsed.error.find("VMMEM_MALLOC: bad option"), std::string::npos) << parsed.error;
    EXPECT_NE(parsed.error.find("accepted:"), std::string::npos) << parsed.error;
  }
  EXPECT_NE(parse("stats,purge=soon").error.find("'purge=soon'"), std::string::npos);
}

TEST(ShimOptionsTest, AnErrorNeverOverrunsItsBuffer) {
  ShimOptions options;
  char error[8];
  EXPECT_FALSE(parse_shim_options("a-long-bad-option", &options, error, sizeof error));
  EXPECT_EQ(std::string(error).size(), 7u);
}

}  // namespace
}  // namespace vmmem::shim
