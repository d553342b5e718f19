// Malloc drop-in benches: the C allocation surface of shim/c_api.h (what libvmmem_malloc.so
// exports) over an Allocator with the drop-in's own options, against the same calls of the
// peers in the same process (glibc, mimalloc, jemalloc, tcmalloc; see peers/allocator_peers.h),
// and the shim scenario's profiles. The plain malloc/free/calloc/realloc paths are alloc_bench's;
// these are the calls the drop-in adds on top of them.
//
//   shim/posix_memalign/<alignment>/<impl>  posix_memalign of 128 B (64) or 4 KiB (4096) + free
//   shim/usable_size/<impl>                 malloc_usable_size of one of 64 live blocks
//   shim/scenario/<name>/vmmem              a whole profile through scenario::run and the shim
//                                           Executor (the C API over its own allocator)
//
// Items per second count calls (an allocation and its free are one).
#include <benchmark/benchmark.h>

#include <array>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "peers/allocator_peers.h"
#include "scenario/common/profile.h"
#include "scenario/common/runner.h"
#include "scenario/shim/executor.h"
#include "scenario/shim/profiles.h"
#include "shim/c_api.h"
#include "shim/shim_options.h"
#include "support/rng.h"

namespace {

using vmmem::alloc::Allocator;
using vmmem::bench::AllocatorPeer;
namespace c_api = vmmem::shim::c_api;
namespace ss = vmmem::scenario::shim;

constexpr uint64_t kBenchSeed = 42;

// The drop-in's allocator, with the options it runs under when VMMEM_MALLOC is unset.
Allocator& shim_allocator() {
  static Allocator allocator(vmmem::shim::allocator_options(vmmem::shim::ShimOptions{}));
  return allocator;
}

size_t memalign_size(size_t alignment) {
  return alignment >= 4096 ? 4096 : 128;
}

void posix_memalign_vmmem(benchmark::State& state, size_t alignment) {
  Allocator& allocator = shim_allocator();
  const size_t size = memalign_size(alignment);
  for (auto _ : state) {
    void* block = nullptr;
    if (c_api::posix_memalign(allocator, &block, alignment, size) != 0)
      state.SkipWithError("ENOMEM");
    benchmark::DoNotOptimize(block);
    c_api::free(allocator, block);
  }
  state.SetItemsProcessed(state.iterations());
}

void posix_memalign_peer(benchmark::State& state, const AllocatorPeer* peer, size_t alignment) {
  const size_t size = memalign_size(alignment);
  for (auto _ : state) {
    void* block = nullptr;
    if (peer->posix_memalign(&block, alignment, size) != 0) state.SkipWithError("ENOMEM");
    benchmark::DoNotOptimize(block);
    peer->free(block);
  }
  state.SetItemsProcessed(state.iterations());
}

constexpr size_t kLiveBlocks = 64;

void usable_size_vmmem(benchmark::State& state) {
  Allocator& allocator = shim_allocator();
  std::array<void*, kLiveBlocks> blocks;
  for (size_t i = 0; i < kLiveBlocks; ++i)
    blocks[i] = c_api::malloc(allocator, 16 + 24 * i);
  size_t i = 0;
  for (auto _ : state) {
    benchmark::DoNotOptimize(c_api::malloc_usable_size(allocator, blocks[i]));
    i = (i + 1) % kLiveBlocks;
  }
  for (void* block : blocks)
    c_api::free(allocator, block);
  state.SetItemsProcessed(state.iterations());
}

void usable_size_peer(benchmark::State& state, const AllocatorPeer* peer) {
  std::array<void*, kLiveBlocks> blocks;
  for (size_t i = 0; i < kLiveBlocks; ++i)
    blocks[i] = peer->malloc(16 + 24 * i);
  size_t i = 0;
  for (auto _ : state) {
    benchmark::DoNotOptimize(peer->usable_size(blocks[i]));
    i = (i + 1) % kLiveBlocks;
  }
  for (void* block : blocks)
    peer->free(block);
  state.SetItemsProcessed(state.iterations());
}

void scenario_run(benchmark::State& state, std::string_view profile_name) {
  const auto* profile = vmmem::scenario::find_profile(ss::profiles(), profile_name);
  vmmem::Rng rng(kBenchSeed);
  const std::vector<ss::Op> ops = profile->generate(rng, 4096);
  for (auto _ : state) {
    // A fresh executor per iteration, outside the timing: the profile's ops assume one.
    state.PauseTiming();
    auto executor = std::make_unique<ss::Executor>(ss::Config{});
    state.ResumeTiming();
    const size_t ran =
        vmmem::scenario::run(std::span<const ss::Op>(ops), *executor, vmmem::scenario::NoCheck{});
    benchmark::DoNotOptimize(ran);
    state.PauseTiming();
    executor.reset();
    state.ResumeTiming();
  }
  state.SetItemsProcessed(state.iterations() * ops.size());
}

void register_all() {
  const std::vector<AllocatorPeer>& peers = vmmem::bench::allocator_peers();
  for (const size_t alignment : {size_t{64}, size_t{4096}}) {
    const std::string name = "shim/posix_memalign/" + std::to_string(alignment) + "/";
    benchmark::RegisterBenchmark((name + "vmmem").c_str(), [alignment](benchmark::State& s) {
      posix_memalign_vmmem(s, alignment);
    });
    for (const AllocatorPeer& peer : peers) {
      if (peer.posix_memalign == nullptr) continue;
      benchmark::RegisterBenchmark(
          (name + peer.name).c_str(),
          [p = &peer, alignment](benchmark::State& s) { posix_memalign_peer(s, p, alignment); });
    }
  }
  benchmark::RegisterBenchmark("shim/usable_size/vmmem", usable_size_vmmem);
  for (const AllocatorPeer& peer : peers) {
    if (peer.usable_size == nullptr) continue;
    benchmark::RegisterBenchmark(("shim/usable_size/" + peer.name).c_str(),
                                 [p = &peer](benchmark::State& s) { usable_size_peer(s, p); });
  }
  for (const auto& profile : ss::profiles()) {
    const std::string_view name = profile.name;
    benchmark::RegisterBenchmark(("shim/scenario/" + std::string(name) + "/vmmem").c_str(),
                                 [name](benchmark::State& s) { scenario_run(s, name); });
  }
}

const bool registered = (register_all(), true);

}  // namespace
