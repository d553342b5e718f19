// Allocator benches, on the alloc scenario's profiles, each run by vmmem and by its peers in
// the same process (glibc, mimalloc, jemalloc, tcmalloc; see peers/allocator_peers.h):
//
//   alloc/pair/<bytes>/<impl>          allocate + free of one block, in a loop
//   alloc/alloc/<bytes>/<impl>         allocation alone (1000 blocks a round, freed untimed)
//   alloc/batch/<bytes>/<impl>         1000 allocations, then 1000 frees
//   alloc/zeroed/<bytes>/<impl>        zeroed allocation + free
//   alloc/threads_pair/256/<impl>/threads:N   N threads each allocating + freeing
//   alloc/cross_thread/256/<impl>/threads:N   N/2 producers whose blocks N/2 consumers free
//   alloc/pool_reuse/<impl>            ObjectPool create/destroy against malloc/free of 48 B
//   alloc/profile/<name>/<impl>        a profile's allocs, frees and reallocs replayed
//   alloc/fragmentation/<impl>         RSS over live bytes after freeing every other block and
//                                      after refilling (counters; in a forked child each)
//   alloc/latency/<bytes>/<impl>       per-operation latency percentiles (counters, ns)
//   alloc/scenario/<name>/vmmem        a whole profile through scenario::run and the Executor
//
// Items per second count operations (a pair is one). The sizes come from the profiles:
// small_8_256 for 8..256 B and sizes_1k_1m for 1 KiB .. 1 MiB.
#include <benchmark/benchmark.h>
#include <sys/wait.h>
#include <unistd.h>
#include <x86intrin.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include "alloc/allocator.h"
#include "alloc/object_pool.h"
#include "peers/allocator_peers.h"
#include "scenario/alloc/executor.h"
#include "scenario/alloc/profiles.h"
#include "scenario/common/runner.h"
#include "support/ratio_reporter.h"

namespace {

using vmmem::Rng;
using vmmem::alloc::Allocator;
using vmmem::bench::AllocatorPeer;
using vmmem::bench::set_ratio_target;
namespace sa = vmmem::scenario::alloc;

constexpr uint64_t kBenchSeed = 42;
constexpr size_t kRound = 1000;

// One allocator for the whole process, like a malloc: a namespace-scope object, so the fast
// path is not behind a function-local static's guard.
Allocator bench_allocator_instance;
inline Allocator& bench_allocator() {
  return bench_allocator_instance;
}

// The two kinds of implementation, one interface: vmmem inline, the peers through pointers.
struct Vmmem {
  static constexpr const char* kName = "vmmem";
  void* malloc(size_t n) const { return bench_allocator().allocate(n); }
  void free(void* p) const { bench_allocator().deallocate(p); }
  void* calloc(size_t n) const { return bench_allocator().allocate_zeroed(n); }
  void* realloc(void* p, size_t n) const { return bench_allocator().reallocate(p, n); }
  void release() const { bench_allocator().collect(true); }
};

struct Peer {
  const AllocatorPeer* peer;
  void* malloc(size_t n) const { return peer->malloc(n); }
  void free(void* p) const { peer->free(p); }
  void* calloc(size_t n) const { return peer->calloc(1, n); }
  void* realloc(void* p, size_t n) const { return peer->realloc(p, n); }
  void release() const {
    if (peer->release != nullptr) peer->release();
  }
};

// Runs `register_one(impl_name, api)` for vmmem and every peer.
template <class F>
void for_each_impl(F&& register_one) {
  register_one(std::string(Vmmem::kName), Vmmem{});
  for (const AllocatorPeer& peer : vmmem::bench::allocator_peers())
    register_one(peer.name, Peer{&peer});
}

// The distinct sizes a profile allocates.
std::vector<uint64_t> profile_sizes(std::string_view profile_name) {
  const auto* profile = vmmem::scenario::find_profile(sa::profiles(), profile_name);
  Rng rng(kBenchSeed);
  std::vector<uint64_t> sizes;
  for (const sa::Op& op : profile->generate(rng, 4096)) {
    if (const auto* alloc = std::get_if<sa::Alloc>(&op)) sizes.push_back(alloc->size);
  }
  std::sort(sizes.begin(), sizes.end());
  sizes.erase(std::unique(sizes.begin(), sizes.end()), sizes.end());
  return sizes;
}

// sizes_1k_1m draws sizes between powers of two; the benches use the powers themselves.
std::vector<uint64_t> power_sizes_1k_1m() {
  std::vector<uint64_t> sizes;
  for (const uint64_t size : profile_sizes("sizes_1k_1m")) {
    const uint64_t power = std::bit_floor(size);
    if (sizes.empty() || sizes.back() != power) sizes.push_back(power);
  }
  return sizes;
}

// ---- single-thread micro benches -----------------------------------------------------------

template <class Api>
void pair(benchmark::State& state, Api api, size_t size) {
  for (auto _ : state) {
    void* p = api.malloc(size);
    benchmark::DoNotOptimize(p);
    api.free(p);
  }
  state.SetItemsProcessed(state.iterations());
}

template <class Api>
void alloc_only(benchmark::State& state, Api api, size_t size) {
  std::vector<void*> blocks(kRound);
  for (auto _ : state) {
    for (void*& p : blocks) {
      p = api.malloc(size);
      benchmark::DoNotOptimize(p);
    }
    state.PauseTiming();
    for (void* p : blocks)
      api.free(p);
    state.ResumeTiming();
  }
  state.SetItemsProcessed(state.iterations() * kRound);
}

template <class Api>
void batch(benchmark::State& state, Api api, size_t size) {
  std::vector<void*> blocks(kRound);
  for (auto _ : state) {
    for (void*& p : blocks) {
      p = api.malloc(size);
      benchmark::DoNotOptimize(p);
    }
    for (void* p : blocks)
      api.free(p);
  }
  state.SetItemsProcessed(state.iterations() * kRound);
}

template <class Api>
void zeroed(benchmark::State& state, Api api, size_t size) {
  for (auto _ : state) {
    auto* p = static_cast<char*>(api.calloc(size));
    benchmark::DoNotOptimize(p);
    p[size / 2] = 1;  // a client writes what it asked for; the next zeroing has work to do
    api.free(p);
  }
  state.SetItemsProcessed(state.iterations());
}

// ---- threads -------------------------------------------------------------------------------

template <class Api>
void threads_pair(benchmark::State& state, Api api) {
  for (auto _ : state) {
    void* p = api.malloc(256);
    benchmark::DoNotOptimize(p);
    api.free(p);
  }
  state.SetItemsProcessed(state.iterations());
}

// A single-producer single-consumer ring of block pointers.
struct alignas(64) Ring {
  static constexpr size_t kCapacity = 4096;
  std::atomic<size_t> head{0};
  alignas(64) std::atomic<size_t> tail{0};
  alignas(64) void* slots[kCapacity];

  void push(void* p) {
    const size_t h = head.load(std::memory_order_relaxed);
    while (h - tail.load(std::memory_order_acquire) == kCapacity)
      std::this_thread::yield();
    slots[h % kCapacity] = p;
    head.store(h + 1, std::memory_order_release);
  }
  void* pop() {
    const size_t t = tail.load(std::memory_order_relaxed);
    while (head.load(std::memory_order_acquire) == t)
      std::this_thread::yield();
    void* p = slots[t % kCapacity];
    tail.store(t + 1, std::memory_order_release);
    return p;
  }
};

Ring rings[8];

// Thread 2k allocates, thread 2k + 1 frees what it gets: every free is a remote free.
template <class Api>
void cross_thread(benchmark::State& state, Api api) {
  Ring& ring = rings[state.thread_index() / 2];
  const bool producer = state.thread_index() % 2 == 0;
  for (auto _ : state) {
    for (int i = 0; i < 64; ++i) {
      if (producer) {
        ring.push(api.malloc(256));
      } else {
        api.free(ring.pop());
      }
    }
  }
  state.SetItemsProcessed(state.iterations() * 64);
}

// ---- pool ----------------------------------------------------------------------------------

struct PoolObject {
  uint64_t words[6];
};

void pool_reuse_vmmem(benchmark::State& state) {
  vmmem::alloc::ObjectPool<PoolObject> pool(bench_allocator());
  std::vector<PoolObject*> working(64);
  for (auto _ : state) {
    for (PoolObject*& object : working) {
      object = pool.create();
      benchmark::DoNotOptimize(object);
    }
    for (PoolObject* object : working)
      pool.destroy(object);
  }
  state.SetItemsProcessed(state.iterations() * working.size());
}

template <class Api>
void pool_reuse_peer(benchmark::State& state, Api api) {
  std::vector<void*> working(64);
  for (auto _ : state) {
    for (void*& object : working) {
      object = api.malloc(sizeof(PoolObject));
      benchmark::DoNotOptimize(object);
    }
    for (void* object : working)
      api.free(object);
  }
  state.SetItemsProcessed(state.iterations() * working.size());
}

// ---- profiles ------------------------------------------------------------------------------

// A profile's ops as plain steps any malloc can replay (slots resolved ahead of time).
struct Step {
  enum Kind : uint8_t { kMalloc, kFree, kRealloc, kTouch } kind;
  uint32_t slot;
  uint64_t size;
};

std::vector<Step> replay_steps(std::string_view profile_name, size_t count) {
  const auto* profile = vmmem::scenario::find_profile(sa::profiles(), profile_name);
  Rng rng(kBenchSeed);
  std::vector<Step> steps;
  size_t live = 0;
  for (const sa::Op& op : profile->generate(rng, count)) {
    if (const auto* alloc = std::get_if<sa::Alloc>(&op)) {
      steps.push_back({Step::kMalloc, static_cast<uint32_t>(live++), alloc->size});
    } else if (const auto* free = std::get_if<sa::Free>(&op); free && live > 0) {
      steps.push_back({Step::kFree, static_cast<uint32_t>(sa::pick(free->slot, live)), 0});
      --live;
    } else if (const auto* handoff = std::get_if<sa::Handoff>(&op); handoff && live > 0) {
      steps.push_back({Step::kFree, static_cast<uint32_t>(sa::pick(handoff->slot, live)), 0});
      --live;
    } else if (const auto* realloc = std::get_if<sa::Realloc>(&op); realloc && live > 0) {
      steps.push_back(
          {Step::kRealloc, static_cast<uint32_t>(sa::pick(realloc->slot, live)), realloc->size});
    } else if (const auto* write = std::get_if<sa::Write>(&op); write && live > 0) {
      steps.push_back({Step::kTouch, static_cast<uint32_t>(sa::pick(write->slot, live)), 0});
    }
  }
  for (size_t i = live; i-- > 0;)
    steps.push_back({Step::kFree, static_cast<uint32_t>(i), 0});
  return steps;
}

template <class Api>
void replay(benchmark::State& state, Api api, const std::vector<Step>& steps) {
  std::vector<std::pair<void*, uint64_t>> live;
  live.reserve(steps.size());
  for (auto _ : state) {
    for (const Step& step : steps) {
      switch (step.kind) {
        case Step::kMalloc:
          live.push_back({api.malloc(step.size), step.size});
          break;
        case Step::kFree:
          api.free(live[step.slot].first);
          live[step.slot] = live.back();
          live.pop_back();
          break;
        case Step::kRealloc:
          live[step.slot].first = api.realloc(live[step.slot].first, step.size);
          live[step.slot].second = step.size;
          break;
        case Step::kTouch:
          std::memset(live[step.slot].first, 0x5a, std::min<uint64_t>(live[step.slot].second, 64));
          break;
      }
    }
  }
  state.SetItemsProcessed(state.iterations() * steps.size());
}

void scenario_run(benchmark::State& state, std::string_view profile_name) {
  const auto* profile = vmmem::scenario::find_profile(sa::profiles(), profile_name);
  Rng rng(kBenchSeed);
  const std::vector<sa::Op> ops = profile->generate(rng, 4096);
  sa::Executor executor(sa::seed_config(profile_name), /*observe=*/false);
  for (auto _ : state) {
    const size_t ran =
        vmmem::scenario::run(std::span<const sa::Op>(ops), executor, vmmem::scenario::NoCheck{});
    benchmark::DoNotOptimize(ran);
  }
  state.SetItemsProcessed(state.iterations() * ops.size());
}

// ---- fragmentation -------------------------------------------------------------------------

uint64_t resident_bytes() {
  std::ifstream statm("/proc/self/statm");
  uint64_t size = 0, resident = 0;
  statm >> size >> resident;
  return resident * static_cast<uint64_t>(sysconf(_SC_PAGESIZE));
}

struct FragmentationResult {
  double after_free;  // resident / live once every other block is freed and released
  double settled;     // the same once the holes are refilled with new sizes
};

// 64 MiB in blocks of 16 B .. 4 KiB; every other one freed; the allocator asked to give memory
// back; then as many new blocks of other sizes. Returns resident/live at both points.
template <class Api>
FragmentationResult fragment(Api api) {
  Rng rng(kBenchSeed);
  const uint64_t baseline = resident_bytes();
  std::vector<std::pair<void*, uint64_t>> blocks;
  uint64_t live = 0;
  while (live < (64u << 20)) {
    const uint64_t size = 16 + rng.below(4096 - 16);
    void* p = api.malloc(size);
    std::memset(p, 1, size);
    blocks.push_back({p, size});
    live += size;
  }
  std::vector<std::pair<void*, uint64_t>> kept;
  for (size_t i = 0; i < blocks.size(); ++i) {
    if (i % 2 == 0) {
      kept.push_back(blocks[i]);
    } else {
      api.free(blocks[i].first);
      live -= blocks[i].second;
    }
  }
  api.release();
  const double after_free = static_cast<double>(resident_bytes() - baseline) / live;
  const size_t refill = blocks.size() - kept.size();
  for (size_t i = 0; i < refill; ++i) {
    const uint64_t size = 16 + rng.below(4096 - 16);
    void* p = api.malloc(size);
    std::memset(p, 2, size);
    kept.push_back({p, size});
    live += size;
  }
  api.release();
  const double settled = static_cast<double>(resident_bytes() - baseline) / live;
  return {after_free, settled};
}

template <class Api>
void fragmentation(benchmark::State& state, Api api) {
  FragmentationResult result{};
  for (auto _ : state) {
    // A fresh process for each allocator, so none sees memory another one left.
    int pipe_fds[2];
    if (pipe(pipe_fds) != 0) {
      state.SkipWithError("pipe failed");
      return;
    }
    const pid_t child = fork();
    if (child == 0) {
      const FragmentationResult measured = fragment(api);
      const ssize_t written = write(pipe_fds[1], &measured, sizeof measured);
      _exit(written == sizeof measured ? 0 : 1);
    }
    close(pipe_fds[1]);
    const ssize_t got = read(pipe_fds[0], &result, sizeof result);
    close(pipe_fds[0]);
    int status = 0;
    waitpid(child, &status, 0);
    if (got != sizeof result || !WIFEXITED(status) || WEXITSTATUS(status) != 0) {
      state.SkipWithError("the measuring child failed");
      return;
    }
  }
  state.counters["rss_per_live_after_free"] = result.after_free;
  state.counters["rss_per_live_settled"] = result.settled;
}

// ---- latency -------------------------------------------------------------------------------

double ns_per_tick() {
  static const double value = [] {
    const auto t0 = std::chrono::steady_clock::now();
    const uint64_t c0 = __rdtsc();
    while (std::chrono::steady_clock::now() - t0 < std::chrono::milliseconds(20)) {
    }
    const uint64_t c1 = __rdtsc();
    const auto t1 = std::chrono::steady_clock::now();
    return std::chrono::duration<double, std::nano>(t1 - t0).count() / static_cast<double>(c1 - c0);
  }();
  return value;
}

// Each operation timed alone: a random walk of allocations and frees around 256 live blocks.
template <class Api>
void latency(benchmark::State& state, Api api, size_t size) {
  constexpr size_t kOps = 20000;
  std::vector<uint64_t> alloc_ticks, free_ticks;
  alloc_ticks.reserve(kOps);
  free_ticks.reserve(kOps);
  std::vector<void*> live;
  Rng rng(kBenchSeed);
  for (auto _ : state) {
    for (size_t i = 0; i < kOps; ++i) {
      if (live.size() < 128 || (live.size() < 384 && rng.percent(50))) {
        _mm_lfence();
        const uint64_t start = __rdtsc();
        void* p = api.malloc(size);
        _mm_lfence();
        alloc_ticks.push_back(__rdtsc() - start);
        static_cast<char*>(p)[0] = 1;
        live.push_back(p);
      } else {
        const size_t k = rng.below(live.size());
        void* p = live[k];
        live[k] = live.back();
        live.pop_back();
        _mm_lfence();
        const uint64_t start = __rdtsc();
        api.free(p);
        _mm_lfence();
        free_ticks.push_back(__rdtsc() - start);
      }
    }
  }
  for (void* p : live)
    api.free(p);
  auto percentile = [](std::vector<uint64_t>& ticks, double q) {
    if (ticks.empty()) return 0.0;
    const size_t k = std::min(ticks.size() - 1, static_cast<size_t>(q * ticks.size()));
    std::nth_element(ticks.begin(), ticks.begin() + static_cast<ptrdiff_t>(k), ticks.end());
    return static_cast<double>(ticks[k]) * ns_per_tick();
  };
  state.counters["alloc_p50_ns"] = percentile(alloc_ticks, 0.50);
  state.counters["alloc_p99_ns"] = percentile(alloc_ticks, 0.99);
  state.counters["alloc_p999_ns"] = percentile(alloc_ticks, 0.999);
  state.counters["free_p50_ns"] = percentile(free_ticks, 0.50);
  state.counters["free_p99_ns"] = percentile(free_ticks, 0.99);
  state.counters["free_p999_ns"] = percentile(free_ticks, 0.999);
  state.SetItemsProcessed(state.iterations() * kOps);
}

// ---- registration --------------------------------------------------------------------------

void register_all() {
  const std::vector<uint64_t> small = profile_sizes("small_8_256");
  const std::vector<uint64_t> medium = power_sizes_1k_1m();

  for_each_impl([&](const std::string& impl, auto api) {
    for (uint64_t size : small) {
      const std::string bytes = std::to_string(size);
      benchmark::RegisterBenchmark(("alloc/pair/" + bytes + "/" + impl).c_str(),
                                   [api, size](benchmark::State& s) { pair(s, api, size); });
      benchmark::RegisterBenchmark(("alloc/alloc/" + bytes + "/" + impl).c_str(),
                                   [api, size](benchmark::State& s) { alloc_only(s, api, size); });
      benchmark::RegisterBenchmark(("alloc/batch/" + bytes + "/" + impl).c_str(),
                                   [api, size](benchmark::State& s) { batch(s, api, size); });
    }
    for (uint64_t size : medium) {
      const std::string bytes = std::to_string(size);
      benchmark::RegisterBenchmark(("alloc/pair/" + bytes + "/" + impl).c_str(),
                                   [api, size](benchmark::State& s) { pair(s, api, size); });
      benchmark::RegisterBenchmark(("alloc/zeroed/" + bytes + "/" + impl).c_str(),
                                   [api, size](benchmark::State& s) { zeroed(s, api, size); });
    }
    benchmark::RegisterBenchmark(("alloc/threads_pair/256/" + impl).c_str(),
                                 [api](benchmark::State& s) { threads_pair(s, api); })
        ->ThreadRange(1, 16)
        ->UseRealTime();
    benchmark::RegisterBenchmark(("alloc/cross_thread/256/" + impl).c_str(),
                                 [api](benchmark::State& s) { cross_thread(s, api); })
        ->DenseThreadRange(2, 16, 2)
        ->UseRealTime();
    if (impl != "vmmem") {
      benchmark::RegisterBenchmark(("alloc/pool_reuse/" + impl).c_str(),
                                   [api](benchmark::State& s) { pool_reuse_peer(s, api); });
    }
    for (const char* profile : {"sequential", "random_sizes", "burst", "interleaved",
                                "fragmentation", "cross_thread", "realloc_growth"}) {
      auto steps = std::make_shared<std::vector<Step>>(replay_steps(profile, 4096));
      benchmark::RegisterBenchmark(("alloc/profile/" + std::string(profile) + "/" + impl).c_str(),
                                   [api, steps](benchmark::State& s) { replay(s, api, *steps); });
    }
    benchmark::RegisterBenchmark(("alloc/fragmentation/" + impl).c_str(),
                                 [api](benchmark::State& s) { fragmentation(s, api); })
        ->Iterations(1)
        ->Unit(benchmark::kMillisecond);
    for (uint64_t size : {16u, 256u, 4096u, 65536u, 1u << 20}) {
      benchmark::RegisterBenchmark(("alloc/latency/" + std::to_string(size) + "/" + impl).c_str(),
                                   [api, size](benchmark::State& s) { latency(s, api, size); })
          ->Iterations(1);
    }
  });
  benchmark::RegisterBenchmark("alloc/pool_reuse/vmmem", pool_reuse_vmmem);
  for (const auto& profile : sa::profiles()) {
    benchmark::RegisterBenchmark(
        ("alloc/scenario/" + std::string(profile.name) + "/vmmem").c_str(),
        [name = profile.name](benchmark::State& s) { scenario_run(s, name); });
  }

  for (uint64_t size : small)
    for (const char* kind : {"pair", "batch"})
      set_ratio_target("alloc/" + std::string(kind) + "/" + std::to_string(size), "vmmem", "glibc",
                       std::string(kind) == "pair" ? 0.35 : 0.5);
  for (uint64_t size : medium)
    if (size >= 65536)
      set_ratio_target("alloc/pair/" + std::to_string(size), "vmmem", "glibc", 0.5);
}

const bool registered = (register_all(), true);

}  // namespace
