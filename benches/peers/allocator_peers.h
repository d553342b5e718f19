// The allocators vmmem is measured against, in the same process: glibc's malloc (the process's
// own), and mimalloc, jemalloc and tcmalloc loaded with dlopen(RTLD_LOCAL) and called through
// their own entry points (mi_malloc, mallocx/dallocx-era malloc and free of the jemalloc
// library itself, tc_malloc), so none of them replaces the process's malloc.
//
// jemalloc keeps its thread state in initial-exec TLS, which a library loaded by dlopen may
// only use if the loader reserved static TLS for it; allocator_peers() first re-executes the
// process once (same arguments, from /proc/self/cmdline) with
// GLIBC_TUNABLES=glibc.rtld.optional_static_tls set, so that it can.
#pragma once

#include <cstddef>
#include <string>
#include <vector>

namespace vmmem::bench {

struct AllocatorPeer {
  std::string name;  // glibc, mimalloc, jemalloc, tcmalloc
  void* (*malloc)(size_t);
  void (*free)(void*);
  void* (*calloc)(size_t, size_t);
  void* (*realloc)(void*, size_t);
  void (*release)();  // returns free memory to the OS (malloc_trim and the like), or null
  // posix_memalign and malloc_usable_size under the library's own names, or null.
  int (*posix_memalign)(void**, size_t, size_t) = nullptr;
  size_t (*usable_size)(void*) = nullptr;
};

// The peers that could be loaded, glibc first. Each one that could not is reported on stderr
// once, with the reason.
const std::vector<AllocatorPeer>& allocator_peers();

}  // namespace vmmem::bench
