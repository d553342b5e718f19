// What the C and C++ entry points of libvmmem_malloc.so share: the exported-symbol marker and
// the allocation paths with C's error convention. The library is built with hidden visibility,
// so only the names marked VMMEM_EXPORT replace the C library's.
#pragma once

#include <cstddef>

#define VMMEM_EXPORT __attribute__((visibility("default")))

namespace vmmem::shim {

// A block of `size` bytes, or null with errno = ENOMEM.
void* allocate_or_enomem(size_t size);
// The same at `alignment` (a power of two); alignments above the allocator's largest fail.
void* allocate_aligned_or_enomem(size_t size, size_t alignment);
// free(): null does nothing; a pointer this allocator never returned is ignored (reported in
// hardened mode).
void free_block(void* p);
// A sized free (C++ sized delete): in hardened mode the size is checked against the block.
void free_sized_block(void* p, size_t size);

}  // namespace vmmem::shim
