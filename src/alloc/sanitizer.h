// Sanitizer awareness. Under AddressSanitizer the allocator poisons what a client must not
// touch — free blocks, the tail of each block past the requested size, free spans and unused
// page space — so a use-after-free or overflow through vmmem is reported as it is with malloc.
// Its own reads and writes of free-list links go through read_link / write_link, which open
// exactly one word for exactly one access. Without ASan every helper here compiles to nothing.
#pragma once

#include <cstddef>

#if defined(__SANITIZE_ADDRESS__)
#define VMMEM_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define VMMEM_ASAN 1
#endif
#endif

#if defined(__SANITIZE_THREAD__)
#define VMMEM_TSAN 1
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define VMMEM_TSAN 1
#endif
#endif

#ifdef VMMEM_ASAN
#include <sanitizer/asan_interface.h>
#endif

namespace vmmem::alloc {

inline constexpr bool kAsanEnabled =
#ifdef VMMEM_ASAN
    true;
#else
    false;
#endif

inline constexpr bool kTsanEnabled =
#ifdef VMMEM_TSAN
    true;
#else
    false;
#endif

inline void poison(const void* p, size_t size) {
#ifdef VMMEM_ASAN
  ASAN_POISON_MEMORY_REGION(p, size);
#else
  (void)p, (void)size;
#endif
}

inline void unpoison(const void* p, size_t size) {
#ifdef VMMEM_ASAN
  ASAN_UNPOISON_MEMORY_REGION(p, size);
#else
  (void)p, (void)size;
#endif
}

}  // namespace vmmem::alloc
