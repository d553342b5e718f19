// What the allocator workloads share: argument parsing and a fast deterministic generator.
// Each workload is a plain program using malloc/free (or new/delete): the allocator under test
// is whichever one LD_PRELOAD brings (./suite bench --against). Each prints a checksum that
// does not depend on addresses, so runs under different allocators can be compared.
#pragma once

#include <cstdint>
#include <cstdio>
#include <cstdlib>

namespace vmmem::workloads {

// argv[index] as a positive count, or `fallback` when absent.
inline uint64_t count_arg(int argc, char** argv, int index, uint64_t fallback) {
  if (argc <= index) return fallback;
  char* end = nullptr;
  const unsigned long long value = std::strtoull(argv[index], &end, 10);
  if (end == argv[index] || *end != '\0' || value == 0) {
    std::fprintf(stderr, "%s: argument %d must be a positive integer, not '%s'\n", argv[0], index,
                 argv[index]);
    std::exit(2);
  }
  return value;
}

// xorshift64*: cheap enough not to dominate an allocation loop.
class Random {
 public:
  explicit Random(uint64_t seed) : state_(seed * 0x9E3779B97F4A7C15ull + 1) {}
  uint64_t next() {
    state_ ^= state_ >> 12;
    state_ ^= state_ << 25;
    state_ ^= state_ >> 27;
    return state_ * 0x2545F4914F6CDD1Dull;
  }
  uint64_t below(uint64_t bound) { return next() % bound; }

 private:
  uint64_t state_;
};

// Sizes as programs ask for them: mostly small, a tail of medium, rarely large.
inline size_t mixed_size(Random& random) {
  const uint64_t pick = random.below(1000);
  if (pick < 800) return 8 + random.below(248);
  if (pick < 980) return 256 + random.below(3840);
  if (pick < 998) return 4096 + random.below(60000);
  return 65536 + random.below(400000);
}

}  // namespace vmmem::workloads
