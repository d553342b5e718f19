// ShimOptions: what the VMMEM_MALLOC environment variable asks of libvmmem_malloc.so.
//
// The variable is a comma-separated list of words (README, "The malloc drop-in"):
//   hardened            hardened allocator (double frees, bad sized frees) and a report on
//                       stderr for every free of a pointer this allocator never returned
//   stats               allocator statistics on stderr when the process exits
//   purge=eager|delayed|never
//                       when free memory goes back to the OS (default delayed)
//   purge_delay=N       milliseconds a free span waits under purge=delayed at first (default
//                       10; heaps lengthen it while purged memory is taken back soon)
// An empty or unset variable is all defaults. Parsing allocates nothing: it runs inside the
// first malloc of the process.
#pragma once

#include <cstddef>
#include <cstdint>

#include "alloc/allocator.h"

namespace vmmem::shim {

inline constexpr const char* kOptionsVariable = "VMMEM_MALLOC";

struct ShimOptions {
  bool hardened = false;
  bool stats = false;
  alloc::PurgePolicy purge = alloc::PurgePolicy::kDelayed;
  uint32_t purge_delay = 10;  // milliseconds of the shim's purge clock
};

// Parses `text` (null: all defaults) into *options. False on a bad option, with a one-line
// explanation naming it in `error` (always NUL-terminated).
bool parse_shim_options(const char* text, ShimOptions* options, char* error, size_t error_size);

// Milliseconds of a monotonic clock: the shim ages free spans by time, not by call count, so
// a program that frees and allocates in quick bursts reuses its pages without faulting them in
// again, and one that goes quiet gets its memory returned.
uint64_t purge_clock_milliseconds();

// The allocator options for these shim options.
alloc::Options allocator_options(const ShimOptions& options);

}  // namespace vmmem::shim
