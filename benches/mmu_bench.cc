// MMU benches: the TLB hit path against a plain array lookup and a raw pointer load in the
// same run, the miss + walk path, access patterns with and without prefetch, batch
// translation against one call per address, and flush costs.
//
//   mmu/translate_hit/{vmmem,vmmem_counted,direct_array}
//                               translate() of 4096 addresses in 64 hot pages; counted:
//                               MmuConfig::count_hits on; direct_array: pa from a flat table
//   mmu/load_u64_hit/{vmmem,vmmem_counted,raw}
//                               load<uint64_t> through a TLB hit vs a load from the same host
//                               bytes
//   mmu/translate_miss/vmmem    4096 pages in random order, 16x the TLB: nearly every
//                               translation walks three levels of tables that stay in cache
//   mmu/pattern/<p>/{vmmem,vmmem_prefetch}
//                               one translation per access of a sequential, strided (3 pages)
//                               or random pattern over 16K pages; counters: miss and prefetch
//                               hit rates
//   mmu/batch/<n>/{vmmem,individual}
//                               translate_batch of n sorted addresses (16 per page, hits)
//                               against n translate() calls
//   mmu/flush/<kind>/vmmem      one flush of a TLB refilled with 64 pages
//   mmu/sweep/{cold,warm}/<n>/vmmem
//                               n loads (100 .. 100K), 8 per page in page order; cold: every
//                               iteration on pages the TLB has not seen (n / 8 walks), warm:
//                               on the same 32 pages every time (hits after the first pass)
//   mmu/table_lookup/<n>/{single,batch}
//                               n pages' translations with no TLB help: one Walker::walk per
//                               page, or translate_batch of the n sorted page addresses after
//                               a full flush (walks and fills)
//   mmu/profile/<name>/vmmem    a whole profile's op stream through scenario::run (fresh
//                               executor per iteration, set up outside the timing)
#include <benchmark/benchmark.h>

#include <algorithm>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "mem/guest_memory.h"
#include "mmu/frame_allocator.h"
#include "mmu/mmu.h"
#include "mmu/page_table_builder.h"
#include "scenario/common/runner.h"
#include "scenario/mmu/executor.h"
#include "scenario/mmu/profiles.h"
#include "support/rng.h"

namespace {

using namespace vmmem::mmu;
using vmmem::mem::GuestMemory;

constexpr uint64_t kRam = 0x8000'0000;
constexpr uint64_t kRamSize = 96ull << 20;
constexpr uint64_t kDataBase = kRam + (1 << 20);
constexpr uint64_t kVaBase = 0x4000'0000;
constexpr uint64_t kPages = 16384;
constexpr uint8_t kRwad = pte::kRead | pte::kWrite | pte::kAccessed | pte::kDirty;

// Guest memory with kPages 4 KiB pages mapped from kVaBase, shared by every bench.
struct Tables {
  GuestMemory memory;
  FrameAllocator frames{memory, kRam, 1 << 20};
  std::unique_ptr<PageTableBuilder> space;
  std::byte* host = nullptr;

  Tables() {
    VMM_CHECK(memory.add_ram(kRam, kRamSize).ok(), "bench RAM");
    space =
        std::make_unique<PageTableBuilder>(memory, frames, Mode::kSv39, frames.allocate().value());
    for (uint64_t page = 0; page < kPages; ++page) {
      VMM_CHECK(space->map(kVaBase + page * 4096, kDataBase + page * 4096, 4096, kRwad).ok(),
                "map");
    }
    host = memory.host_span(kRam, kRamSize).value().data();
    std::memset(host + (1 << 20), 0x5a, kPages * 4096);  // fault the data pages in
  }
  TranslationContext context() const {
    return {{Mode::kSv39, 1, space->root_ppn()}, Privilege::kSupervisor};
  }
};

Tables& tables() {
  static Tables instance;
  return instance;
}

std::unique_ptr<Mmu> make_mmu(MmuConfig config = {}) {
  auto mmu = std::make_unique<Mmu>(tables().memory, config);
  mmu->set_context(tables().context());
  return mmu;
}

std::vector<uint64_t> random_addresses(uint64_t pages, size_t count) {
  vmmem::Rng rng(42);
  std::vector<uint64_t> out(count);
  for (uint64_t& va : out)
    va = kVaBase + rng.below(pages) * 4096 + rng.below(512) * 8;
  return out;
}

void translate_hit(benchmark::State& state, bool counted) {
  auto owned = make_mmu({.count_hits = counted});
  Mmu& mmu = *owned;  // held in a register, as an interpreter loop holds its vCPU's MMU
  const auto vas = random_addresses(64, 4096);
  for (auto _ : state) {
    for (uint64_t va : vas) {
      const Translation t = mmu.translate(va, Access::kLoad);
      if (t.fault != Fault::kNone) state.SkipWithError("unexpected fault");
      benchmark::DoNotOptimize(t.pa);
    }
  }
  state.SetItemsProcessed(state.iterations() * vas.size());
}

void translate_hit_direct_array(benchmark::State& state) {
  const auto vas = random_addresses(64, 4096);
  std::vector<uint64_t> table(kPages);
  for (uint64_t page = 0; page < kPages; ++page)
    table[page] = kDataBase + page * 4096;
  for (auto _ : state)
    for (uint64_t va : vas)
      benchmark::DoNotOptimize(table[(va - kVaBase) >> 12] + (va & 4095));
  state.SetItemsProcessed(state.iterations() * vas.size());
}

void load_u64_hit(benchmark::State& state, bool counted) {
  auto owned = make_mmu({.count_hits = counted});
  Mmu& mmu = *owned;
  const auto vas = random_addresses(64, 4096);
  // As an interpreter uses a load: branch on the fault, keep the value.
  for (auto _ : state) {
    for (uint64_t va : vas) {
      const LoadResult<uint64_t> loaded = mmu.load<uint64_t>(va);
      if (loaded.fault != Fault::kNone) state.SkipWithError("unexpected fault");
      benchmark::DoNotOptimize(loaded.value);
    }
  }
  state.SetItemsProcessed(state.iterations() * vas.size());
}

void load_u64_hit_raw(benchmark::State& state) {
  const std::byte* host = tables().host + (1 << 20);
  const auto vas = random_addresses(64, 4096);
  for (auto _ : state)
    for (uint64_t va : vas) {
      uint64_t value;
      std::memcpy(&value, host + (va - kVaBase), 8);
      benchmark::DoNotOptimize(value);
    }
  state.SetItemsProcessed(state.iterations() * vas.size());
}

// Rates over every translation the bench made (hits are not counted, so the fast path is the
// one timed; misses and prefetch hits are counted on the slow path).
void report_rates(benchmark::State& state, const Mmu& mmu, size_t per_iteration) {
  const TlbCounters& c = mmu.counters();
  const auto lookups = static_cast<double>(state.iterations() * per_iteration);
  state.counters["miss_rate"] = static_cast<double>(c.misses) / lookups;
  state.counters["prefetch_hit_rate"] = static_cast<double>(c.prefetch_hits) / lookups;
}

void translate_miss(benchmark::State& state) {
  auto mmu = make_mmu();
  const auto vas = random_addresses(4096, 4096);
  for (auto _ : state)
    for (uint64_t va : vas)
      benchmark::DoNotOptimize(mmu->translate(va, Access::kLoad));
  state.SetItemsProcessed(state.iterations() * vas.size());
  report_rates(state, *mmu, vas.size());
}

enum class Pattern { kSequential, kStrided, kRandom };

std::vector<uint64_t> pattern_addresses(Pattern pattern) {
  constexpr size_t kCount = 16384;
  if (pattern == Pattern::kRandom) return random_addresses(kPages, kCount);
  std::vector<uint64_t> out(kCount);
  for (size_t i = 0; i < kCount; ++i) {
    out[i] = pattern == Pattern::kSequential ? kVaBase + (i * 1024) % (kPages * 4096)
                                             : kVaBase + ((i * 3) % kPages) * 4096 + 64;
  }
  return out;
}

void access_pattern(benchmark::State& state, Pattern pattern, unsigned prefetch_depth) {
  auto mmu = make_mmu({.prefetch_depth = prefetch_depth});
  const auto vas = pattern_addresses(pattern);
  for (auto _ : state)
    for (uint64_t va : vas)
      benchmark::DoNotOptimize(mmu->translate(va, Access::kLoad));
  state.SetItemsProcessed(state.iterations() * vas.size());
  report_rates(state, *mmu, vas.size());
}

std::vector<uint64_t> sorted_run(size_t n) {
  std::vector<uint64_t> vas(n);
  for (size_t i = 0; i < n; ++i)
    vas[i] = kVaBase + i * 256;
  return vas;
}

void batch(benchmark::State& state, bool batched) {
  auto mmu = make_mmu();
  const auto vas = sorted_run(static_cast<size_t>(state.range(0)));
  std::vector<Translation> out(vas.size());
  for (auto _ : state) {
    if (batched) {
      mmu->translate_batch(vas, Access::kLoad, out);
    } else {
      for (size_t i = 0; i < vas.size(); ++i)
        out[i] = mmu->translate(vas[i], Access::kLoad);
    }
    benchmark::DoNotOptimize(out.data());
  }
  state.SetItemsProcessed(state.iterations() * vas.size());
}

void flush(benchmark::State& state, FlushRequest request) {
  auto mmu = make_mmu();
  const auto vas = random_addresses(64, 64);
  for (auto _ : state) {
    state.PauseTiming();
    for (uint64_t va : vas)
      benchmark::DoNotOptimize(mmu->translate(va, Access::kLoad));
    state.ResumeTiming();
    mmu->flush(request);
  }
}

// n loads, 8 per page (512 bytes apart) in page order, starting at page `first`.
std::vector<uint64_t> page_order_loads(uint64_t first, size_t n) {
  std::vector<uint64_t> vas(n);
  for (size_t i = 0; i < n; ++i)
    vas[i] = kVaBase + ((first + i / 8) % kPages) * 4096 + (i % 8) * 512;
  return vas;
}

void sweep(benchmark::State& state, bool cold) {
  const auto n = static_cast<size_t>(state.range(0));
  auto owned = make_mmu();
  Mmu& mmu = *owned;
  // Cold: a run of fresh pages per iteration, far from the last (the TLB holds 264 of 16K).
  const size_t pages_per_run = (n + 7) / 8;
  const size_t runs = cold ? std::max<size_t>(1, kPages / pages_per_run) : 1;
  std::vector<std::vector<uint64_t>> streams;
  if (cold) {
    for (size_t r = 0; r < std::min<size_t>(runs, 64); ++r)
      streams.push_back(page_order_loads(r * pages_per_run, n));
  } else {
    streams.push_back(page_order_loads(0, n));
    for (uint64_t& va : streams[0])  // folded onto 32 pages
      va = kVaBase + (((va - kVaBase) >> 12) % 32) * 4096 + (va & 4095);
  }
  size_t next = 0;
  for (auto _ : state) {
    for (uint64_t va : streams[next]) {
      const LoadResult<uint64_t> loaded = mmu.load<uint64_t>(va);
      if (loaded.fault != Fault::kNone) state.SkipWithError("unexpected fault");
      benchmark::DoNotOptimize(loaded.value);
    }
    if (++next == streams.size()) next = 0;
  }
  state.SetItemsProcessed(state.iterations() * n);
  state.counters["walks_per_access"] = benchmark::Counter(
      static_cast<double>(mmu.counters().misses) / static_cast<double>(state.iterations() * n));
}

void table_lookup(benchmark::State& state, bool batched) {
  const auto n = static_cast<size_t>(state.range(0));
  auto owned = make_mmu();
  Mmu& mmu = *owned;
  std::vector<uint64_t> vas(n);
  for (size_t i = 0; i < n; ++i)
    vas[i] = kVaBase + i * 4096 + 8;
  std::vector<Translation> out(n);
  const TranslationContext context = tables().context();
  for (auto _ : state) {
    if (batched) {
      mmu.flush({FlushKind::kAll});
      mmu.translate_batch(vas, Access::kLoad, out);
      benchmark::DoNotOptimize(out.data());
    } else {
      for (uint64_t va : vas)
        benchmark::DoNotOptimize(mmu.walker().walk(context, va, Access::kLoad).pa);
    }
  }
  state.SetItemsProcessed(state.iterations() * n);
}

namespace mscen = vmmem::scenario::mmu;

struct OutcomeSink {
  bool after(size_t, const mscen::Op&, const mscen::Outcome& outcome) {
    benchmark::DoNotOptimize(outcome.fault);
    benchmark::DoNotOptimize(outcome.value);
    return true;
  }
};

void register_profile(const vmmem::scenario::Profile<mscen::Op>& profile) {
  vmmem::Rng rng(1);
  constexpr size_t kOps = 4096;
  std::vector<mscen::Op> ops = profile.generate(rng, kOps);
  const mscen::Config config = mscen::profile_config(profile.name);
  benchmark::RegisterBenchmark(
      ("mmu/profile/" + std::string(profile.name) + "/vmmem").c_str(),
      [ops = std::move(ops), config](benchmark::State& state) {
        for (auto _ : state) {
          state.PauseTiming();
          {
            auto executor = std::make_unique<mscen::Executor>(config, /*record_addresses=*/false);
            OutcomeSink sink;
            state.ResumeTiming();
            vmmem::scenario::run(std::span<const mscen::Op>(ops), *executor, sink);
            state.PauseTiming();
          }
          state.ResumeTiming();
        }
        state.SetItemsProcessed(state.iterations() * ops.size());
      });
}

void register_all() {
  using benchmark::RegisterBenchmark;
  RegisterBenchmark("mmu/translate_hit/vmmem", translate_hit, false);
  RegisterBenchmark("mmu/translate_hit/vmmem_counted", translate_hit, true);
  RegisterBenchmark("mmu/translate_hit/direct_array", translate_hit_direct_array);
  RegisterBenchmark("mmu/load_u64_hit/vmmem", load_u64_hit, false);
  RegisterBenchmark("mmu/load_u64_hit/vmmem_counted", load_u64_hit, true);
  RegisterBenchmark("mmu/load_u64_hit/raw", load_u64_hit_raw);
  RegisterBenchmark("mmu/translate_miss/vmmem", translate_miss);
  const std::pair<const char*, Pattern> patterns[] = {{"sequential", Pattern::kSequential},
                                                      {"strided", Pattern::kStrided},
                                                      {"random", Pattern::kRandom}};
  for (const auto& [name, pattern] : patterns) {
    RegisterBenchmark((std::string("mmu/pattern/") + name + "/vmmem").c_str(), access_pattern,
                      pattern, 0u);
    RegisterBenchmark((std::string("mmu/pattern/") + name + "/vmmem_prefetch").c_str(),
                      access_pattern, pattern, 2u);
  }
  for (int n : {10, 100, 1000}) {
    RegisterBenchmark(("mmu/batch/" + std::to_string(n) + "/vmmem").c_str(), batch, true)->Arg(n);
    RegisterBenchmark(("mmu/batch/" + std::to_string(n) + "/individual").c_str(), batch, false)
        ->Arg(n);
  }
  RegisterBenchmark("mmu/flush/all/vmmem", flush, FlushRequest{FlushKind::kAll});
  RegisterBenchmark("mmu/flush/asid/vmmem", flush, FlushRequest{FlushKind::kAsid, 0, 1});
  RegisterBenchmark("mmu/flush/address/vmmem", flush, FlushRequest{FlushKind::kAddress, kVaBase});
  RegisterBenchmark("mmu/flush/range_16_pages/vmmem", flush,
                    FlushRequest{FlushKind::kRange, kVaBase, 0, 16 * 4096});
  for (int n : {100, 1000, 10000, 100000}) {
    RegisterBenchmark(("mmu/sweep/cold/" + std::to_string(n) + "/vmmem").c_str(), sweep, true)
        ->Arg(n);
    RegisterBenchmark(("mmu/sweep/warm/" + std::to_string(n) + "/vmmem").c_str(), sweep, false)
        ->Arg(n);
  }
  for (int n : {100, 1000, 10000}) {
    RegisterBenchmark(("mmu/table_lookup/" + std::to_string(n) + "/single").c_str(), table_lookup,
                      false)
        ->Arg(n);
    RegisterBenchmark(("mmu/table_lookup/" + std::to_string(n) + "/batch").c_str(), table_lookup,
                      true)
        ->Arg(n);
  }
  for (const vmmem::scenario::Profile<mscen::Op>& profile : mscen::profiles())
    register_profile(profile);
}

[[maybe_unused]] const int kRegistered = (register_all(), 0);

}  // namespace
