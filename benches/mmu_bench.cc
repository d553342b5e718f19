// MMU benches: the TLB hit path against a plain array lookup and a raw pointer load in the
// same run, the miss + walk path, and batch translation against one call per address.
//
//   mmu/translate_hit/{vmmem,direct_array}   translate() of 4096 addresses in 64 hot pages
//   mmu/load_u64_hit/{vmmem,raw}             load<uint64_t> through a TLB hit vs a host load
//   mmu/translate_miss/vmmem                 every translation a miss: 3-level walk from
//                                            cached tables (working set 16x the TLB)
//   mmu/batch/<n>/{vmmem,individual}         translate_batch of n sorted addresses (hits)
#include <benchmark/benchmark.h>

#include <cstring>
#include <vector>

#include "mem/guest_memory.h"
#include "mmu/frame_allocator.h"
#include "mmu/mmu.h"
#include "mmu/page_table_builder.h"
#include "support/rng.h"

namespace {

using namespace vmmem::mmu;
using vmmem::mem::GuestMemory;

constexpr uint64_t kRam = 0x8000'0000;
constexpr uint64_t kVaBase = 0x4000'0000;
constexpr uint64_t kPages = 4096;
constexpr uint8_t kRwad = pte::kRead | pte::kWrite | pte::kAccessed | pte::kDirty;

struct Guest {
  GuestMemory memory;
  FrameAllocator frames{memory, kRam, 1 << 20};
  std::vector<PageTableBuilder> spaces;
  Mmu mmu{memory};
  std::byte* host = nullptr;

  Guest() {
    VMM_CHECK(memory.add_ram(kRam, 32ull << 20).ok(), "bench RAM");
    spaces.emplace_back(memory, frames, Mode::kSv39, frames.allocate().value());
    for (uint64_t page = 0; page < kPages; ++page)
      VMM_CHECK(
          spaces[0].map(kVaBase + page * 4096, kRam + (1 << 20) + page * 4096, 4096, kRwad).ok(),
          "map");
    mmu.set_context({{Mode::kSv39, 1, spaces[0].root_ppn()}, Privilege::kSupervisor});
    host = memory.host_span(kRam, 32ull << 20).value().data();
  }
};

Guest& guest() {
  static Guest instance;
  return instance;
}

std::vector<uint64_t> addresses(uint64_t pages, size_t count) {
  vmmem::Rng rng(42);
  std::vector<uint64_t> out(count);
  for (uint64_t& va : out)
    va = kVaBase + rng.below(pages) * 4096 + (rng.below(512) * 8);
  return out;
}

void translate_hit_vmmem(benchmark::State& state) {
  Guest& g = guest();
  const auto vas = addresses(64, 4096);
  for (auto _ : state)
    for (uint64_t va : vas)
      benchmark::DoNotOptimize(g.mmu.translate(va, Access::kLoad));
  state.SetItemsProcessed(state.iterations() * vas.size());
}

void translate_hit_direct_array(benchmark::State& state) {
  const auto vas = addresses(64, 4096);
  std::vector<uint64_t> table(kPages);
  for (uint64_t page = 0; page < kPages; ++page)
    table[page] = kRam + (1 << 20) + page * 4096;
  for (auto _ : state)
    for (uint64_t va : vas)
      benchmark::DoNotOptimize(table[(va - kVaBase) >> 12] + (va & 4095));
  state.SetItemsProcessed(state.iterations() * vas.size());
}

void load_u64_hit_vmmem(benchmark::State& state) {
  Guest& g = guest();
  const auto vas = addresses(64, 4096);
  for (auto _ : state)
    for (uint64_t va : vas)
      benchmark::DoNotOptimize(g.mmu.load<uint64_t>(va));
  state.SetItemsProcessed(state.iterations() * vas.size());
}

void load_u64_hit_raw(benchmark::State& state) {
  Guest& g = guest();
  const auto vas = addresses(64, 4096);
  for (auto _ : state)
    for (uint64_t va : vas) {
      uint64_t value;
      std::memcpy(&value, g.host + (1 << 20) + (va - kVaBase), 8);
      benchmark::DoNotOptimize(value);
    }
  state.SetItemsProcessed(state.iterations() * vas.size());
}

void translate_miss_vmmem(benchmark::State& state) {
  Guest& g = guest();
  const auto vas = addresses(kPages, 4096);
  for (auto _ : state)
    for (uint64_t va : vas)
      benchmark::DoNotOptimize(g.mmu.translate(va, Access::kLoad));
  state.SetItemsProcessed(state.iterations() * vas.size());
  state.counters["miss_rate"] =
      static_cast<double>(g.mmu.counters().misses) /
      static_cast<double>(g.mmu.counters().misses + g.mmu.counters().hits);
}

std::vector<uint64_t> sorted_run(size_t n) {
  std::vector<uint64_t> vas(n);
  for (size_t i = 0; i < n; ++i)
    vas[i] = kVaBase + i * 64;  // 64 addresses per page, 16 pages per 1000
  return vas;
}

void batch_vmmem(benchmark::State& state) {
  Guest& g = guest();
  const auto vas = sorted_run(static_cast<size_t>(state.range(0)));
  std::vector<Translation> out(vas.size());
  for (auto _ : state) {
    g.mmu.translate_batch(vas, Access::kLoad, out);
    benchmark::DoNotOptimize(out.data());
  }
  state.SetItemsProcessed(state.iterations() * vas.size());
}

void batch_individual(benchmark::State& state) {
  Guest& g = guest();
  const auto vas = sorted_run(static_cast<size_t>(state.range(0)));
  std::vector<Translation> out(vas.size());
  for (auto _ : state) {
    for (size_t i = 0; i < vas.size(); ++i)
      out[i] = g.mmu.translate(vas[i], Access::kLoad);
    benchmark::DoNotOptimize(out.data());
  }
  state.SetItemsProcessed(state.iterations() * vas.size());
}

BENCHMARK(translate_hit_vmmem)->Name("mmu/translate_hit/vmmem");
BENCHMARK(translate_hit_direct_array)->Name("mmu/translate_hit/direct_array");
BENCHMARK(load_u64_hit_vmmem)->Name("mmu/load_u64_hit/vmmem");
BENCHMARK(load_u64_hit_raw)->Name("mmu/load_u64_hit/raw");
BENCHMARK(translate_miss_vmmem)->Name("mmu/translate_miss/vmmem");
BENCHMARK(batch_vmmem)->Name("mmu/batch/vmmem")->Arg(10)->Arg(100)->Arg(1000);
BENCHMARK(batch_individual)->Name("mmu/batch/individual")->Arg(10)->Arg(100)->Arg(1000);

}  // namespace
