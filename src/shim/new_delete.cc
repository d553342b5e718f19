// Every replaceable operator new and delete (plain, array, nothrow, sized, aligned). Throwing
// forms call the installed new_handler until it gives memory or there is none, then throw
// std::bad_alloc; nothrow forms return null where those would throw.
#include <new>

#include "shim/malloc_entry.h"

namespace {

void* new_block(std::size_t size, std::size_t alignment) {
  for (;;) {
    void* block = vmmem::shim::allocate_aligned_or_enomem(size, alignment);
    if (__builtin_expect(block != nullptr, 1)) return block;
    std::new_handler handler = std::get_new_handler();
    if (handler == nullptr) throw std::bad_alloc();
    handler();
  }
}

void* new_block(std::size_t size) {
  void* block = vmmem::shim::allocate_or_enomem(size);
  if (__builtin_expect(block != nullptr, 1)) return block;
  return new_block(size, 1);
}

void* new_block_nothrow(std::size_t size, std::size_t alignment) noexcept {
  try {
    return new_block(size, alignment);
  } catch (...) {
    return nullptr;
  }
}

std::size_t alignment_of(std::align_val_t alignment) {
  return static_cast<std::size_t>(alignment);
}

}  // namespace

VMMEM_EXPORT void* operator new(std::size_t size) {
  return new_block(size);
}
VMMEM_EXPORT void* operator new[](std::size_t size) {
  return new_block(size);
}
VMMEM_EXPORT void* operator new(std::size_t size, const std::nothrow_t&) noexcept {
  return new_block_nothrow(size, 1);
}
VMMEM_EXPORT void* operator new[](std::size_t size, const std::nothrow_t&) noexcept {
  return new_block_nothrow(size, 1);
}
VMMEM_EXPORT void* operator new(std::size_t size, std::align_val_t alignment) {
  return new_block(size, alignment_of(alignment));
}
VMMEM_EXPORT void* operator new[](std::size_t size, std::align_val_t alignment) {
  return new_block(size, alignment_of(alignment));
}
VMMEM_EXPORT void* operator new(std::size_t size, std::align_val_t alignment,
                                const std::nothrow_t&) noexcept {
  return new_block_nothrow(size, alignment_of(alignment));
}
VMMEM_EXPORT void* operator new[](std::size_t size, std::align_val_t alignment,
                                  const std::nothrow_t&) noexcept {
  return new_block_nothrow(size, alignment_of(alignment));
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
