// Options of a gc::Heap, validated by Heap::create (kInvalidArgument names the first bad one).
#pragma once

#include <cstdint>

namespace vmmem::gc {

// Nanoseconds from an arbitrary origin. Injectable so that the pacer's decisions can be tested
// with made-up pause times.
using ClockFn = uint64_t (*)(void* context);

struct DebugOptions {
  bool verify_before_gc = false;  // run verify() before every collection; VMM_CHECK it passes
  bool verify_after_gc = false;   // ... and after
  // Every n-th allocation first runs a minor collection (and every 8th of those a major one);
  // 0: off. Makes every allocation site a place where objects move.
  uint32_t gc_every_n_allocations = 0;
  // Fill from-space and swept memory with a pattern and, under ASan, poison it, so a raw pointer
  // held across a safepoint faults at its first use. Also makes object_of / checked raw calls
  // refuse pointers into dead memory.
  bool poison = false;
};

struct Options {
  // Nursery (allocation space of the young generation): the initial size; the pacer moves it
  // between min and max. Each survivor space is sized like the nursery's maximum / 2 at most.
  // The default, 16 MiB, lets a structure built over a few megabytes of allocation die young
  // instead of being copied and promoted half-built: on GCBench it took a sixth to a quarter off
  // the time with 4 MiB (gc_bench, gc/gcbench/vmmem).
  uint64_t nursery_bytes = uint64_t{16} << 20;
  uint64_t min_nursery_bytes = uint64_t{256} << 10;
  uint64_t max_nursery_bytes = uint64_t{64} << 20;
  // Minor collections an object survives in the young generation before promotion: 1..15.
  uint32_t promotion_age = 2;
  // Objects of at least this many bytes (header included) go straight to the large-object space.
  uint64_t large_object_bytes = uint64_t{8} << 10;
  // Most bytes the heap may hold in objects (young + old + large); new_object refuses a single
  // object bigger than this, and reports kOutOfMemory when collections cannot make room.
  uint64_t heap_limit_bytes = uint64_t{1} << 30;
  // Pacer: minor pause target in milliseconds (0: pacer off, nursery stays at nursery_bytes).
  double pause_target_ms = 0;
  // A major collection runs when the old generation (old + large) grows past growth_factor x
  // its size after the previous major collection (at least min_major_trigger_bytes). > 1.
  double growth_factor = 2.0;
  uint64_t min_major_trigger_bytes = uint64_t{16} << 20;
  // Statistics keep the most recent this many collections (the summary covers all).
  uint32_t stats_history = 4096;
  DebugOptions debug;
  ClockFn clock = nullptr;  // null: CLOCK_MONOTONIC
  void* clock_context = nullptr;
};

}  // namespace vmmem::gc
