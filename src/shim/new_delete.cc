// Every replaceable operator new and delete (plain, array, nothrow, sized, aligned).
//
// The library links no C++ runtime, so that a C program that preloads it loads no libstdc++
// (about 1.4 MiB resident and half a millisecond of start-up). Only a C++ program calls these
// operators, and its runtime (libstdc++ or libc++) is loaded after this library. When the
// allocator has no block, the request goes to that runtime's own operator new of the same form
// (found with dlsym(RTLD_NEXT)): it asks malloc or aligned_alloc -- this library again -- calls
// the installed new_handler between tries, throws std::bad_alloc once there is none, and its
// nothrow forms return null instead, as the standard says. So new_handler and bad_alloc are
// the program's own, and only the failure path leaves the allocator.
#include <dlfcn.h>
#include <unistd.h>

#include <cstdlib>
#include <new>
#include <type_traits>

#include "shim/malloc_entry.h"

namespace {

// The mangled names below spell std::size_t as unsigned long ("m").
static_assert(std::is_same_v<std::size_t, unsigned long>);

// The next definition of the operator with the mangled `name` (the C++ runtime's).
template <class Operator>
Operator runtime_operator(const char* name) {
  void* symbol = dlsym(RTLD_NEXT, name);
  if (symbol == nullptr) {
    // Not reachable from a C++ program linked against a shared C++ runtime; say why, rather
    // than crash, if the process has none.
    static const char kMessage[] =
        "vmmem malloc: operator new is out of memory and no C++ runtime is loaded to run the "
        "new_handler or throw std::bad_alloc\n";
    (void)!write(STDERR_FILENO, kMessage, sizeof kMessage - 1);
    std::abort();
  }
  return reinterpret_cast<Operator>(symbol);
}

void* new_block(std::size_t size) {
  if (void* block = vmmem::shim::allocate_or_enomem(size); __builtin_expect(block != nullptr, 1))
    return block;
  return runtime_operator<void* (*)(std::size_t)>("_Znwm")(size);
}

void* new_block(std::size_t size, std::align_val_t alignment) {
  if (void* block = vmmem::shim::allocate_aligned_or_enomem(size, static_cast<size_t>(alignment));
      __builtin_expect(block != nullptr, 1))
    return block;
  return runtime_operator<void* (*)(std::size_t, std::align_val_t)>("_ZnwmSt11align_val_t")(
      size, alignment);
}

void* new_block_nothrow(std::size_t size, const std::nothrow_t& tag) noexcept {
  if (void* block = vmmem::shim::allocate_or_enomem(size); __builtin_expect(block != nullptr, 1))
    return block;
  return runtime_operator<void* (*)(std::size_t, const std::nothrow_t&) noexcept>(
      "_ZnwmRKSt9nothrow_t")(size, tag);
}

void* new_block_nothrow(std::size_t size, std::align_val_t alignment,
                        const std::nothrow_t& tag) noexcept {
  if (void* block = vmmem::shim::allocate_aligned_or_enomem(size, static_cast<size_t>(alignment));
      __builtin_expect(block != nullptr, 1))
    return block;
  return runtime_operator<void* (*)(std::size_t, std::align_val_t, const std::nothrow_t&) noexcept>(
      "_ZnwmSt11align_val_tRKSt9nothrow_t")(size, alignment, tag);
}

}  // namespace

VMMEM_EXPORT void* operator new(std::size_t size) {
  return new_block(size);
}
VMMEM_EXPORT void* operator new[](std::size_t size) {
  return new_block(size);
}
VMMEM_EXPORT void* operator new(std::size_t size, const std::nothrow_t& tag) noexcept {
  return new_block_nothrow(size, tag);
}
VMMEM_EXPORT void* operator new[](std::size_t size, const std::nothrow_t& tag) noexcept {
  return new_block_nothrow(size, tag);
}
VMMEM_EXPORT void* operator new(std::size_t size, std::align_val_t alignment) {
  return new_block(size, alignment);
}
VMMEM_EXPORT void* operator new[](std::size_t size, std::align_val_t alignment) {
  return new_block(size, alignment);
}
VMMEM_EXPORT void* operator new(std::size_t size, std::align_val_t alignment,
                                const std::nothrow_t& tag) noexcept {
  return new_block_nothrow(size, alignment, tag);
}
VMMEM_EXPORT void* operator new[](std::size_t size, std::align_val_t alignment,
                                  const std::nothrow_t& tag) noexcept {
  return new_block_nothrow(size, alignment, tag);
}

VMMEM_EXPORT void operator delete(void* p) noexcept {
  vmmem::shim::free_block(p);
}
VMMEM_EXPORT void operator delete[](void* p) noexcept {
  vmmem::shim::free_block(p);
}
VMMEM_EXPORT void operator delete(void* p, const std::nothrow_t&) noexcept {
  vmmem::shim::free_block(p);
}
VMMEM_EXPORT void operator delete[](void* p, const std::nothrow_t&) noexcept {
  vmmem::shim::free_block(p);
}
VMMEM_EXPORT void operator delete(void* p, std::size_t size) noexcept {
  vmmem::shim::free_sized_block(p, size);
}
VMMEM_EXPORT void operator delete[](void* p, std::size_t size) noexcept {
  vmmem::shim::free_sized_block(p, size);
}
VMMEM_EXPORT void operator delete(void* p, std::align_val_t) noexcept {
  vmmem::shim::free_block(p);
}
VMMEM_EXPORT void operator delete[](void* p, std::align_val_t) noexcept {
  vmmem::shim::free_block(p);
}
VMMEM_EXPORT void operator delete(void* p, std::align_val_t, const std::nothrow_t&) noexcept {
  vmmem::shim::free_block(p);
}
VMMEM_EXPORT void operator delete[](void* p, std::align_val_t, const std::nothrow_t&) noexcept {
  vmmem::shim::free_block(p);
}
VMMEM_EXPORT void operator delete(void* p, std::size_t size, std::align_val_t) noexcept {
  vmmem::shim::free_sized_block(p, size);
}
VMMEM_EXPORT void operator delete[](void* p, std::size_t size, std::align_val_t) noexcept {
  vmmem::shim::free_sized_block(p, size);
}
