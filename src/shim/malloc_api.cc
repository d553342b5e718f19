// The C allocation surface of libvmmem_malloc.so, with the C standard's and POSIX's contracts
// as glibc implements them:
//   - out of memory (or a size no allocator can give): null with errno = ENOMEM; the size
//     computations of calloc, reallocarray and pvalloc refuse to overflow the same way;
//   - free(nullptr) does nothing; realloc(nullptr, n) is malloc(n); realloc(p, 0) frees p and
//     returns null; a failed realloc leaves p as it was;
//   - posix_memalign refuses an alignment that is not a power-of-two multiple of
//     sizeof(void*) with EINVAL (errno untouched); aligned_alloc refuses one that is not a
//     power of two (EINVAL); memalign rounds such an alignment up to a power of two;
//   - alignments above the allocator's largest (2 MiB) are out of memory (ENOMEM).
// A pointer this allocator never returned is ignored by free (reported in hardened mode), and
// realloc of one fails with ENOMEM (p untouched) — never heap corruption.
#include <errno.h>
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstring>

#include "shim/malloc_entry.h"
#include "shim/process_allocator.h"

namespace vmmem::shim {

void* allocate_or_enomem(size_t size) {
  void* block = process_allocator().allocate(size);
  if (__builtin_expect(block == nullptr, 0)) errno = ENOMEM;
  return block;
}

void* allocate_aligned_or_enomem(size_t size, size_t alignment) {
  void* block = alignment <= alignof(std::max_align_t)
                    ? process_allocator().allocate(size)
                    : process_allocator().allocate(size, alignment);
  if (block == nullptr) errno = ENOMEM;
  return block;
}

void free_block(void* p) {
  process_allocator().deallocate(p);
}

void free_sized_block(void* p, size_t size) {
  if (p == nullptr) return;
  alloc::Allocator& allocator = process_allocator();
  if (!process_options().hardened) {
    allocator.deallocate(p);
    return;
  }
  if (Status status = allocator.deallocate_checked(p, size); !status.ok())
    report_bad_pointer(status);
}

namespace {

size_t os_page_size() {
  static const size_t page = static_cast<size_t>(sysconf(_SC_PAGESIZE));
  return page;
}

bool is_power_of_two(size_t n) {
  return n != 0 && (n & (n - 1)) == 0;
}

void* reallocate_or_enomem(void* p, size_t size) {
  Result<void*> result = process_allocator().try_reallocate(p, size);
  if (result.ok()) return result.value();
  const ErrorCode code = result.status().code();
  if (code == ErrorCode::kNotFound || code == ErrorCode::kConflict ||
      code == ErrorCode::kInvalidArgument)
    report_bad_pointer(result.status());
  errno = ENOMEM;
  return nullptr;
}

}  // namespace
}  // namespace vmmem::shim

using vmmem::shim::allocate_aligned_or_enomem;
using vmmem::shim::allocate_or_enomem;

extern "C" {

VMMEM_EXPORT void* malloc(size_t size) noexcept {
  return allocate_or_enomem(size);
}

VMMEM_EXPORT void free(void* p) noexcept {
  vmmem::shim::free_block(p);
}

VMMEM_EXPORT void* calloc(size_t count, size_t size) noexcept {
  size_t bytes;
  if (__builtin_mul_overflow(count, size, &bytes)) {
    errno = ENOMEM;
    return nullptr;
  }
  void* block = vmmem::shim::process_allocator().allocate_zeroed(bytes);
  if (block == nullptr) errno = ENOMEM;
  return block;
}

VMMEM_EXPORT void* realloc(void* p, size_t size) noexcept {
  return vmmem::shim::reallocate_or_enomem(p, size);
}

VMMEM_EXPORT void* reallocarray(void* p, size_t count, size_t size) noexcept {
  size_t bytes;
  if (__builtin_mul_overflow(count, size, &bytes)) {
    errno = ENOMEM;
    return nullptr;
  }
  return vmmem::shim::reallocate_or_enomem(p, bytes);
}

VMMEM_EXPORT int posix_memalign(void** out, size_t alignment, size_t size) noexcept {
  if (alignment % sizeof(void*) != 0 || !vmmem::shim::is_power_of_two(alignment)) return EINVAL;
  const int saved = errno;
  void* block = allocate_aligned_or_enomem(size, alignment);
  errno = saved;
  if (block == nullptr) return ENOMEM;
  *out = block;
  return 0;
}

VMMEM_EXPORT void* aligned_alloc(size_t alignment, size_t size) noexcept {
  if (!vmmem::shim::is_power_of_two(alignment)) {
    errno = EINVAL;
    return nullptr;
  }
  return allocate_aligned_or_enomem(size, alignment);
}

VMMEM_EXPORT void* memalign(size_t alignment, size_t size) noexcept {
  if (alignment > (SIZE_MAX >> 1) + 1) {
    errno = EINVAL;
    return nullptr;
  }
  if (!vmmem::shim::is_power_of_two(alignment)) {
    size_t rounded = 1;
    while (rounded < alignment)
      rounded <<= 1;
    alignment = rounded;
  }
  return allocate_aligned_or_enomem(size, alignment);
}

VMMEM_EXPORT void* valloc(size_t size) noexcept {
  return allocate_aligned_or_enomem(size, vmmem::shim::os_page_size());
}

VMMEM_EXPORT void* pvalloc(size_t size) noexcept {
  const size_t page = vmmem::shim::os_page_size();
  size_t rounded;
  if (__builtin_add_overflow(size, page - 1, &rounded)) {
    errno = ENOMEM;
    return nullptr;
  }
  rounded &= ~(page - 1);
  return allocate_aligned_or_enomem(rounded == 0 ? page : rounded, page);
}

VMMEM_EXPORT size_t malloc_usable_size(void* p) noexcept {
  return vmmem::shim::process_allocator().usable_size(p);
}

// Gives free memory back to the OS now; 1 as glibc does when it released some.
VMMEM_EXPORT int malloc_trim(size_t /*pad*/) noexcept {
  vmmem::shim::process_allocator().collect(/*force=*/true);
  return 1;
}

}  // extern "C"
