// Collector benches, on the gc scenario's workloads, with Boehm GC and malloc/free run in the
// same process where a peer makes sense:
//
//   gc/minor_pause/<live>/vmmem      a minor GC copying <live> surviving young objects (manual
//                                    time: the pause alone; counters p50/max from the heap)
//   gc/major_pause/<live>/vmmem      a major GC marking <live> old objects and sweeping as many
//                                    dead ones
//   gc/alloc/<size>/<impl>           allocation throughput of small (pair, 32 B), medium (256 B)
//                                    and large (16 KiB, the large-object space) objects that die
//                                    at once: vmmem, boehm (GC_MALLOC), malloc (malloc + free)
//   gc/barrier/<holder>/<impl>       a store in a tight loop: vmmem's write barrier against a
//                                    plain pointer store ("plain"), into an old holder taking a
//                                    young value and into a young holder
//   gc/pacer/<window>/<ms>ms/vmmem   a steady workload under a pause target, its survivors a
//                                    fixed window of recent objects or a window proportional to
//                                    the nursery; counters: the p50 minor pause over the target
//                                    and the collections the pacer took to settle within 20%
//                                    (still settled at the end / first settled), and the share of
//                                    later pauses within 20%
//   gc/gcbench/<impl>                GCBench (peers/gcbench.h): vmmem, boehm, malloc
//   gc/scenario/<profile>/vmmem      a whole profile through scenario::run and the Executor
//
// VMMEM_GCBENCH_SCALE=small shrinks GCBench, the pacer runs and the profiles, and leaves out
// the pauses above 1K live objects (the bench-smoke test sets it).
// Under a sanitizer Boehm GC is left out: the timings mean nothing there, and a conservative
// collector scanning ASan's or TSan's shadow and fake stacks is not what the smoke test checks.
#include <benchmark/benchmark.h>
#include <gc/gc.h>

#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "alloc/sanitizer.h"
#include "gc/heap.h"
#include "peers/gcbench.h"
#include "scenario/common/runner.h"
#include "scenario/gc/executor.h"
#include "scenario/gc/profiles.h"
#include "support/ratio_reporter.h"

namespace {

using vmmem::Rng;
using vmmem::bench::set_ratio_target;
using vmmem::gc::ArrayKind;
using vmmem::gc::Handle;
using vmmem::gc::HandleScope;
using vmmem::gc::Heap;
using vmmem::gc::Object;
using vmmem::gc::ShapeId;
namespace sg = vmmem::scenario::gc;

constexpr uint64_t kBenchSeed = 42;
constexpr bool kWithBoehm = !(vmmem::alloc::kAsanEnabled || vmmem::alloc::kTsanEnabled);

bool small_scale() {
  const char* scale = std::getenv("VMMEM_GCBENCH_SCALE");
  return scale != nullptr && std::strcmp(scale, "small") == 0;
}

struct BenchHeap {
  std::unique_ptr<Heap> heap;
  ShapeId pair = 0;   // 2 references + 16 bytes: GCBench's node, 40 bytes in all
  ShapeId bytes = 0;  // byte array
};

BenchHeap make_heap(vmmem::gc::Options options = {}) {
  BenchHeap b;
  auto made = Heap::create(options);
  if (!made.ok()) std::abort();
  b.heap = std::move(made.value());
  b.pair = b.heap->register_shape({"pair", 2, 16, ArrayKind::kNone}).value();
  b.bytes = b.heap->register_shape({"bytes", 0, 0, ArrayKind::kBytes}).value();
  return b;
}

Object* must(Object* object) {
  if (object == nullptr) std::abort();
  return object;
}

// A linked list of `n` pairs held by one persistent handle (built with raw allocations; the
// handle keeps the head, each new pair points at the list so far).
Handle build_list(BenchHeap& b, uint64_t n) {
  Heap& heap = *b.heap;
  Handle head = heap.make_persistent(Handle{}).value();
  for (uint64_t i = 0; i < n; ++i) {
    Object* node = must(heap.allocate_raw(b.pair));
    heap.store_slot(node, 0, heap.raw(head));
    if (!heap.assign(head, heap.local_for(node)).ok()) std::abort();
  }
  return head;
}

// ---- pauses ----------------------------------------------------------------------------------

void minor_pause(benchmark::State& state, uint64_t live) {
  vmmem::gc::Options options;
  options.promotion_age = 15;  // the survivors stay young: every iteration copies them again
  options.nursery_bytes = options.max_nursery_bytes = uint64_t{64} << 20;
  BenchHeap b = make_heap(options);
  for (auto _ : state) {
    state.PauseTiming();
    HandleScope scope(*b.heap);
    const Handle list = build_list(b, live);
    state.ResumeTiming();
    if (!b.heap->minor().ok()) std::abort();
    state.PauseTiming();
    if (!b.heap->release(list).ok()) std::abort();
    state.ResumeTiming();
  }
  const auto stats = b.heap->stats();
  state.counters["p50_us"] = static_cast<double>(stats.minor.p50_ns) / 1e3;
  state.counters["max_us"] = static_cast<double>(stats.minor.max_ns) / 1e3;
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations() * live));
}

void major_pause(benchmark::State& state, uint64_t live) {
  BenchHeap b = make_heap();
  const Handle list = build_list(b, live);
  if (!b.heap->major().ok()) std::abort();  // promoted: old from now on
  for (auto _ : state) {
    state.PauseTiming();
    const Handle garbage = build_list(b, live);
    if (!b.heap->minor().ok() || !b.heap->minor().ok() || !b.heap->minor().ok()) std::abort();
    if (!b.heap->release(garbage).ok()) std::abort();
    state.ResumeTiming();
    if (!b.heap->major().ok()) std::abort();
  }
  benchmark::DoNotOptimize(b.heap->raw(list));
  const auto stats = b.heap->stats();
  state.counters["p50_us"] = static_cast<double>(stats.major.p50_ns) / 1e3;
  state.counters["max_us"] = static_cast<double>(stats.major.max_ns) / 1e3;
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations() * live));
}

// ---- allocation throughput -------------------------------------------------------------------

struct Size {
  const char* name;
  uint64_t bytes;  // object bytes, header included for vmmem
};
constexpr Size kSizes[] = {{"small", 40}, {"medium", 256}, {"large", 16384}};

void alloc_vmmem(benchmark::State& state, uint64_t bytes) {
  BenchHeap b = make_heap();
  const bool pair = bytes == 40;
  const uint64_t length = pair ? 0 : bytes - 8;
  for (auto _ : state) {
    Object* object = must(b.heap->allocate_raw(pair ? b.pair : b.bytes, length));
    benchmark::DoNotOptimize(object);
  }
  state.SetItemsProcessed(state.iterations());
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * bytes));
}

void alloc_boehm(benchmark::State& state, uint64_t bytes) {
  GC_INIT();
  for (auto _ : state) {
    void* p = bytes == 40 ? GC_MALLOC(bytes) : GC_MALLOC_ATOMIC(bytes);
    benchmark::DoNotOptimize(p);
  }
  state.SetItemsProcessed(state.iterations());
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * bytes));
}

void alloc_malloc(benchmark::State& state, uint64_t bytes) {
  for (auto _ : state) {
    void* p = std::calloc(1, bytes);  // zeroed, as the collectors' objects are
    benchmark::DoNotOptimize(p);
    std::free(p);
  }
  state.SetItemsProcessed(state.iterations());
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * bytes));
}

// ---- write barrier ---------------------------------------------------------------------------

constexpr uint64_t kBarrierSlots = 512;  // 4 KiB of slots: below the large-object threshold

// A ref array of kBarrierSlots slots, old (promoted by a major GC) or young, and a young value.
struct BarrierSetup {
  BenchHeap b;
  ShapeId array = 0;
  Handle holder, value;
};

std::unique_ptr<BarrierSetup> barrier_setup(bool old_holder) {
  auto s = std::make_unique<BarrierSetup>();
  s->b = make_heap();
  Heap& heap = *s->b.heap;
  s->array = heap.register_shape({"refs", 0, 8, ArrayKind::kRefs}).value();
  s->holder = heap.make_persistent(heap.new_object(s->array, kBarrierSlots).value()).value();
  if (old_holder && !heap.major().ok()) std::abort();
  s->value = heap.make_persistent(heap.new_object(s->b.pair).value()).value();
  return s;
}

void barrier(benchmark::State& state, bool old_holder, bool plain) {
  auto s = barrier_setup(old_holder);
  Heap& heap = *s->b.heap;
  Object* holder = heap.raw(s->holder);
  Object* value = heap.raw(s->value);
  if (heap.is_young(holder) == old_holder || !heap.is_young(value)) std::abort();
  uint64_t slot = 0;
  for (auto _ : state) {
    for (int k = 0; k < 64; ++k) {
      if (plain) {
        holder->slots()[slot] = value;
      } else {
        heap.store_slot(holder, slot, value);
      }
      slot = (slot + 1) & (kBarrierSlots - 1);
    }
    benchmark::ClobberMemory();
  }
  state.SetItemsProcessed(state.iterations() * 64);
}

// ---- pacer -----------------------------------------------------------------------------------

// Allocation with a steady survival rate: every 2^keep_shift-th pair is stored in a ring of
// `ring_slots` slots in an old array and stays live until the ring comes round again; the
// rest dies young. The fixed window (64K slots, every 8th pair) caps what a minor collection
// can find alive, so past some nursery size pauses stop growing and a large target is out of
// reach (the pacer then holds the nursery at its maximum). The proportional window spans more
// allocation than the largest nursery, so about a quarter of any nursery survives and every
// target is within reach.
void pacer(benchmark::State& state, double target_ms, bool proportional) {
  vmmem::gc::Options options;
  options.pause_target_ms = target_ms;
  options.nursery_bytes = uint64_t{4} << 20;  // where the pacer starts
  options.min_nursery_bytes = uint64_t{256} << 10;
  options.max_nursery_bytes = small_scale() ? uint64_t{4} << 20 : uint64_t{256} << 20;
  const uint64_t minors_per_iteration = small_scale() ? 4 : proportional ? 24 : 40;
  BenchHeap b = make_heap(options);
  Heap& heap = *b.heap;
  const ShapeId array = heap.register_shape({"ring", 0, 8, ArrayKind::kRefs}).value();
  const unsigned keep_shift = proportional ? 2 : 3;
  // 40-byte pairs: 2^21 kept slots span 320 MiB of allocation, past the 256 MiB nursery.
  const uint64_t ring_slots = !proportional ? 1 << 16 : small_scale() ? 1 << 15 : 1 << 21;
  const uint64_t keep_mask = (uint64_t{1} << keep_shift) - 1;
  const Handle ring = heap.make_persistent(heap.new_object(array, ring_slots).value()).value();
  uint64_t k = 0;
  for (auto _ : state) {
    // Enough allocation for a few dozen minor GCs at the largest nursery the target allows.
    const uint64_t minors_before = heap.stats().minor.count;
    while (heap.stats().minor.count < minors_before + minors_per_iteration) {
      for (int i = 0; i < 4096; ++i) {
        Object* node = must(heap.allocate_raw(b.pair));
        if ((i & keep_mask) == 0) heap.store_slot(heap.raw(ring), k++ & (ring_slots - 1), node);
      }
    }
  }
  const auto stats = heap.stats();
  state.counters["target_ms"] = target_ms;
  state.counters["p50_ms"] = static_cast<double>(stats.minor.p50_ns) / 1e6;
  state.counters["p50_over_target"] = static_cast<double>(stats.minor.p50_ns) / 1e6 / target_ms;
  state.counters["settled_after"] = static_cast<double>(stats.pacer_settled_after);
  state.counters["first_settled"] = static_cast<double>(stats.pacer_first_settled_after);
  state.counters["in_band_after"] =
      stats.pacer_sampled_after_settling == 0
          ? 0.0
          : static_cast<double>(stats.pacer_in_band_after_settling) /
                static_cast<double>(stats.pacer_sampled_after_settling);
  state.counters["minors"] = static_cast<double>(stats.minor.count);
  state.counters["nursery_kib"] = static_cast<double>(stats.nursery_bytes) / 1024;
}

// ---- GCBench ---------------------------------------------------------------------------------

// GCBench on the collector: raw allocation and the barriered store, local handles for every
// node that must survive the next allocation.
class VmmemTrees {
 public:
  explicit VmmemTrees(BenchHeap& b) : b_(b), heap_(*b.heap) {}

  Object* make() { return must(heap_.allocate_raw(b_.pair)); }

  // Fills the node `node` names top-down to `depth`.
  void populate(int depth, Handle node) {
    if (depth <= 0) return;
    --depth;
    HandleScope scope(heap_);
    const Handle left = heap_.local_for(make());
    const Handle right = heap_.local_for(make());
    Object* n = heap_.raw(node);
    heap_.store_slot(n, 0, heap_.raw(left));
    heap_.store_slot(n, 1, heap_.raw(right));
    populate(depth, left);
    populate(depth, right);
  }

  // A tree built bottom-up; the result is valid until the next allocation.
  Object* make_tree(int depth) {
    if (depth <= 0) return make();
    HandleScope scope(heap_);
    const Handle left = heap_.local_for(make_tree(depth - 1));
    const Handle right = heap_.local_for(make_tree(depth - 1));
    Object* node = make();
    heap_.store_slot(node, 0, heap_.raw(left));
    heap_.store_slot(node, 1, heap_.raw(right));
    return node;
  }

  int64_t run(const vmmem::bench::GcBenchParams& params) {
    HandleScope scope(heap_);
    benchmark::DoNotOptimize(make_tree(params.stretch_depth));
    const Handle long_lived = heap_.local_for(make());
    populate(params.long_lived_depth, long_lived);
    const Handle array = heap_.local_for(must(
        heap_.allocate_raw(b_.bytes, sizeof(double) * static_cast<uint64_t>(params.array_size))));
    auto* doubles = reinterpret_cast<double*>(heap_.raw_bytes(heap_.raw(array)));
    for (int i = 0; i < params.array_size / 2; ++i)
      doubles[i] = 1.0 / (i + 1);
    for (int depth = params.min_depth; depth <= params.max_depth; depth += 2) {
      const int64_t iters = vmmem::bench::num_iters(params, depth);
      for (int64_t k = 0; k < iters; ++k) {
        HandleScope inner(heap_);
        const Handle temp = heap_.local_for(make());
        populate(depth, temp);
      }
      for (int64_t k = 0; k < iters; ++k)
        benchmark::DoNotOptimize(make_tree(depth));
    }
    doubles = reinterpret_cast<double*>(heap_.raw_bytes(heap_.raw(array)));
    return count(heap_.raw(long_lived)) +
           static_cast<int64_t>(doubles[params.array_size / 2 - 1] * 1e6);
  }

 private:
  static int64_t count(const Object* node) {
    int64_t n = 0;
    std::vector<const Object*> stack{node};
    while (!stack.empty()) {
      const Object* o = stack.back();
      stack.pop_back();
      if (o == nullptr) continue;
      ++n;
      stack.push_back(Heap::load_slot(o, 0));
      stack.push_back(Heap::load_slot(o, 1));
    }
    return n;
  }

  BenchHeap& b_;
  Heap& heap_;
};

void gcbench_vmmem(benchmark::State& state) {
  const auto params = vmmem::bench::gcbench_params();
  BenchHeap b = make_heap();
  for (auto _ : state) {
    VmmemTrees trees(b);
    benchmark::DoNotOptimize(trees.run(params));
  }
  const auto stats = b.heap->stats();
  state.counters["minors"] = static_cast<double>(stats.minor.count);
  state.counters["majors"] = static_cast<double>(stats.major.count);
  state.counters["minor_max_ms"] = static_cast<double>(stats.minor.max_ns) / 1e6;
}

void gcbench_boehm(benchmark::State& state) {
  const auto params = vmmem::bench::gcbench_params();
  for (auto _ : state)
    benchmark::DoNotOptimize(vmmem::bench::gcbench_boehm(params));
  state.counters["gcs"] = static_cast<double>(GC_get_gc_no());
}

void gcbench_malloc(benchmark::State& state) {
  const auto params = vmmem::bench::gcbench_params();
  for (auto _ : state)
    benchmark::DoNotOptimize(vmmem::bench::gcbench_malloc(params));
}

// ---- scenario profiles -----------------------------------------------------------------------

void scenario_run(benchmark::State& state, std::string_view name) {
  const auto* profile = vmmem::scenario::find_profile(sg::profiles(), name);
  Rng rng(kBenchSeed);
  const std::vector<sg::Op> ops = profile->generate(rng, small_scale() ? 256 : 4096);
  for (auto _ : state) {
    sg::Executor executor(sg::seed_config(name), /*observe=*/false);
    vmmem::scenario::run(std::span<const sg::Op>(ops), executor, vmmem::scenario::NoCheck{});
    benchmark::DoNotOptimize(executor.root_count());
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations() * ops.size()));
}

// ---- registration ----------------------------------------------------------------------------

void register_all() {
  for (uint64_t live : {100u, 1000u, 10000u, 100000u}) {
    if (small_scale() && live > 1000) continue;  // the smoke test only checks that they run
    const std::string n = std::to_string(live);
    benchmark::RegisterBenchmark(("gc/minor_pause/" + n + "/vmmem").c_str(),
                                 [live](benchmark::State& s) { minor_pause(s, live); })
        ->Unit(benchmark::kMicrosecond);
    benchmark::RegisterBenchmark(("gc/major_pause/" + n + "/vmmem").c_str(),
                                 [live](benchmark::State& s) { major_pause(s, live); })
        ->Unit(benchmark::kMicrosecond);
  }
  for (const Size& size : kSizes) {
    const std::string base = std::string("gc/alloc/") + size.name + "/";
    const uint64_t bytes = size.bytes;
    benchmark::RegisterBenchmark((base + "vmmem").c_str(),
                                 [bytes](benchmark::State& s) { alloc_vmmem(s, bytes); });
    if (kWithBoehm)
      benchmark::RegisterBenchmark((base + "boehm").c_str(),
                                   [bytes](benchmark::State& s) { alloc_boehm(s, bytes); });
    benchmark::RegisterBenchmark((base + "malloc").c_str(),
                                 [bytes](benchmark::State& s) { alloc_malloc(s, bytes); });
  }
  for (const bool old_holder : {true, false}) {
    const std::string base = old_holder ? "gc/barrier/old_holder/" : "gc/barrier/young_holder/";
    benchmark::RegisterBenchmark((base + "vmmem").c_str(), [old_holder](benchmark::State& s) {
      barrier(s, old_holder, false);
    });
    benchmark::RegisterBenchmark((base + "plain").c_str(), [old_holder](benchmark::State& s) {
      barrier(s, old_holder, true);
    });
  }
  set_ratio_target("gc/barrier/old_holder", "vmmem", "plain", 3.0);
  set_ratio_target("gc/barrier/young_holder", "vmmem", "plain", 1.5);
  for (const bool proportional : {false, true}) {
    for (const double ms : {1.0, 5.0, 10.0, 50.0}) {
      const std::string window = proportional ? "proportional" : "fixed";
      benchmark::RegisterBenchmark(
          ("gc/pacer/" + window + "/" + std::to_string(static_cast<int>(ms)) + "ms/vmmem").c_str(),
          [ms, proportional](benchmark::State& s) { pacer(s, ms, proportional); })
          ->Iterations(1)
          ->Unit(benchmark::kMillisecond);
    }
  }
  benchmark::RegisterBenchmark("gc/gcbench/vmmem", gcbench_vmmem)->Unit(benchmark::kMillisecond);
  if (kWithBoehm)
    benchmark::RegisterBenchmark("gc/gcbench/boehm", gcbench_boehm)->Unit(benchmark::kMillisecond);
  benchmark::RegisterBenchmark("gc/gcbench/malloc", gcbench_malloc)->Unit(benchmark::kMillisecond);
  set_ratio_target("gc/gcbench", "vmmem", "boehm", 0.5);
  for (const auto& profile : sg::profiles()) {
    benchmark::RegisterBenchmark(
        ("gc/scenario/" + std::string(profile.name) + "/vmmem").c_str(),
        [name = profile.name](benchmark::State& s) { scenario_run(s, name); });
  }
}

const bool registered = (register_all(), true);

}  // namespace
