// Two statically linked copies of the guest memory library in one process, each loaded with
// dlopen(RTLD_LOCAL), as two plugins of one host program would be. Each copy's GuestMemory
// must see only its own bytes: the per-thread cached window and the generations that validate
// it have to be shared by both copies or private to each, never one of each (one VM read the
// other's bytes when the window was process-wide and the counter per copy).
#include <dlfcn.h>
#include <gtest/gtest.h>

#include <cstdint>

namespace {

struct LibraryCopy {
  explicit LibraryCopy(const char* path) : handle(dlopen(path, RTLD_NOW | RTLD_LOCAL)) {
    if (handle == nullptr) return;
    create = reinterpret_cast<void* (*)()>(dlsym(handle, "library_copy_create"));
    write = reinterpret_cast<void (*)(void*, uint64_t)>(dlsym(handle, "library_copy_write"));
    read = reinterpret_cast<uint64_t (*)(void*)>(dlsym(handle, "library_copy_read"));
    destroy = reinterpret_cast<void (*)(void*)>(dlsym(handle, "library_copy_destroy"));
  }
  bool loaded() const { return handle && create && write && read && destroy; }

  void* handle;
  void* (*create)() = nullptr;
  void (*write)(void*, uint64_t) = nullptr;
  uint64_t (*read)(void*) = nullptr;
  void (*destroy)(void*) = nullptr;
};

TEST(TwoLibraryCopies, EachGuestMemorySeesOnlyItsOwnBytes) {
  LibraryCopy a(VMMEM_LIBRARY_COPY_A);
  LibraryCopy b(VMMEM_LIBRARY_COPY_B);
  ASSERT_TRUE(a.loaded()) << dlerror();
  ASSERT_TRUE(b.loaded()) << dlerror();
  void* memory_a = a.create();
  void* memory_b = b.create();
  for (uint64_t round = 1; round <= 4; ++round) {
    a.write(memory_a, 0xaaaa0000 + round);
    b.write(memory_b, 0xbbbb0000 + round);
    EXPECT_EQ(a.read(memory_a), 0xaaaa0000 + round);
    EXPECT_EQ(b.read(memory_b), 0xbbbb0000 + round);
  }
  a.destroy(memory_a);
  b.destroy(memory_b);
}

}  // namespace
