// The C allocation surface over any Allocator, with the C standard's and POSIX's contracts as
// glibc implements them. libvmmem_malloc.so exports these over its process allocator; the shim
// scenario (fuzz target, properties, bench) drives the very same functions over an allocator
// of its own, so what is verified is what a preloaded program runs.
//
//   - out of memory (or a size no allocator can give): null with errno = ENOMEM; the size
//     computations of calloc, reallocarray and pvalloc refuse to overflow the same way;
//   - free(nullptr) does nothing; realloc(nullptr, n) is malloc(n); realloc(p, 0) frees p and
//     returns null; a failed realloc leaves p as it was;
//   - posix_memalign refuses an alignment that is not a power-of-two multiple of
//     sizeof(void*) with EINVAL (errno and *out untouched); aligned_alloc refuses one that is
//     not a power of two (EINVAL); memalign rounds such an alignment up to a power of two and
//     refuses one above SIZE_MAX/2 + 1 (EINVAL);
//   - alignments above the allocator's largest (2 MiB) are out of memory (ENOMEM);
//   - a pointer the allocator never returned is ignored by free (the Allocator reports it
//     through Options::report), and realloc of one fails with ENOMEM, p untouched and the
//     failure passed to `report` — never heap corruption.
// Functions that succeed leave errno as it was.
#pragma once

#include <errno.h>

#include <cstddef>
#include <cstdint>

#include "alloc/allocator.h"
#include "support/status.h"

namespace vmmem::shim::c_api {

inline bool is_power_of_two(size_t n) {
  return n != 0 && (n & (n - 1)) == 0;
}

// malloc() past the allocator's small-block fast path, out of line so that the fast path is a
// leaf.
[[gnu::noinline]] inline void* malloc_slow(alloc::Allocator& allocator, size_t size) {
  void* block =
      size <= alloc::kMaxSmallSize ? allocator.allocate_small_slow(size) : allocator.allocate(size);
  if (block == nullptr) errno = ENOMEM;
  return block;
}

inline void* malloc(alloc::Allocator& allocator, size_t size) {
  if (void* block = allocator.allocate_small_fast(size); __builtin_expect(block != nullptr, 1))
    return block;
  return malloc_slow(allocator, size);
}

// A block of `size` bytes at `alignment` (a power of two), or null with ENOMEM. A plain
// allocation is 16-aligned above 8 bytes and only 8-aligned up to 8 (the 8-byte size class), so
// it serves alignments up to 8 always and 16 for blocks above 8 bytes.
inline void* allocate_aligned(alloc::Allocator& allocator, size_t size, size_t alignment) {
  const bool natural = alignment <= 8 || (alignment <= alignof(std::max_align_t) && size > 8);
  void* block = natural ? allocator.allocate(size) : allocator.allocate(size, alignment);
  if (block == nullptr) errno = ENOMEM;
  return block;
}

inline void free(alloc::Allocator& allocator, void* p) {
  allocator.deallocate(p);
}

inline void* calloc(alloc::Allocator& allocator, size_t count, size_t size) {
  size_t bytes;
  if (__builtin_mul_overflow(count, size, &bytes)) {
    errno = ENOMEM;
    return nullptr;
  }
  void* block = allocator.allocate_zeroed(bytes);
  if (block == nullptr) errno = ENOMEM;
  return block;
}

// `report(const Status&)` receives the reason when p is not one of the allocator's blocks.
template <class Report>
void* realloc(alloc::Allocator& allocator, void* p, size_t size, Report&& report) {
  Result<void*> result = allocator.try_reallocate(p, size);
  if (result.ok()) return result.value();
  const ErrorCode code = result.status().code();
  if (code == ErrorCode::kNotFound || code == ErrorCode::kConflict ||
      code == ErrorCode::kInvalidArgument)
    report(result.status());
  errno = ENOMEM;
  return nullptr;
}

template <class Report>
void* reallocarray(alloc::Allocator& allocator, void* p, size_t count, size_t size,
                   Report&& report) {
  size_t bytes;
  if (__builtin_mul_overflow(count, size, &bytes)) {
    errno = ENOMEM;
    return nullptr;
  }
  return realloc(allocator, p, bytes, report);
}

inline int posix_memalign(alloc::Allocator& allocator, void** out, size_t alignment, size_t size) {
  if (alignment % sizeof(void*) != 0 || !is_power_of_two(alignment)) return EINVAL;
  const int saved = errno;
  void* block = allocate_aligned(allocator, size, alignment);
  errno = saved;
  if (block == nullptr) return ENOMEM;
  *out = block;
  return 0;
}

inline void* aligned_alloc(alloc::Allocator& allocator, size_t alignment, size_t size) {
  if (!is_power_of_two(alignment)) {
    errno = EINVAL;
    return nullptr;
  }
  return allocate_aligned(allocator, size, alignment);
}

inline void* memalign(alloc::Allocator& allocator, size_t alignment, size_t size) {
  if (alignment > (SIZE_MAX >> 1) + 1) {
    errno = EINVAL;
    return nullptr;
  }
  if (!is_power_of_two(alignment)) {
    size_t rounded = 1;
    while (rounded < alignment)
      rounded <<= 1;
    alignment = rounded;
  }
  return allocate_aligned(allocator, size, alignment);
}

// `page` is the OS page size (a power of two).
inline void* valloc(alloc::Allocator& allocator, size_t size, size_t page) {
  return allocate_aligned(allocator, size, page);
}

inline void* pvalloc(alloc::Allocator& allocator, size_t size, size_t page) {
  size_t rounded;
  if (__builtin_add_overflow(size, page - 1, &rounded)) {
    errno = ENOMEM;
    return nullptr;
  }
  rounded &= ~(page - 1);
  return allocate_aligned(allocator, rounded == 0 ? page : rounded, page);
}

inline size_t malloc_usable_size(const alloc::Allocator& allocator, void* p) {
  return allocator.usable_size(p);
}

// Gives free memory back to the OS now; 1 as glibc does when it released some.
inline int malloc_trim(alloc::Allocator& allocator) {
  allocator.collect(/*force=*/true);
  return 1;
}

}  // namespace vmmem::shim::c_api
