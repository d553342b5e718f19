#include "scenario/shim/profiles.h"

#include <array>

namespace vmmem::scenario::shim {
namespace {

constexpr std::array<uint64_t, 12> kSmallSizes = {8,   16,  24,  32,  48,  64,
                                                  100, 128, 200, 256, 512, 1000};
constexpr std::array<uint64_t, 9> kGoodAlignments = {8, 16, 32, 64, 128, 256, 4096, 65536, 1 << 21};
constexpr std::array<uint64_t, 8> kBadAlignments = {
    0, 3, 12, 24, 100, (1 << 21) + 1, 1 << 22, ~uint64_t{0}};

// Builds an op stream and tracks how many blocks are live, so slots name real blocks.
class Stream {
 public:
  Stream(Rng& rng, size_t count) : rng_(rng), count_(count) {}
  bool full() const { return ops_.size() >= count_; }
  size_t live() const { return live_; }
  void allocate(AllocCall call, uint64_t size, uint64_t extra = 0) {
    push(Allocate{call, size, extra});
    ++live_;
  }
  // An op that must fail (gives no block).
  void refused(Op op) { push(op); }
  void realloc_any(uint64_t size) {
    if (live_ == 0) return allocate(AllocCall::kMalloc, size);
    push(Realloc{slot(), false, false, size, 0});
  }
  void fill_any() {
    if (live_ == 0) return;
    const uint16_t target = slot();
    push(Fill{target, static_cast<uint8_t>(1 + rng_.below(255))});
  }
  void free_any() {
    if (live_ == 0) return;
    push(Free{slot(), false});
    --live_;
  }
  void push(Op op) { ops_.push_back(op); }
  uint16_t slot() { return static_cast<uint16_t>(rng_.below(live_)); }
  std::vector<Op> take() { return std::move(ops_); }

 private:
  Rng& rng_;
  size_t count_;
  size_t live_ = 0;
  std::vector<Op> ops_;
};

uint64_t small_size(Rng& rng) {
  return kSmallSizes[rng.below(kSmallSizes.size())];
}

// 1 KiB .. 1 MiB, log-uniform.
uint64_t kib_to_mib(Rng& rng) {
  const uint64_t base = uint64_t{1024} << rng.below(11);
  return base + rng.below(base);
}

// Every call of the C surface, with fills, frees and reallocations between them.
std::vector<Op> c_mix(Rng& rng, size_t count) {
  Stream s(rng, count);
  while (!s.full()) {
    const uint64_t pick = rng.below(10);
    const uint64_t size = rng.percent(80) ? small_size(rng) : kib_to_mib(rng);
    if (s.live() > 24 || pick == 0) {
      s.free_any();
    } else if (pick == 1) {
      const uint64_t n = 1 + rng.below(16);
      s.allocate(AllocCall::kCalloc, size / n + 1, n);
    } else if (pick == 2) {
      const uint64_t alignment = kGoodAlignments[rng.below(kGoodAlignments.size())];
      const auto call =
          static_cast<AllocCall>(static_cast<uint8_t>(AllocCall::kPosixMemalign) + rng.below(3));
      s.allocate(call, size, alignment);
    } else if (pick == 3) {
      s.allocate(rng.percent(50) ? AllocCall::kValloc : AllocCall::kPvalloc, size);
    } else if (pick == 4) {
      s.realloc_any(size);
    } else if (pick == 5) {
      s.fill_any();
    } else if (pick == 6 && s.live() > 0) {
      s.push(UsableSize{s.slot()});
    } else {
      s.allocate(AllocCall::kMalloc, size);
    }
  }
  return s.take();
}

// Blocks grown and shrunk by realloc and reallocarray with their contents checked on the way.
std::vector<Op> realloc_chains(Rng& rng, size_t count) {
  Stream s(rng, count);
  while (!s.full()) {
    if (s.live() < 4) {
      s.allocate(AllocCall::kMalloc, small_size(rng));
      s.fill_any();
      continue;
    }
    const uint64_t pick = rng.below(8);
    if (pick < 4) {
      s.realloc_any(rng.percent(70) ? kib_to_mib(rng) : small_size(rng));
    } else if (pick == 4) {
      const uint64_t n = 1 + rng.below(64);
      s.push(Realloc{s.slot(), false, true, 1 + rng.below(4096), n});
    } else if (pick == 5) {
      s.fill_any();
    } else if (pick == 6) {
      s.push(Realloc{s.slot(), false, false, 0, 0});  // frees the block
      s.free_any();
      s.allocate(AllocCall::kMalloc, small_size(rng));
    } else {
      s.push(Realloc{0, true, false, small_size(rng), 0});
      s.free_any();
      s.allocate(AllocCall::kMalloc, small_size(rng));
    }
  }
  return s.take();
}

// posix_memalign, aligned_alloc and memalign with good alignments and refused ones.
std::vector<Op> alignments(Rng& rng, size_t count) {
  Stream s(rng, count);
  while (!s.full()) {
    const auto call =
        static_cast<AllocCall>(static_cast<uint8_t>(AllocCall::kPosixMemalign) + rng.below(3));
    if (rng.percent(70)) {
      const uint64_t alignment = kGoodAlignments[rng.below(kGoodAlignments.size())];
      s.allocate(call, rng.percent(50) ? small_size(rng) : kib_to_mib(rng), alignment);
      s.fill_any();
    } else {
      const uint64_t alignment = kBadAlignments[rng.below(kBadAlignments.size())];
      s.refused(Allocate{call, small_size(rng), alignment});
    }
    if (s.live() > 16) s.free_any();
  }
  return s.take();
}

// Size computations that must refuse to overflow, and sizes no allocator can give.
std::vector<Op> overflow_edges(Rng& rng, size_t count) {
  constexpr uint64_t kTop = ~uint64_t{0};
  Stream s(rng, count);
  while (!s.full()) {
    switch (rng.below(6)) {
      case 0:
        s.refused(Allocate{AllocCall::kCalloc, uint64_t{1} << 32, (uint64_t{1} << 32) + 1});
        break;
      case 1:
        s.refused(Allocate{AllocCall::kPvalloc, kTop - 4095, 0});
        break;
      case 2:
        s.refused(Allocate{AllocCall::kMalloc, (uint64_t{1} << 46) + 1, 0});
        break;
      case 3:
        if (s.live() > 0) s.push(Realloc{s.slot(), false, true, kTop, 2});
        break;
      case 4: {
        const uint64_t n = rng.below(64);
        s.allocate(AllocCall::kCalloc, rng.below(64), n);
        break;
      }
      default:
        s.allocate(AllocCall::kMalloc, rng.below(3));  // malloc(0), (1), (2)
        s.fill_any();
        break;
    }
    if (s.live() > 12) s.free_any();
  }
  return s.take();
}

// Pointers the C API must refuse (run hardened): foreign, interior and freed ones, given to
// free, realloc and malloc_usable_size between valid calls.
std::vector<Op> bad_pointers(Rng& rng, size_t count) {
  Stream s(rng, count);
  while (!s.full()) {
    if (s.live() < 3 || rng.percent(30)) {
      s.allocate(AllocCall::kMalloc, rng.percent(70) ? small_size(rng) : kib_to_mib(rng));
      s.fill_any();
    } else if (rng.percent(30)) {
      s.free_any();
    } else {
      const auto kind = static_cast<BadPointerKind>(rng.below(4));
      const auto use = static_cast<BadPointerUse>(rng.below(3));
      s.push(BadPointer{kind, use, s.slot()});
    }
    if (rng.percent(10)) s.push(Free{0, true});
    if (rng.percent(5)) s.push(Check{});
  }
  return s.take();
}

// Many small blocks freed and trimmed away, then more: malloc_trim under live blocks.
std::vector<Op> trim_cycles(Rng& rng, size_t count) {
  Stream s(rng, count);
  while (!s.full()) {
    const size_t n = 4 + rng.below(12);
    for (size_t i = 0; i < n; ++i)
      s.allocate(AllocCall::kMalloc, rng.percent(80) ? small_size(rng) : kib_to_mib(rng));
    s.fill_any();
    while (s.live() > 2)
      s.free_any();
    s.push(Trim{});
    s.push(Check{});
  }
  return s.take();
}

const std::array<Profile<Op>, 6> kProfiles = {{
    {"c_mix", "every C allocation call mixed with fills, frees and reallocs", c_mix, 64},
    {"realloc_chains", "realloc and reallocarray growing and shrinking filled blocks",
     realloc_chains, 64},
    {"alignments", "posix_memalign, aligned_alloc, memalign with good and bad alignments",
     alignments, 48},
    {"overflow_edges", "calloc, reallocarray and pvalloc products that overflow; huge sizes",
     overflow_edges, 48},
    {"bad_pointers", "free, realloc and malloc_usable_size of pointers never returned (hardened)",
     bad_pointers, 64},
    {"trim_cycles", "malloc_trim with live blocks", trim_cycles, 48},
}};

}  // namespace

std::span<const Profile<Op>> profiles() {
  return kProfiles;
}

Config seed_config(std::string_view profile) {
  return Config{.hardened = profile == "bad_pointers"};
}

}  // namespace vmmem::scenario::shim
