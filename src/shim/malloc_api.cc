// The C allocation surface of libvmmem_malloc.so: the functions of shim/c_api.h (where the
// contracts are written down) over the process allocator, exported under the C library's names.
#include <errno.h>
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstring>

#include "shim/c_api.h"
#include "shim/malloc_entry.h"
#include "shim/process_allocator.h"

namespace vmmem::shim {

void* allocate_or_enomem(size_t size) {
  return c_api::malloc(process_allocator(), size);
}

void* allocate_aligned_or_enomem(size_t size, size_t alignment) {
  return c_api::allocate_aligned(process_allocator(), size, alignment);
}

void free_block(void* p) {
  c_api::free(process_allocator(), p);
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

[[gnu::noinline, gnu::cold]] void* malloc_building_allocator(size_t size) {
  return c_api::malloc(process_allocator(), size);
}

[[gnu::noinline, gnu::cold]] void free_building_allocator(void* p) {
  c_api::free(process_allocator(), p);
}

size_t os_page_size() {
  return static_cast<size_t>(sysconf(_SC_PAGESIZE));
}

}  // namespace
}  // namespace vmmem::shim

using vmmem::shim::free_building_allocator;
using vmmem::shim::malloc_building_allocator;
using vmmem::shim::process_allocator;
using vmmem::shim::report_bad_pointer;
namespace c_api = vmmem::shim::c_api;

extern "C" {

// malloc and free, the hot pair, keep the building of the allocator out of line: a call in
// their fast path would make it save registers around it.
VMMEM_EXPORT void* malloc(size_t size) noexcept {
  vmmem::alloc::Allocator* allocator = vmmem::shim::process_allocator_if_built();
  if (__builtin_expect(allocator == nullptr, 0)) return malloc_building_allocator(size);
  return c_api::malloc(*allocator, size);
}

VMMEM_EXPORT void free(void* p) noexcept {
  vmmem::alloc::Allocator* allocator = vmmem::shim::process_allocator_if_built();
  if (__builtin_expect(allocator == nullptr, 0)) return free_building_allocator(p);
  c_api::free(*allocator, p);
}

VMMEM_EXPORT void* calloc(size_t count, size_t size) noexcept {
  return c_api::calloc(process_allocator(), count, size);
}

VMMEM_EXPORT void* realloc(void* p, size_t size) noexcept {
  return c_api::realloc(process_allocator(), p, size, report_bad_pointer);
}

VMMEM_EXPORT void* reallocarray(void* p, size_t count, size_t size) noexcept {
  return c_api::reallocarray(process_allocator(), p, count, size, report_bad_pointer);
}

VMMEM_EXPORT int posix_memalign(void** out, size_t alignment, size_t size) noexcept {
  return c_api::posix_memalign(process_allocator(), out, alignment, size);
}

VMMEM_EXPORT void* aligned_alloc(size_t alignment, size_t size) noexcept {
  return c_api::aligned_alloc(process_allocator(), alignment, size);
}

VMMEM_EXPORT void* memalign(size_t alignment, size_t size) noexcept {
  return c_api::memalign(process_allocator(), alignment, size);
}

VMMEM_EXPORT void* valloc(size_t size) noexcept {
  return c_api::valloc(process_allocator(), size, vmmem::shim::os_page_size());
}

VMMEM_EXPORT void* pvalloc(size_t size) noexcept {
  return c_api::pvalloc(process_allocator(), size, vmmem::shim::os_page_size());
}

VMMEM_EXPORT size_t malloc_usable_size(void* p) noexcept {
  return c_api::malloc_usable_size(process_allocator(), p);
}

VMMEM_EXPORT int malloc_trim(size_t /*pad*/) noexcept {
  return c_api::malloc_trim(process_allocator());
}

}  // extern "C"
