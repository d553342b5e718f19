// The one Allocator behind malloc and operator new in a process that preloads
// libvmmem_malloc.so.
//
// It lives in static storage and is built by the first allocation of the process, whenever
// that comes: before main(), inside the dynamic loader or dlsym, before any constructor of
// this library has run. Building it needs no allocation, no TLS beyond the initial-exec block
// (ready before the first user code of a thread), and reads VMMEM_MALLOC without relying on
// libc's environ being set yet. It is never destroyed: frees may arrive until the last exit
// handler.
//
// Thread safety: every function may be called from any thread at any time. The first calls
// from several threads at once build it once (a spin lock; the losers wait).
#pragma once

#include "alloc/allocator.h"
#include "shim/shim_options.h"

namespace vmmem::shim {

namespace detail {
extern constinit alloc::Allocator* process_allocator;
alloc::Allocator* start_process_allocator();
}  // namespace detail

// The process allocator, or null before the first allocation has built it; for entry points
// that keep the building out of their fast path.
inline alloc::Allocator* process_allocator_if_built() {
  return __atomic_load_n(&detail::process_allocator, __ATOMIC_ACQUIRE);
}

inline alloc::Allocator& process_allocator() {
  alloc::Allocator* allocator = __atomic_load_n(&detail::process_allocator, __ATOMIC_ACQUIRE);
  if (__builtin_expect(allocator == nullptr, 0)) allocator = detail::start_process_allocator();
  return *allocator;
}

// The options the process allocator was built with (builds it if needed).
const ShimOptions& process_options();

// Reports a bad free or reallocation in hardened mode (one line on stderr, no allocation);
// nothing otherwise.
void report_bad_pointer(const Status& status);

}  // namespace vmmem::shim
