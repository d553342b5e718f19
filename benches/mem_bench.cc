// Guest memory benches, on the mem scenario profiles.
//
//   mem/read_uN/<profile>/{vmmem,vmmem_accessor,raw}
//                                        N-bit loads at the addresses a profile touches:
//                                        GuestMemory::read<T> and MemoryAccessor::read<T>
//                                        against a raw host-pointer load
//   mem/write_uN/<profile>/{vmmem,vmmem_accessor,raw}  the same for stores
//   mem/read_u64/<profile>/vmmem_snapshot  the same loads through a MemorySnapshot's window:
//                                        one generation check per batch, not per access
//   mem/region_switch_read_u64/{vmmem,raw}  loads alternating between two regions: the slow
//                                        path (thread's table version + lookup) every time
//   mem/bulk_read/<bytes>/{vmmem,memcpy} bulk copies against memcpy on the same host bytes
//   mem/bulk_write/<bytes>/{vmmem,memcpy}
//   mem/profile/<name>/vmmem             a whole profile's op stream through scenario::run
//   mem/parallel_read_u64/{own_region,same_region}/{vmmem,vmmem_accessor,raw}/threads:N
//                                        N threads reading at once, each in its own region
//                                        or all in one
//
// The raw and memcpy peers touch the very host bytes GuestMemory maps, in the same order, so
// the ratio is the cost of the guest-address checks alone.
#include <benchmark/benchmark.h>

#include <atomic>
#include <cstring>
#include <string>
#include <type_traits>
#include <vector>

#include "mem/guest_memory.h"
#include "mem/memory_accessor.h"
#include "scenario/mem/executor.h"
#include "scenario/mem/profiles.h"
#include "support/ratio_reporter.h"

namespace {

using vmmem::Rng;
using vmmem::Status;
using vmmem::mem::GuestMemory;
using vmmem::mem::MemoryAccessor;
using vmmem::scenario::Profile;
namespace ms = vmmem::scenario::mem;

constexpr size_t kAccessesPerIteration = 4096;
constexpr uint64_t kBenchSeed = 42;

// The guest memory every scalar and bulk bench uses: the profiles' main RAM region.
struct BenchMemory {
  GuestMemory memory;
  std::byte* host = nullptr;

  explicit BenchMemory(bool dirty_tracking = false) {
    VMM_CHECK(memory.add_ram(ms::kProfileRamBase, ms::kProfileRamSize).ok(), "bench RAM");
    VMM_CHECK(memory.set_dirty_tracking(ms::kProfileRamBase, dirty_tracking).ok(), "tracking");
    host = memory.host_span(ms::kProfileRamBase, ms::kProfileRamSize).value().data();
    std::memset(host, 0x5a, ms::kProfileRamSize);  // fault every page in before timing
  }
};

// The same with dirty-page tracking on: what tracked writes cost against untracked ones.
BenchMemory& tracked_bench_memory() {
  static BenchMemory instance(/*dirty_tracking=*/true);
  return instance;
}

BenchMemory& bench_memory() {
  static BenchMemory instance;
  return instance;
}

// The addresses of a profile's scalar ops, aligned down to `width` as typed code would.
std::vector<uint64_t> profile_addresses(std::string_view profile_name, unsigned width) {
  const Profile<ms::Op>* profile = vmmem::scenario::find_profile(ms::profiles(), profile_name);
  VMM_CHECK(profile != nullptr, "unknown profile");
  Rng rng(kBenchSeed);
  std::vector<uint64_t> addresses;
  for (const ms::Op& op : profile->generate(rng, kAccessesPerIteration)) {
    uint64_t address;
    if (auto* read = std::get_if<ms::Read>(&op)) {
      address = read->address;
    } else if (auto* write = std::get_if<ms::Write>(&op)) {
      address = write->address;
    } else {
      continue;
    }
    addresses.push_back(address & ~uint64_t{width - 1u});
  }
  return addresses;
}

template <class T>
void register_scalar(std::string_view profile) {
  const std::string bits = std::to_string(8 * sizeof(T));
  const std::string where = "/" + std::string(profile) + "/";
  const std::vector<uint64_t> addresses = profile_addresses(profile, sizeof(T));

  benchmark::RegisterBenchmark(("mem/read_u" + bits + where + "vmmem").c_str(),
                               [addresses](benchmark::State& state) {
                                 const GuestMemory& memory = bench_memory().memory;
                                 for (auto _ : state) {
                                   for (uint64_t a : addresses) {
                                     T value = memory.read<T>(a).value();
                                     benchmark::DoNotOptimize(value);
                                   }
                                 }
                                 state.SetItemsProcessed(state.iterations() * addresses.size());
                               });
  benchmark::RegisterBenchmark(("mem/read_u" + bits + where + "vmmem_accessor").c_str(),
                               [addresses](benchmark::State& state) {
                                 MemoryAccessor accessor(bench_memory().memory);
                                 for (auto _ : state) {
                                   for (uint64_t a : addresses) {
                                     T value = accessor.read<T>(a).value();
                                     benchmark::DoNotOptimize(value);
                                   }
                                 }
                                 state.SetItemsProcessed(state.iterations() * addresses.size());
                               });
  benchmark::RegisterBenchmark(
      ("mem/read_u" + bits + where + "raw").c_str(), [addresses](benchmark::State& state) {
        const std::byte* host = bench_memory().host;
        for (auto _ : state) {
          for (uint64_t a : addresses) {
            T value;
            std::memcpy(&value, host + (a - ms::kProfileRamBase), sizeof value);
            benchmark::DoNotOptimize(value);
          }
        }
        state.SetItemsProcessed(state.iterations() * addresses.size());
      });
  benchmark::RegisterBenchmark(("mem/write_u" + bits + where + "vmmem").c_str(),
                               [addresses](benchmark::State& state) {
                                 GuestMemory& memory = bench_memory().memory;
                                 T value = 0;
                                 for (auto _ : state) {
                                   for (uint64_t a : addresses) {
                                     benchmark::DoNotOptimize(memory.write<T>(a, ++value).ok());
                                   }
                                   benchmark::ClobberMemory();
                                 }
                                 state.SetItemsProcessed(state.iterations() * addresses.size());
                               });
  benchmark::RegisterBenchmark(("mem/write_u" + bits + where + "vmmem_accessor").c_str(),
                               [addresses](benchmark::State& state) {
                                 MemoryAccessor accessor(bench_memory().memory);
                                 T value = 0;
                                 for (auto _ : state) {
                                   for (uint64_t a : addresses) {
                                     benchmark::DoNotOptimize(accessor.write<T>(a, ++value).ok());
                                   }
                                   benchmark::ClobberMemory();
                                 }
                                 state.SetItemsProcessed(state.iterations() * addresses.size());
                               });
  benchmark::RegisterBenchmark(
      ("mem/write_u" + bits + where + "raw").c_str(), [addresses](benchmark::State& state) {
        std::byte* host = bench_memory().host;
        T value = 0;
        for (auto _ : state) {
          for (uint64_t a : addresses) {
            ++value;
            std::memcpy(host + (a - ms::kProfileRamBase), &value, sizeof value);
            benchmark::DoNotOptimize(host);
          }
          benchmark::ClobberMemory();
        }
        state.SetItemsProcessed(state.iterations() * addresses.size());
      });
}

// Reads through a MemorySnapshot's window: one generation check per batch of accesses instead
// of one per access (the pinned window for hot loops), against raw loads.
void register_snapshot_reads(std::string_view profile) {
  const std::vector<uint64_t> addresses = profile_addresses(profile, 8);
  benchmark::RegisterBenchmark(("mem/read_u64/" + std::string(profile) + "/vmmem_snapshot").c_str(),
                               [addresses](benchmark::State& state) {
                                 const GuestMemory& memory = bench_memory().memory;
                                 vmmem::mem::MemorySnapshot snapshot = memory.snapshot();
                                 vmmem::mem::RamWindow window =
                                     snapshot.ram_window(ms::kProfileRamBase).value();
                                 for (auto _ : state) {
                                   if (!snapshot.current(memory)) {  // once per batch
                                     snapshot = memory.snapshot();
                                     window = snapshot.ram_window(ms::kProfileRamBase).value();
                                   }
                                   for (uint64_t a : addresses) {
                                     const uint64_t offset = a - window.base;
                                     uint64_t value;
                                     if (offset <= window.size - 8) {
                                       std::memcpy(&value, window.host + offset, sizeof value);
                                     } else {
                                       value = memory.read<uint64_t>(a).value();
                                     }
                                     benchmark::DoNotOptimize(value);
                                   }
                                 }
                                 state.SetItemsProcessed(state.iterations() * addresses.size());
                               });
}

// Every access in another region than the last: the slow path (the thread's table version and
// a lookup) each time, against raw loads from the two regions.
void register_region_switch_reads() {
  static GuestMemory memory;
  static std::byte* hosts[2];
  static constexpr uint64_t kBases[2] = {0x1000'0000, 0x2000'0000};
  for (int r = 0; r < 2; ++r) {
    VMM_CHECK(memory.add_ram(kBases[r], 0x10000).ok(), "bench RAM");
    hosts[r] = memory.host_span(kBases[r], 0x10000).value().data();
  }
  benchmark::RegisterBenchmark("mem/region_switch_read_u64/vmmem", [](benchmark::State& state) {
    for (auto _ : state) {
      for (uint64_t i = 0; i < kAccessesPerIteration; ++i) {
        uint64_t value = memory.read<uint64_t>(kBases[i & 1] + ((i * 72) & 0xfff8)).value();
        benchmark::DoNotOptimize(value);
      }
    }
    state.SetItemsProcessed(state.iterations() * kAccessesPerIteration);
  });
  benchmark::RegisterBenchmark("mem/region_switch_read_u64/raw", [](benchmark::State& state) {
    for (auto _ : state) {
      for (uint64_t i = 0; i < kAccessesPerIteration; ++i) {
        uint64_t value;
        std::memcpy(&value, hosts[i & 1] + ((i * 72) & 0xfff8), sizeof value);
        benchmark::DoNotOptimize(value);
      }
    }
    state.SetItemsProcessed(state.iterations() * kAccessesPerIteration);
  });
}

void register_bulk(uint32_t bytes) {
  const std::string size = "/" + std::to_string(bytes) + "/";
  // Sixteen 64-byte-aligned spots spread over the region, the same for both impls.
  std::vector<uint64_t> offsets;
  Rng rng(kBenchSeed);
  for (int i = 0; i < 16; ++i)
    offsets.push_back(rng.below(ms::kProfileRamSize - bytes) & ~63ull);

  auto guest_read = [offsets, bytes](benchmark::State& state) {
    const GuestMemory& memory = bench_memory().memory;
    std::vector<std::byte> buffer(bytes);
    size_t i = 0;
    for (auto _ : state) {
      const Status status =
          memory.read(ms::kProfileRamBase + offsets[i++ % offsets.size()], buffer);
      benchmark::DoNotOptimize(status);
      benchmark::DoNotOptimize(buffer.data());
    }
    state.SetBytesProcessed(state.iterations() * bytes);
  };
  auto raw_read = [offsets, bytes](benchmark::State& state) {
    const std::byte* host = bench_memory().host;
    std::vector<std::byte> buffer(bytes);
    size_t i = 0;
    for (auto _ : state) {
      std::memcpy(buffer.data(), host + offsets[i++ % offsets.size()], bytes);
      benchmark::DoNotOptimize(buffer.data());
    }
    state.SetBytesProcessed(state.iterations() * bytes);
  };
  auto guest_write = [offsets, bytes](benchmark::State& state) {
    GuestMemory& memory = bench_memory().memory;
    std::vector<std::byte> buffer(bytes, std::byte{0x11});
    size_t i = 0;
    for (auto _ : state) {
      const Status status = memory.write(ms::kProfileRamBase + offsets[i++ % offsets.size()],
                                         std::span<const std::byte>(buffer));
      benchmark::DoNotOptimize(status);
      benchmark::ClobberMemory();
    }
    state.SetBytesProcessed(state.iterations() * bytes);
  };
  auto raw_write = [offsets, bytes](benchmark::State& state) {
    std::byte* host = bench_memory().host;
    std::vector<std::byte> buffer(bytes, std::byte{0x11});
    size_t i = 0;
    for (auto _ : state) {
      std::memcpy(host + offsets[i++ % offsets.size()], buffer.data(), bytes);
      benchmark::DoNotOptimize(host);
      benchmark::ClobberMemory();
    }
    state.SetBytesProcessed(state.iterations() * bytes);
  };
  benchmark::RegisterBenchmark(("mem/bulk_read" + size + "vmmem").c_str(), guest_read);
  benchmark::RegisterBenchmark(("mem/bulk_read" + size + "memcpy").c_str(), raw_read);
  benchmark::RegisterBenchmark(("mem/bulk_write" + size + "vmmem").c_str(), guest_write);
  benchmark::RegisterBenchmark(("mem/bulk_write" + size + "memcpy").c_str(), raw_write);
}

// Thread scaling: every thread reads 8-byte words at random offsets of its own 1 MiB RAM region
// (distinct regions: the worst case for GuestMemory's one shared last-region cache, which the
// threads keep overwriting) or all of them in the same region (the best case).
constexpr int kMaxThreads = 16;
constexpr uint64_t kThreadRegion = 1u << 20;
constexpr uint64_t kThreadRegionStride = 2 * kThreadRegion;  // gaps keep regions apart

struct ThreadedMemory {
  GuestMemory memory;
  std::vector<std::byte*> hosts;
  std::vector<uint64_t> offsets;  // the same random offsets for every thread and impl

  ThreadedMemory() {
    for (int t = 0; t < kMaxThreads; ++t) {
      const uint64_t base = t * kThreadRegionStride;
      VMM_CHECK(memory.add_ram(base, kThreadRegion).ok(), "threaded bench RAM");
      hosts.push_back(memory.host_span(base, kThreadRegion).value().data());
      std::memset(hosts.back(), t, kThreadRegion);
    }
    Rng rng(kBenchSeed);
    for (size_t i = 0; i < kAccessesPerIteration; ++i) {
      offsets.push_back(rng.below(kThreadRegion - 8) & ~uint64_t{7});
    }
  }
};

ThreadedMemory& threaded_memory() {
  static ThreadedMemory instance;
  return instance;
}

template <class ReadWord>
void threaded_reads(benchmark::State& state, bool same_region, ReadWord read_word) {
  const std::vector<uint64_t>& offsets = threaded_memory().offsets;
  const int region = same_region ? 0 : state.thread_index();
  const uint64_t base = region * kThreadRegionStride;
  for (auto _ : state) {
    for (uint64_t offset : offsets) {
      uint64_t value = read_word(base, region, offset);
      benchmark::DoNotOptimize(value);
    }
  }
  state.SetItemsProcessed(state.iterations() * offsets.size());
}

void register_threaded(bool same_region) {
  const std::string name =
      std::string("mem/parallel_read_u64/") + (same_region ? "same_region" : "own_region") + "/";
  auto add = [](const std::string& full_name, auto body) {
    benchmark::RegisterBenchmark(full_name.c_str(), body)
        ->ThreadRange(1, kMaxThreads)
        ->UseRealTime();
  };
  add(name + "vmmem", [same_region](benchmark::State& state) {
    const GuestMemory& memory = threaded_memory().memory;
    threaded_reads(state, same_region, [&memory](uint64_t base, int, uint64_t offset) {
      return memory.read<uint64_t>(base + offset).value();
    });
  });
  add(name + "vmmem_accessor", [same_region](benchmark::State& state) {
    MemoryAccessor accessor(threaded_memory().memory);
    threaded_reads(state, same_region, [&accessor](uint64_t base, int, uint64_t offset) {
      return accessor.read<uint64_t>(base + offset).value();
    });
  });
  add(name + "raw", [same_region](benchmark::State& state) {
    const std::vector<std::byte*>& hosts = threaded_memory().hosts;
    threaded_reads(state, same_region, [&hosts](uint64_t, int region, uint64_t offset) {
      uint64_t value;
      std::memcpy(&value, hosts[region] + offset, sizeof value);
      return value;
    });
  });
}

// Keeps every outcome observable so the compiler cannot drop the work behind it.
struct Sink {
  template <class Op>
  bool after(size_t, const Op&, const ms::Outcome& outcome) {
    benchmark::DoNotOptimize(outcome.code);
    benchmark::DoNotOptimize(outcome.value);
    return true;
  }
};

// Atomic access against std::atomic_ref on the same host bytes: what the checks cost on top of
// the atomic instruction itself.
void register_atomic(std::string_view profile) {
  const std::string where = "/" + std::string(profile) + "/";
  const std::vector<uint64_t> addresses = profile_addresses(profile, 8);
  benchmark::RegisterBenchmark(
      ("mem/load_acquire_u64" + where + "vmmem").c_str(), [addresses](benchmark::State& state) {
        const GuestMemory& memory = bench_memory().memory;
        for (auto _ : state) {
          for (uint64_t a : addresses) {
            uint64_t value = memory.load_atomic<uint64_t>(a, std::memory_order_acquire).value();
            benchmark::DoNotOptimize(value);
          }
        }
        state.SetItemsProcessed(state.iterations() * addresses.size());
      });
  benchmark::RegisterBenchmark(
      ("mem/load_acquire_u64" + where + "raw").c_str(), [addresses](benchmark::State& state) {
        std::byte* host = bench_memory().host;
        for (auto _ : state) {
          for (uint64_t a : addresses) {
            uint64_t value = std::atomic_ref<uint64_t>(
                                 *reinterpret_cast<uint64_t*>(host + (a - ms::kProfileRamBase)))
                                 .load(std::memory_order_acquire);
            benchmark::DoNotOptimize(value);
          }
        }
        state.SetItemsProcessed(state.iterations() * addresses.size());
      });
  benchmark::RegisterBenchmark(
      ("mem/fetch_add_u64" + where + "vmmem").c_str(), [addresses](benchmark::State& state) {
        GuestMemory& memory = bench_memory().memory;
        for (auto _ : state) {
          for (uint64_t a : addresses) {
            uint64_t value = memory.fetch_add<uint64_t>(a, 1, std::memory_order_seq_cst).value();
            benchmark::DoNotOptimize(value);
          }
        }
        state.SetItemsProcessed(state.iterations() * addresses.size());
      });
  benchmark::RegisterBenchmark(
      ("mem/fetch_add_u64" + where + "raw").c_str(), [addresses](benchmark::State& state) {
        std::byte* host = bench_memory().host;
        for (auto _ : state) {
          for (uint64_t a : addresses) {
            uint64_t value = std::atomic_ref<uint64_t>(
                                 *reinterpret_cast<uint64_t*>(host + (a - ms::kProfileRamBase)))
                                 .fetch_add(1, std::memory_order_seq_cst);
            benchmark::DoNotOptimize(value);
          }
        }
        state.SetItemsProcessed(state.iterations() * addresses.size());
      });
}

// Writes to a dirty-tracked region, named like the untracked ones so the report puts them side
// by side: mem/write_u64/<profile>/vmmem_tracked against .../vmmem, and the 64 KiB bulk write.
void register_tracked_writes(std::string_view profile) {
  const std::vector<uint64_t> addresses = profile_addresses(profile, 8);
  benchmark::RegisterBenchmark(
      ("mem/write_u64/" + std::string(profile) + "/vmmem_tracked").c_str(),
      [addresses](benchmark::State& state) {
        GuestMemory& memory = tracked_bench_memory().memory;
        uint64_t value = 0;
        for (auto _ : state) {
          for (uint64_t a : addresses)
            benchmark::DoNotOptimize(memory.write<uint64_t>(a, ++value).ok());
          benchmark::ClobberMemory();
          // A migration thread would take the bitmap now and then; once per pass here.
          benchmark::DoNotOptimize(memory.take_dirty(ms::kProfileRamBase).value().data());
        }
        state.SetItemsProcessed(state.iterations() * addresses.size());
      });
}

void register_profile(const Profile<ms::Op>& profile) {
  constexpr size_t kOps = 10000;
  Rng rng(kBenchSeed);
  std::vector<ms::Op> ops = profile.generate(rng, kOps);
  benchmark::RegisterBenchmark(
      ("mem/profile/" + std::string(profile.name) + "/vmmem").c_str(),
      [ops = std::move(ops)](benchmark::State& state) {
        for (auto _ : state) {
          state.PauseTiming();
          {
            GuestMemory memory;  // each iteration starts from an empty address space
            ms::Executor executor(memory, /*record_device_calls=*/false);
            Sink sink;
            state.ResumeTiming();
            vmmem::scenario::run(std::span<const ms::Op>(ops), executor, sink);
            state.PauseTiming();
          }
          state.ResumeTiming();
        }
        state.SetItemsProcessed(state.iterations() * ops.size());
      });
}

[[maybe_unused]] const bool registered = [] {
  for (std::string_view profile : {"scalar_sequential", "strided_access", "random_mixed"}) {
    register_scalar<uint8_t>(profile);
    register_scalar<uint16_t>(profile);
    register_scalar<uint32_t>(profile);
    register_scalar<uint64_t>(profile);
  }
  for (std::string_view profile : {"scalar_sequential", "strided_access", "random_mixed"})
    register_snapshot_reads(profile);
  register_region_switch_reads();
  for (uint32_t bytes : {256u, 4096u, 65536u, 1u << 20})
    register_bulk(bytes);
  for (std::string_view profile : {"scalar_sequential", "random_mixed"}) {
    register_atomic(profile);
    register_tracked_writes(profile);
  }
  for (const Profile<ms::Op>& profile : ms::profiles())
    register_profile(profile);
  register_threaded(/*same_region=*/false);
  register_threaded(/*same_region=*/true);

  using vmmem::bench::set_ratio_target;
  for (std::string_view profile : {"scalar_sequential", "strided_access", "random_mixed"}) {
    set_ratio_target("mem/read_u64/" + std::string(profile), "vmmem", "raw", 2.0);
    set_ratio_target("mem/read_u64/" + std::string(profile), "vmmem_accessor", "raw", 2.0);
  }
  set_ratio_target("mem/bulk_read/65536", "vmmem", "memcpy", 1.25);
  set_ratio_target("mem/bulk_write/65536", "vmmem", "memcpy", 1.25);
  return true;
}();

}  // namespace
