#include "scenario/alloc/profiles.h"

#include <array>
#include <vector>

namespace vmmem::scenario::alloc {
namespace {

// The committed seeds are these profiles' bytes and every compiler must produce the same ones:
// never two draws from the Rng among the arguments of one call, whose order is unspecified
// (gcc and clang differ). Braced initializers are ordered and may hold several.

constexpr std::array<uint64_t, 6> kSmallSizes = {8, 16, 32, 64, 128, 256};

// Builds an op stream while tracking how many blocks and pool objects are live, so frees name
// live blocks (any slot value works, but spread ones exercise every position).
class Stream {
 public:
  Stream(Rng& rng, size_t count) : rng_(rng), count_(count) {}
  bool full() const { return ops_.size() >= count_; }
  size_t live() const { return live_; }
  Rng& rng() { return rng_; }

  void alloc(uint64_t size, uint64_t alignment = 1, bool zeroed = false, uint8_t heap = 0) {
    push(Alloc{size, alignment, zeroed, heap});
    ++live_;
  }
  void free_any(bool sized = false) {
    if (live_ == 0) return;
    push(Free{slot(), sized});
    --live_;
  }
  void free_newest() {
    if (live_ == 0) return;
    push(Free{static_cast<uint16_t>(live_ - 1), false});
    --live_;
  }
  void write_any() {
    if (live_ != 0) push(Write{slot(), rng_.next()});
  }
  void realloc_any(uint64_t size) {
    if (live_ == 0) ++live_;
    push(Realloc{slot(), size});
  }
  void handoff_any() {
    if (live_ == 0) return;
    push(Handoff{slot(), static_cast<uint8_t>(rng_.below(4))});
    --live_;
  }
  void push(Op op) {
    if (!full()) ops_.push_back(op);
  }
  std::vector<Op> take() { return std::move(ops_); }

 private:
  uint16_t slot() { return static_cast<uint16_t>(rng_.below(live_)); }

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

std::vector<Op> small_8_256(Rng& rng, size_t count) {
  Stream s(rng, count);
  while (!s.full()) {
    s.alloc(small_size(rng));
    s.free_newest();
  }
  return s.take();
}

std::vector<Op> batch(Rng& rng, size_t count) {
  Stream s(rng, count);
  const size_t round = count / 2 < 1000 ? (count / 2 > 0 ? count / 2 : 1) : 1000;
  while (!s.full()) {
    const uint64_t size = small_size(rng);
    for (size_t i = 0; i < round; ++i)
      s.alloc(size);
    while (s.live() > 0)
      s.free_newest();
  }
  return s.take();
}

std::vector<Op> sizes_1k_1m(Rng& rng, size_t count) {
  Stream s(rng, count);
  while (!s.full()) {
    s.alloc(kib_to_mib(rng));
    s.free_newest();
  }
  return s.take();
}

std::vector<Op> zeroed(Rng& rng, size_t count) {
  Stream s(rng, count);
  while (!s.full()) {
    s.alloc(kib_to_mib(rng), 1, /*zeroed=*/true);
    s.write_any();
    s.free_newest();
  }
  return s.take();
}

std::vector<Op> pool_reuse(Rng& rng, size_t count) {
  Stream s(rng, count);
  size_t live = 0;
  while (!s.full()) {
    if (live < 8 || rng.percent(55)) {
      s.push(PoolAlloc{});
      ++live;
    } else {
      s.push(PoolFree{static_cast<uint16_t>(rng.below(live))});
      --live;
    }
  }
  return s.take();
}

std::vector<Op> sequential(Rng& rng, size_t count) {
  Stream s(rng, count);
  while (!s.full()) {
    const size_t n = 16 + rng.below(48);
    for (size_t i = 0; i < n; ++i)
      s.alloc(16 + 16 * i);
    for (size_t i = 0; i < n; ++i)
      s.push(Free{0, false});  // oldest first (slot 0 takes the newest in its place)
    for (size_t i = 0; i < n; ++i)
      s.free_newest();
  }
  return s.take();
}

std::vector<Op> random_sizes(Rng& rng, size_t count) {
  Stream s(rng, count);
  while (!s.full()) {
    const uint64_t roll = rng.below(100);
    if (roll < 50 || s.live() == 0) {
      s.alloc(rng.percent(90) ? 1 + rng.below(1024) : 1 + rng.below(64 * 1024));
    } else if (roll < 85) {
      s.free_any();
    } else {
      s.write_any();
    }
  }
  return s.take();
}

std::vector<Op> burst(Rng& rng, size_t count) {
  Stream s(rng, count);
  while (!s.full()) {
    const size_t n = 50 + rng.below(150);
    for (size_t i = 0; i < n; ++i)
      s.alloc(8 + rng.below(512));
    while (s.live() > 0)
      s.free_any();
  }
  return s.take();
}

std::vector<Op> interleaved(Rng& rng, size_t count) {
  Stream s(rng, count);
  while (!s.full()) {
    if (s.live() < 64) {
      s.alloc(8 + rng.below(2048));
      s.write_any();
    } else {
      s.free_any();
      s.alloc(8 + rng.below(2048));
      s.write_any();
    }
  }
  return s.take();
}

std::vector<Op> fragmentation(Rng& rng, size_t count) {
  Stream s(rng, count);
  while (!s.full()) {
    const size_t n = count / 4 > 16 ? count / 4 : 16;
    for (size_t i = 0; i < n; ++i)
      s.alloc(16 + rng.below(4096));
    for (size_t i = 0; i < n / 2; ++i)
      s.free_any();
    s.push(Collect{true});
    for (size_t i = 0; i < n / 2; ++i)
      s.alloc(16 + rng.below(4096));
    s.push(Check{});
    while (s.live() > 0)
      s.free_any();
  }
  return s.take();
}

std::vector<Op> cross_thread(Rng& rng, size_t count) {
  Stream s(rng, count);
  while (!s.full()) {
    if (s.live() < 16 || rng.percent(50)) {
      s.alloc(rng.percent(80) ? small_size(rng) : kib_to_mib(rng));
    } else if (rng.percent(70)) {
      s.handoff_any();
    } else {
      s.free_any();
    }
    if (rng.percent(5)) s.push(Collect{false});
    if (rng.percent(3)) s.push(Detach{});  // as if the thread exited: abandon, then adopt
  }
  return s.take();
}

// Pages of a few big blocks filled to the last one, so they go to the full list; then blocks
// freed by the owner (back off the full list) and by another thread (the delayed-free handoff
// of a full page), with collections between.
std::vector<Op> full_pages(Rng& rng, size_t count) {
  Stream s(rng, count);
  constexpr std::array<uint64_t, 4> kBigSmallSizes = {8192, 16384, 32768, 65536};  // 8 per page
  while (!s.full()) {
    const uint64_t size = kBigSmallSizes[rng.below(kBigSmallSizes.size())];
    const size_t n = 10 + rng.below(14);
    for (size_t i = 0; i < n; ++i)
      s.alloc(size);
    for (size_t i = 0; i < n / 2; ++i) {
      if (rng.percent(50)) {
        s.handoff_any();
      } else {
        s.free_any();
      }
    }
    if (rng.percent(30)) s.push(Collect{rng.percent(30)});
  }
  return s.take();
}

// Hardened mode's reports between ordinary traffic: every kind of bad free (double frees,
// blocks freed twice, interior pointers, wrong sizes, foreign pointers) among allocations,
// sized frees, reallocations and remote frees, small and large.
std::vector<Op> hardened_frees(Rng& rng, size_t count) {
  Stream s(rng, count);
  while (!s.full()) {
    // Few sizes, so that pages keep other live blocks and a freed block's page stays in use.
    s.alloc(rng.percent(90) ? small_size(rng) : kib_to_mib(rng));
    s.write_any();
    s.push(BadFree{static_cast<BadFreeKind>(rng.below(static_cast<uint64_t>(BadFreeKind::kCount))),
                   static_cast<uint16_t>(rng.below(64)),
                   static_cast<uint32_t>(1 + rng.below(4096))});
    if (rng.percent(40)) s.free_any(/*sized=*/rng.percent(50));
    if (rng.percent(15)) s.realloc_any(rng.percent(50) ? 1 + rng.below(2048) : kib_to_mib(rng));
    if (rng.percent(10)) s.handoff_any();
  }
  return s.take();
}

std::vector<Op> heaps(Rng& rng, size_t count) {
  Stream s(rng, count);
  size_t live_heaps = 0;
  while (!s.full()) {
    const uint64_t roll = rng.below(100);
    if (roll < 8 || live_heaps == 0) {
      s.push(HeapCreate{});
      ++live_heaps;
    } else if (roll < 12) {
      s.push(HeapDestroy{static_cast<uint8_t>(rng.below(live_heaps))});
      --live_heaps;
    } else if (roll < 70) {
      const uint64_t size = rng.percent(90) ? 8 + rng.below(2048) : kib_to_mib(rng);
      const bool zeroed = rng.percent(20);
      s.alloc(size, 1, zeroed, static_cast<uint8_t>(1 + rng.below(live_heaps)));
    } else if (roll < 90) {
      s.free_any();
    } else {
      s.handoff_any();
    }
  }
  return s.take();
}

std::vector<Op> aligned(Rng& rng, size_t count) {
  Stream s(rng, count);
  while (!s.full()) {
    const uint64_t alignment = uint64_t{16} << rng.below(17);  // 16 B .. 1 MiB
    const uint64_t size = 1 + rng.below(rng.percent(70) ? 1024 : 256 * 1024);
    s.alloc(size, alignment, /*zeroed=*/rng.percent(20));
    if (s.live() > 24 || rng.percent(40)) s.free_any(/*sized=*/rng.percent(50));
  }
  return s.take();
}

std::vector<Op> realloc_growth(Rng& rng, size_t count) {
  Stream s(rng, count);
  while (!s.full()) {
    uint64_t size = 1 + rng.below(64);
    s.alloc(size);
    while (size < (4u << 20) && !s.full()) {
      s.write_any();
      size += size / 2 + rng.below(64);
      s.push(Realloc{static_cast<uint16_t>(s.live() - 1), size});
    }
    s.free_any();
  }
  return s.take();
}

// A large block grown in place over the slices of a neighbour that was freed and aged past the
// purge delay, so the slices come back purged. The executor's delay is 32 slow-path calls;
// aligned requests take the slow path, and an anchor block keeps their page, so they leave the
// neighbour's span alone. Check runs the allocator's invariant check right after the growth.
std::vector<Op> regrowth_over_purged(Rng& rng, size_t count) {
  Stream s(rng, count);
  while (!s.full()) {
    const uint64_t first = 64 * 1024 + rng.below(256 * 1024);
    const uint64_t second = 64 * 1024 + rng.below(256 * 1024);
    s.alloc(4096, 4096);  // slot 0: the anchor
    s.alloc(first);       // slot 1: the block that grows
    s.push(Write{1, rng.next()});
    s.alloc(second);  // slot 2: its neighbour
    s.push(Write{2, rng.next()});
    s.free_newest();
    // A freed large span waits in the span cache for one delay, then one more as a free span
    // (purged by the look 80 calls on); 90 calls keep the growth inside the fuzz target's
    // first 256 ops.
    for (int i = 0; i < 90; ++i) {
      s.alloc(4096, 4096);
      s.free_newest();
    }
    s.push(Realloc{1, first + second - rng.below(4096)});
    s.push(Check{});
    s.free_newest();
    s.free_newest();
  }
  return s.take();
}

// Every refusal and failure path: bad sizes and alignments, every kind of bad free, OS calls
// failing under allocation, heap creation, pool growth and reallocation, and huge blocks.
std::vector<Op> edge_cases(Rng& rng, size_t count) {
  Stream s(rng, count);
  constexpr std::array<uint64_t, 6> kBadSizes = {
      ~uint64_t{0}, ~uint64_t{0} - 15, (uint64_t{1} << 46) + 1, uint64_t{1} << 63, 0, 1};
  constexpr std::array<uint64_t, 5> kBadAlignments = {0, 3, 24, uint64_t{1} << 22, 100};
  while (!s.full()) {
    switch (rng.below(14)) {
      case 0:
        s.alloc(kBadSizes[rng.below(kBadSizes.size())]);
        break;
      case 1:
        s.alloc(64, kBadAlignments[rng.below(kBadAlignments.size())]);
        break;
      case 2:
        s.push(
            BadFree{static_cast<BadFreeKind>(rng.below(static_cast<uint64_t>(BadFreeKind::kCount))),
                    static_cast<uint16_t>(rng.below(64)), static_cast<uint32_t>(rng.next())});
        break;
      case 3:
        s.push(FailNextOsCall{static_cast<uint8_t>(1 + rng.below(3))});
        s.alloc(rng.percent(50) ? 5u << 20 : 2u << 20);
        break;
      case 4:
        s.push(FailNextOsCall{1});
        s.push(HeapCreate{});
        s.alloc(4096, 1, false, 1);
        break;
      case 5:
        s.push(FailNextOsCall{1});
        for (int i = 0; i < 20; ++i)
          s.push(PoolAlloc{});
        break;
      case 6:
        s.push(FailNextOsCall{static_cast<uint8_t>(1 + rng.below(3))});
        s.realloc_any(3u << 20);
        break;
      case 7: {
        const uint64_t size = rng.percent(50) ? 6u << 20 : (4u << 20) - (64u << 10);
        s.alloc(size, 1, /*zeroed=*/rng.percent(50));
      } break;
      case 8:
        s.push(Collect{rng.percent(50)});
        break;
      case 9:
        s.push(Check{});
        break;
      case 10:
        s.realloc_any(rng.percent(30) ? 0 : 1 + rng.below(200000));
        break;
      case 11:
        s.push(FailNextOsCall{1});
        s.free_any();
        s.push(Collect{true});
        break;
      case 12:
        s.alloc(1 + rng.below(512));
        s.write_any();
        s.handoff_any();
        if (rng.percent(30)) s.push(Detach{});
        break;
      default: {
        const uint64_t size = 1 + rng.below(100000);
        const uint64_t alignment = uint64_t{1} << rng.below(22);
        s.alloc(size, alignment, /*zeroed=*/rng.percent(30));
      } break;
    }
  }
  return s.take();
}

const std::vector<Profile<Op>>& all_profiles() {
  static const std::vector<Profile<Op>> list = {
      {"small_8_256", "alloc+free pairs of 8..256 B", small_8_256},
      {"batch", "1000 allocations of one small size, then 1000 frees", batch},
      {"sizes_1k_1m", "alloc+free of 1 KiB .. 1 MiB", sizes_1k_1m},
      {"zeroed", "zeroed 1 KiB .. 1 MiB, written, freed", zeroed},
      {"pool_reuse", "ObjectPool create/destroy with reuse", pool_reuse},
      {"sequential", "growing sizes, freed oldest first then newest first", sequential},
      {"random_sizes", "random sizes up to 64 KiB, random frees and writes", random_sizes},
      {"burst", "bursts of 50-200 allocations, then everything freed", burst},
      {"interleaved", "a working set of 64 blocks with allocs, writes and frees interleaved",
       interleaved},
      {"fragmentation", "many blocks, half freed, collected, the holes refilled", fragmentation,
       96},
      {"cross_thread", "blocks freed by another thread, small and large", cross_thread},
      {"heaps", "first-class heaps created, allocated from and destroyed", heaps},
      {"aligned", "alignments 16 B .. 1 MiB, sized frees", aligned},
      {"realloc_growth", "a block grown by half again and again up to 4 MiB", realloc_growth},
      {"regrowth_over_purged", "a block grown in place over a purged neighbour",
       regrowth_over_purged, 380},
      {"edge_cases", "every refusal and out-of-memory path, hardened", edge_cases, 400},
      {"full_pages", "pages filled to the last block, freed locally and remotely", full_pages, 160},
      {"hardened_frees", "every kind of bad free among ordinary traffic, hardened", hardened_frees,
       120},
  };
  return list;
}

}  // namespace

std::span<const Profile<Op>> profiles() {
  return all_profiles();
}

Config seed_config(std::string_view profile) {
  Config config;
  if (profile == "edge_cases" || profile == "hardened_frees") config.hardened = true;
  if (profile == "fragmentation") config.purge = vmmem::alloc::PurgePolicy::kEager;
  return config;
}

}  // namespace vmmem::scenario::alloc
