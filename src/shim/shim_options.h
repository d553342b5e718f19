// ShimOptions: what the VMMEM_MALLOC environment variable asks of libvmmem_malloc.so.
//
// The variable is a comma-separated list of words (README, "The malloc drop-in"):
//   hardened            hardened allocator (double frees, bad sized frees) and a report on
//                       stderr for every free of a pointer this allocator never returned
//   stats               allocator statistics on stderr when the process exits
//   purge=eager|delayed|never
//                       when free memory goes back to the OS (default delayed)
//   purge_delay=N       slow-path calls a free span waits under purge=delayed (default 512)
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
  uint32_t purge_delay = 512;
};

// Parses `text` (null: all defaults) into *options. False on a bad option, with a one-line
// explanation naming it in `error` (always NUL-terminated).
bool parse_shim_options(const char* text, ShimOptions* options, char* error, size_t error_size);

// The allocator options for these shim options.
alloc::Options allocator_options(const ShimOptions& options);

}  // namespace vmmem::shim
